"""``/v1/auth`` and ``/v1/me``: signing in and out, and the signed-in account."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, StrictStr

from shequ.application.identity.accounts import GetAccountHandler
from shequ.application.identity.addresses import (
    AddAddress,
    AddAddressHandler,
    ListMyAddressesHandler,
    RemoveAddressHandler,
)
from shequ.application.identity.privacy import (
    EraseMyAccountHandler,
    ExportMyDataHandler,
    GiveConsentHandler,
)
from shequ.application.identity.sign_in import (
    RefreshTokens,
    RefreshTokensHandler,
    RequestSignInCode,
    RequestSignInCodeHandler,
    SignIn,
    SignInHandler,
    SignOut,
    SignOutEverywhereHandler,
    SignOutHandler,
    SignUp,
    SignUpHandler,
    Tokens,
)
from shequ.domain.errors import Unauthenticated
from shequ.domain.identity import Address
from shequ.domain.ids import CommunityId
from shequ.entrypoints.http.deps import CurrentActor, Input, client_of, resolve
from shequ.entrypoints.schemas import MembershipOut

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["auth"])


class CodeIn(Input):
    phone: StrictStr


class CodeOut(BaseModel):
    expires_at: dt.datetime


class SignInIn(Input):
    """A password or a one-time code."""

    phone: StrictStr
    password: StrictStr | None = None
    code: StrictStr | None = None


class SignUpIn(Input):
    phone: StrictStr
    code: StrictStr
    community_id: StrictStr
    policy_version: StrictStr
    name: StrictStr = ""
    password: StrictStr | None = None


class RefreshIn(Input):
    refresh_token: StrictStr


class TokensOut(BaseModel):
    account_id: str
    token_type: str = "Bearer"  # noqa: S105 - the scheme name, not a secret
    access_token: str
    access_expires_at: dt.datetime
    refresh_token: str
    refresh_expires_at: dt.datetime

    @classmethod
    def of(cls, tokens: Tokens) -> TokensOut:
        return cls(
            account_id=tokens.account_id,
            access_token=tokens.access_token,
            access_expires_at=tokens.access_expires_at,
            refresh_token=tokens.refresh_token,
            refresh_expires_at=tokens.refresh_expires_at,
        )


class MeOut(BaseModel):
    """The owner's own view: nothing masked."""

    id: str
    phone: str
    name: str
    memberships: list[MembershipOut]
    created_at: dt.datetime


@router.post("/auth/code", status_code=202)
def request_code(
    body: CodeIn,
    request: Request,
    send: Annotated[RequestSignInCodeHandler, Depends(resolve(RequestSignInCodeHandler))],
) -> CodeOut:
    """Send a one-time code by SMS; the answer is the same whether or not the number has an
    account."""
    return CodeOut(expires_at=send(RequestSignInCode(phone=body.phone, client=client_of(request))))


@router.post("/auth/sign-in")
def sign_in(
    body: SignInIn,
    request: Request,
    sign: Annotated[SignInHandler, Depends(resolve(SignInHandler))],
) -> TokensOut:
    return TokensOut.of(
        sign(
            SignIn(
                phone=body.phone, password=body.password, code=body.code, client=client_of(request)
            )
        )
    )


@router.post("/auth/sign-up", status_code=201)
def sign_up(
    body: SignUpIn,
    request: Request,
    join: Annotated[SignUpHandler, Depends(resolve(SignUpHandler))],
) -> TokensOut:
    """A resident joins a community with a code sent to their number."""
    return TokensOut.of(
        join(
            SignUp(
                phone=body.phone,
                code=body.code,
                community_id=CommunityId(body.community_id),
                policy_version=body.policy_version,
                name=body.name,
                password=body.password,
                client=client_of(request),
            )
        )
    )


@router.post("/auth/refresh")
def refresh(
    body: RefreshIn, renew: Annotated[RefreshTokensHandler, Depends(resolve(RefreshTokensHandler))]
) -> TokensOut:
    """New tokens; the refresh token sent is used up."""
    return TokensOut.of(renew(RefreshTokens(body.refresh_token)))


