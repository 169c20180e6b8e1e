from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shequ.adapters.security import Argon2PasswordHasher, FieldCipher, Keyring
from shequ.application.identity.accounts import check_password
from shequ.domain.errors import Conflict, InvalidInput, PersonalDataUnreadable
from shequ.domain.identity import (
    Account,
    AccountCreated,
    Membership,
    Role,
    RoleGranted,
    RoleRevoked,
    mask_name,
    mask_phone,
    normalise_phone,
)
from shequ.domain.ids import AccountId, CommunityId

NOW = dt.datetime(2026, 11, 25, tzinfo=dt.UTC)
HOME = CommunityId("c1")


@pytest.mark.parametrize(
    "text", ["13812345678", "+86 138-1234-5678", "0086 13812345678", "86 (138) 1234 5678"]
)
def test_mainland_mobile_numbers_are_normalised(text: str) -> None:
    assert normalise_phone(text) == "13812345678"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "12812345678",
        "1381234567",
        "138123456789",
        "abc",
        "+1 13812345678",
        "１３８１２３４５６７８",
    ],
)
def test_anything_else_is_not_a_phone_number(text: str) -> None:
    with pytest.raises(InvalidInput):
        normalise_phone(text)


def test_masking_shows_only_what_a_stranger_may_see() -> None:
    assert mask_phone("13812345678") == "138****5678"
    assert (mask_name("张伟"), mask_name("")) == ("张*", "")


def test_memberships_are_scoped_as_their_role_demands() -> None:
    Membership(Role.RESIDENT, HOME)
    Membership(Role.ADMIN)
    Membership(Role.MERCHANT, HOME, scope_id="seller-1")
    for bad in [
        lambda: Membership(Role.RESIDENT),
        lambda: Membership(Role.ADMIN, HOME),
        lambda: Membership(Role.MERCHANT, HOME),
    ]:
        with pytest.raises(InvalidInput):
            bad()


def test_an_account_records_its_roles_and_their_changes() -> None:
    resident = Membership(Role.RESIDENT, HOME)
    account = Account.open(
        id=AccountId("a1"),
        phone="+86 13812345678",
        name=" 张伟 ",
        now=NOW,
        memberships=(resident, resident),
    )
    assert (account.phone, account.name, account.memberships) == ("13812345678", "张伟", [resident])
    assert [type(e) for e in account.events] == [AccountCreated, RoleGranted]
    leader = Membership(Role.LEADER, HOME, scope_id="point-1")
    account.grant(leader, now=NOW)
    account.grant(leader, now=NOW)
    account.revoke(resident, now=NOW)
    assert account.memberships == [leader] and account.roles_in(HOME) == {Role.LEADER}
    assert [type(e) for e in account.events][2:] == [RoleGranted, RoleRevoked]
    with pytest.raises(Conflict):
        account.revoke(resident, now=NOW)


def test_events_carry_no_personal_data() -> None:
    from shequ.domain.events import event_payload

    account = Account.open(
        id=AccountId("a1"),
        phone="13812345678",
        name="张伟",
        now=NOW,
        memberships=(Membership(Role.RESIDENT, HOME),),
    )
    text = repr([event_payload(e) for e in account.events])
    assert "13812345678" not in text and "张伟" not in text


@pytest.mark.parametrize("password", ["short", "12345678901", " padded password", "x" * 129])
def test_weak_or_odd_passwords_are_refused(password: str) -> None:
    with pytest.raises(InvalidInput):
        check_password(password)


def test_passwords_hash_with_argon2id_and_verify() -> None:
    hasher = Argon2PasswordHasher("cheap")
    hashed = hasher.hash("correct horse")
    assert hashed.startswith("$argon2id$") and "correct horse" not in hashed
    assert hasher.verify(hashed, "correct horse")
    assert not hasher.verify(hashed, "wrong horse")
    assert not hasher.verify("not a hash", "correct horse")
    assert not hasher.needs_rehash(hashed)
    assert Argon2PasswordHasher().needs_rehash(hashed)  # cheap is below production's cost


def test_production_hashing_is_the_default() -> None:
    assert not Argon2PasswordHasher().needs_rehash(Argon2PasswordHasher().hash("long enough pw"))


CIPHER = FieldCipher(Keyring.generate)


@given(text=st.text(max_size=200))
def test_sealed_text_opens_in_its_own_place_only(text: str) -> None:
    here = CIPHER.context("accounts", "phone", "a1")
    sealed = CIPHER.seal(text, here)
    assert CIPHER.open(sealed, here) == text
    if len(text.encode()) >= 8:  # shorter strings may turn up in random bytes by chance
        assert text.encode() not in sealed
    for elsewhere in (
        CIPHER.context("accounts", "phone", "a2"),
        CIPHER.context("accounts", "name", "a1"),
    ):
        with pytest.raises(PersonalDataUnreadable):
            CIPHER.open(sealed, elsewhere)


def test_every_seal_uses_a_fresh_nonce() -> None:
    here = CIPHER.context("accounts", "phone", "a1")
    assert CIPHER.seal("13812345678", here) != CIPHER.seal("13812345678", here)


def test_a_new_key_seals_and_old_keys_still_open() -> None:
    old = Keyring.generate()
    here = FieldCipher.context("accounts", "phone", "a1")
    sealed_before = FieldCipher(lambda: old).seal("13812345678", here)
    rotated = FieldCipher(old.with_new_key)
    assert rotated.keyring.current == "k2"
    assert rotated.open(sealed_before, here) == "13812345678"
    assert rotated.key_id(rotated.seal("13812345678", here)) == "k2"
    with pytest.raises(PersonalDataUnreadable):
        FieldCipher(Keyring.generate).open(sealed_before, here)


def test_tampering_is_detected() -> None:
    here = CIPHER.context("accounts", "phone", "a1")
    sealed = bytearray(CIPHER.seal("13812345678", here))
    sealed[-1] ^= 1
    with pytest.raises(PersonalDataUnreadable):
        CIPHER.open(bytes(sealed), here)


def test_lookups_are_keyed() -> None:
    assert CIPHER.lookup("13812345678") == CIPHER.lookup("13812345678")
    assert FieldCipher(Keyring.generate).lookup("13812345678") != CIPHER.lookup("13812345678")


def test_key_specs_are_checked() -> None:
    from shequ.domain.errors import AdapterError

    for spec in ["", "k1", "k1:short", "bad id!:" + "A" * 43]:
        with pytest.raises(AdapterError):
            Keyring.from_spec(spec, "A" * 43)


def test_a_cheap_hasher_never_weakens_a_production_hash() -> None:
    strong = Argon2PasswordHasher().hash("correct horse")
    assert not Argon2PasswordHasher("cheap").needs_rehash(strong)