@router.post("/auth/sign-out", status_code=204)
def sign_out(
    body: RefreshIn, end: Annotated[SignOutHandler, Depends(resolve(SignOutHandler))]
) -> Response:
    end(SignOut(body.refresh_token))
    return Response(status_code=204)


@router.post("/auth/sign-out-everywhere", status_code=204)
def sign_out_everywhere(
    actor: CurrentActor,
    end: Annotated[SignOutEverywhereHandler, Depends(resolve(SignOutEverywhereHandler))],
) -> Response:
    if actor.account_id is None:
        raise Unauthenticated("sign in first")
    end(actor.account_id, actor=actor)
    return Response(status_code=204)


@router.get("/me")
def me(
    actor: CurrentActor, get: Annotated[GetAccountHandler, Depends(resolve(GetAccountHandler))]
) -> MeOut:
    account = get(actor.account_id, actor=actor)
    return MeOut(
        id=account.id,
        phone=account.phone,
        name=account.name,
        memberships=[MembershipOut.of(m) for m in account.memberships],
        created_at=account.created_at,
    )


class ConsentIn(Input):
    policy_version: StrictStr


@router.post("/me/consents", status_code=201)
def give_consent(
    body: ConsentIn,
    actor: CurrentActor,
    give: Annotated[GiveConsentHandler, Depends(resolve(GiveConsentHandler))],
) -> dict[str, str | None]:
    """Agree to a version of the privacy policy."""
    return {"policy_version": give(body.policy_version, actor=actor).consented_to}


@router.get("/me/export")
def export_my_data(
    actor: CurrentActor,
    export: Annotated[ExportMyDataHandler, Depends(resolve(ExportMyDataHandler))],
) -> dict[str, Any]:
    """Everything held about the signed-in account."""
    return export(actor=actor)


@router.delete("/me", status_code=204)
def erase_my_account(
    actor: CurrentActor,
    erase: Annotated[EraseMyAccountHandler, Depends(resolve(EraseMyAccountHandler))],
) -> Response:
    """Erase the signed-in account's personal data and end every session. Final."""
    erase(actor=actor)
    return Response(status_code=204)


class AddressIn(Input):
    recipient: StrictStr
    phone: StrictStr
    detail: StrictStr
    label: StrictStr = ""
    community_id: StrictStr | None = None


class AddressOut(BaseModel):
    """The owner's own view of an address: nothing masked."""

    id: str
    label: str
    recipient: str
    phone: str
    detail: str
    community_id: str | None
    created_at: dt.datetime

    @classmethod
    def of(cls, a: Address) -> AddressOut:
        return cls(
            id=a.id,
            label=a.label,
            recipient=a.recipient,
            phone=a.phone,
            detail=a.detail,
            community_id=a.community_id,
            created_at=a.created_at,
        )


@router.get("/me/addresses")
def my_addresses(
    actor: CurrentActor,
    list_mine: Annotated[ListMyAddressesHandler, Depends(resolve(ListMyAddressesHandler))],
) -> list[AddressOut]:
    return [AddressOut.of(a) for a in list_mine(actor=actor)]


@router.post("/me/addresses", status_code=201)
def add_address(
    body: AddressIn,
    actor: CurrentActor,
    add: Annotated[AddAddressHandler, Depends(resolve(AddAddressHandler))],
) -> AddressOut:
    return AddressOut.of(
        add(
            AddAddress(
                recipient=body.recipient,
                phone=body.phone,
                detail=body.detail,
                label=body.label,
                community_id=CommunityId(body.community_id) if body.community_id else None,
            ),
            actor=actor,
        )
    )


@router.delete("/me/addresses/{address_id}", status_code=204)
def remove_address(
    address_id: str,
    actor: CurrentActor,
    remove: Annotated[RemoveAddressHandler, Depends(resolve(RemoveAddressHandler))],
) -> Response:
    remove(address_id, actor=actor)
    return Response(status_code=204)
