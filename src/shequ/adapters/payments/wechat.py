"""WeChat Pay (微信支付) API v3 through the ``wechatpayv3`` SDK: Native, JSAPI and H5
payments, refunds, notifications and the daily trade bill.

The SDK signs every request with the merchant's private key and verifies answers and
notifications with WeChat Pay's platform public key (公钥模式, ``public_key`` and
``public_key_id``), so it never has to download platform certificates. Notification
resources are AES-256-GCM encrypted with the merchant's APIv3 key; the SDK decrypts them.
Times are China Standard Time, as WeChat Pay writes them.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import hashlib
import io
import json
import re
import secrets
import time
import zlib
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import attrs
import requests
from wechatpayv3 import WeChatPay, WeChatPayType

from shequ.application.ports import (
    BillEntry,
    BillEntryKind,
    PaymentIntent,
    PaymentNotification,
    PaymentRequest,
    ProviderPayment,
    ProviderRefund,
)
from shequ.domain.errors import (
    InvalidAmount,
    InvalidInput,
    PaymentNotificationInvalid,
    PaymentRefused,
    PaymentUnavailable,
)
from shequ.domain.ids import PaymentId
from shequ.domain.money import Money
from shequ.domain.payments import Channel, PaymentState, RefundState
from shequ.domain.values import CHINA_STANDARD_TIME

__all__ = ["WechatPayConfig", "WechatPayGateway"]


def _required(_: object, attribute: attrs.Attribute[str], value: str) -> None:
    # The SDK falls back to downloading platform certificates when the public key is
    # empty; and no message here may echo a key.
    if not value.strip():
        raise ValueError(f"WechatPayConfig.{attribute.name} is required")


def _aes_256_key(_: object, attribute: attrs.Attribute[str], value: str) -> None:
    if len(value.encode()) != 32:
        raise ValueError(f"WechatPayConfig.{attribute.name} must be 32 bytes long")


@attrs.frozen
class WechatPayConfig:
    """A directly connected merchant (直连商户) of WeChat Pay."""

    mchid: str = attrs.field(validator=_required)
    appid: str = attrs.field(validator=_required)
    private_key: str = attrs.field(repr=False, validator=_required)  # merchant key, PEM
    cert_serial_no: str = attrs.field(validator=_required)  # of the merchant certificate
    apiv3_key: str = attrs.field(repr=False, validator=_aes_256_key)
    public_key: str = attrs.field(validator=_required)  # WeChat Pay's platform public key, PEM
    public_key_id: str = attrs.field(validator=_required)  # PUB_KEY_ID_…
    notify_url: str = attrs.field(validator=_required)
    base_url: str = "https://api.mch.weixin.qq.com"
    timeout: float = 10.0  # seconds


_PAY_TYPES = {
    Channel.WECHAT_NATIVE: WeChatPayType.NATIVE,
    Channel.WECHAT_JSAPI: WeChatPayType.JSAPI,
    Channel.WECHAT_H5: WeChatPayType.H5,
}

_TRADE_STATES = {
    "SUCCESS": PaymentState.SUCCEEDED,
    "REFUND": PaymentState.SUCCEEDED,  # paid, then (partly) refunded
    "NOTPAY": PaymentState.PENDING,
    "USERPAYING": PaymentState.PENDING,
    "CLOSED": PaymentState.CLOSED,
    "REVOKED": PaymentState.CLOSED,
    "PAYERROR": PaymentState.FAILED,
}

_REFUND_STATES = {
    "SUCCESS": RefundState.SUCCEEDED,
    "PROCESSING": RefundState.PENDING,
    "CLOSED": RefundState.FAILED,
    "ABNORMAL": RefundState.FAILED,
}

# out_trade_no is 6–32 of these, out_refund_no 1–64 (with "@"); both go into URL paths.
_PAYMENT_ID = re.compile(r"[0-9A-Za-z_\-|*]{1,32}")
_REFUND_ID = re.compile(r"[0-9A-Za-z_\-|*@]{1,64}")

_SIGNATURE_HEADERS = (
    "Wechatpay-Signature",
    "Wechatpay-Timestamp",
    "Wechatpay-Nonce",
    "Wechatpay-Serial",
    "Wechatpay-Signature-Type",
)

_Answer = tuple[int, str | bytes]
_T = TypeVar("_T")
_R = TypeVar("_R")


class _Malformed(ValueError):
    """A field of WeChat Pay's JSON or bill is missing or not what its documentation says."""


class WechatPayGateway:
    """WeChat Pay for one merchant and one app (公众号, mini-program or website)."""

    def __init__(self, config: WechatPayConfig) -> None:
        self._config = config
        self._base_url = config.base_url.rstrip("/")
        self._sdk = _sdk_client(config, self._base_url)

    @property
    def provider(self) -> str:
        return "wechat"

    @property
    def channels(self) -> frozenset[Channel]:
        return frozenset(_PAY_TYPES)

    @property
    def merchant_id(self) -> str | None:
        return self._config.mchid

    def create(self, request: PaymentRequest) -> PaymentIntent:
        payment_id = _checked_payment_id(request.payment_id)
        if request.channel not in _PAY_TYPES:
            raise InvalidInput(f"WeChat Pay does not take {request.channel.value} payments")
        if not request.description.strip():
            raise InvalidInput("a WeChat Pay payment needs a description")
        order = {
            "description": request.description,
            "out_trade_no": payment_id,
            "amount": {"total": request.amount.fen, "currency": "CNY"},
            "time_expire": _wechat_time(request.expires_at),
            "pay_type": _PAY_TYPES[request.channel],
            **_payer_fields(request),
        }
        answer = self._json("create the payment", lambda: self._sdk.pay(**order))
        return PaymentIntent(
            payment_id=request.payment_id,
            provider=self.provider,
            channel=request.channel,
            amount=request.amount,
            params=self._params_for_payer(request.channel, answer),
        )

    def query(self, payment_id: PaymentId, provider_ref: str | None = None) -> ProviderPayment:
        out_trade_no = _checked_payment_id(payment_id)
        answer = self._json("query the payment", lambda: self._sdk.query(out_trade_no=out_trade_no))
        return _readable(_payment_of, answer, PaymentUnavailable)

    def close(self, payment_id: PaymentId, provider_ref: str | None = None) -> None:
        out_trade_no = _checked_payment_id(payment_id)
        self._json("close the payment", lambda: self._sdk.close(out_trade_no=out_trade_no))

    def refund(
        self,
        payment_id: PaymentId,
        refund_id: str,
        amount: Money,
        total: Money,
        provider_ref: str | None = None,
    ) -> ProviderRefund:
        out_trade_no = _checked_payment_id(payment_id)
        out_refund_no = _checked_refund_id(refund_id)
        answer = self._json(
            "refund",
            lambda: self._sdk.refund(
                out_refund_no=out_refund_no,
                out_trade_no=out_trade_no,
                amount={"refund": amount.fen, "total": total.fen, "currency": "CNY"},
            ),
        )
        return _readable(_refund_of, answer, PaymentUnavailable)

    def query_refund(
        self, payment_id: PaymentId, refund_id: str, provider_ref: str | None = None
    ) -> ProviderRefund:
        out_refund_no = _checked_refund_id(refund_id)
        answer = self._json(
            "query the refund", lambda: self._sdk.query_refund(out_refund_no=out_refund_no)
        )
        return _readable(_refund_of, answer, PaymentUnavailable)

    def parse_notification(self, body: bytes, headers: Mapping[str, str]) -> PaymentNotification:
        signed = _signature_headers(headers)
        if not signed["Wechatpay-Signature"]:
            raise PaymentNotificationInvalid("the WeChat Pay notification is not signed")
        if signed["Wechatpay-Serial"] != self._config.public_key_id:
            # Checked here: for a serial that is not its public key's, the SDK would go
            # and download platform certificates, on the word of an unverified request.
            raise PaymentNotificationInvalid(
                "the WeChat Pay notification names a key other than the platform public key"
            )
        try:
            event = self._sdk.callback(signed, body)
        except Exception:  # the SDK raises bare Exceptions; none of them may leak a key
            event = None
        if not isinstance(event, dict):
            raise PaymentNotificationInvalid(
                "the WeChat Pay notification's signature does not verify,"
                " or its resource cannot be decrypted"
            )
        return _readable(_notification_of, (event, signed), PaymentNotificationInvalid)

    def download_bill(self, day: dt.date) -> list[BillEntry]:
        status, message = self._send(
            "ask for the trade bill", lambda: self._sdk.trade_bill(bill_date=day.isoformat())
        )
        if status == 400 and _error_code(message) == "NO_STATEMENT_EXIST":
            return []  # no money moved that day
        answer = _answer_json("ask for the trade bill", status, message)
        url = _answered_text(answer, "download_url")
        if not url.startswith(self._base_url + "/"):
            # The SDK would send a signed request to whatever the URL names.
            raise PaymentUnavailable("WeChat Pay's bill download URL is not on its API host")
        status, content = self._send(
            "download the trade bill", lambda: self._sdk.download_bill(url)
        )
        _raise_for_status("download the trade bill", status, content)
        bill = _unpacked_bill(content)
        if (
            hashlib.sha1(bill, usedforsecurity=False).hexdigest()
            != str(answer.get("hash_value", "")).lower()
        ):
            raise PaymentUnavailable("the trade bill WeChat Pay sent does not match its digest")
        return _readable(_bill_entries, bill, PaymentUnavailable)

    def _params_for_payer(self, channel: Channel, answer: dict[str, Any]) -> dict[str, str]:
        if channel is Channel.WECHAT_NATIVE:
            return {"code_url": _answered_text(answer, "code_url")}
        if channel is Channel.WECHAT_H5:
            return {"h5_url": _answered_text(answer, "h5_url")}
        prepay_id = _answered_text(answer, "prepay_id")
        return {"prepay_id": prepay_id, **self._bridge_params(prepay_id)}

    def _bridge_params(self, prepay_id: str) -> dict[str, str]:
        """What ``WeixinJSBridge``/``wx.requestPayment`` needs, signed with the merchant key."""
        params = {
            "appId": self._config.appid,
            "timeStamp": str(int(time.time())),
            "nonceStr": secrets.token_hex(16),
            "package": f"prepay_id={prepay_id}",
            "signType": "RSA",
        }
        signed = [params["appId"], params["timeStamp"], params["nonceStr"], params["package"]]
        return {**params, "paySign": str(self._sdk.sign(signed))}

    def _send(self, what: str, call: Callable[[], Any]) -> _Answer:
        try:
            status, message = call()
        except requests.Timeout:
            raise PaymentUnavailable(f"WeChat Pay timed out: could not {what}") from None
        except requests.RequestException:
            raise PaymentUnavailable(f"WeChat Pay cannot be reached: could not {what}") from None
        except Exception:  # the SDK's bare Exception for an answer whose signature fails
            raise PaymentUnavailable(
                f"WeChat Pay's answer could not be verified: could not {what}"
            ) from None
        return int(status), message

    def _json(self, what: str, call: Callable[[], Any]) -> dict[str, Any]:
        status, message = self._send(what, call)
        return _answer_json(what, status, message)


def _sdk_client(config: WechatPayConfig, base_url: str) -> Any:
    sdk = WeChatPay(
        wechatpay_type=WeChatPayType.NATIVE,
        mchid=config.mchid,
        private_key=config.private_key,
        cert_serial_no=config.cert_serial_no,
        appid=config.appid,
        apiv3_key=config.apiv3_key,
        notify_url=config.notify_url,
        timeout=config.timeout,
        public_key=config.public_key,
        public_key_id=config.public_key_id,
    )
    # The SDK has no base URL parameter; every request it sends starts with this one.
    sdk._core._gate_way = base_url
    return sdk


def _checked_payment_id(payment_id: str) -> str:
    if not _PAYMENT_ID.fullmatch(payment_id):
        raise InvalidInput("a WeChat Pay payment id is 1–32 letters, digits, _, -, | or *")
    return payment_id


def _checked_refund_id(refund_id: str) -> str:
    if not _REFUND_ID.fullmatch(refund_id):
        raise InvalidInput("a WeChat Pay refund id is 1–64 letters, digits, _, -, |, * or @")
    return refund_id


def _payer_fields(request: PaymentRequest) -> dict[str, Any]:
    if request.channel is Channel.WECHAT_JSAPI:
        if not request.payer_id:
            raise InvalidInput("a WeChat JSAPI payment needs the payer's openid (payer_id)")
        return {"payer": {"openid": request.payer_id}}
    if request.channel is Channel.WECHAT_H5:
        if not request.client_ip:
            raise InvalidInput("a WeChat H5 payment needs the payer's IP address (client_ip)")
        return {"scene_info": {"payer_client_ip": request.client_ip, "h5_info": {"type": "Wap"}}}
    return {}


def _wechat_time(at: dt.datetime) -> str:
    if at.tzinfo is None:
        raise InvalidInput("a payment's expiry must carry a time zone")
    return at.astimezone(CHINA_STANDARD_TIME).isoformat(timespec="seconds")


def _answer_json(what: str, status: int, message: str | bytes) -> dict[str, Any]:
    _raise_for_status(what, status, message)
    if not message:
        return {}  # 204 No Content
    try:
        answer = json.loads(message)
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        raise PaymentUnavailable(f"WeChat Pay's answer cannot be read: could not {what}")
    return answer


def _raise_for_status(what: str, status: int, message: str | bytes) -> None:
    if 200 <= status < 300:
        return
    error = _error_of(message)
    text = f"WeChat Pay answered {status} {error['code']}: {error['message']} (could not {what})"
    if status >= 500 or status == 429:
        raise PaymentUnavailable(text, provider="wechat", provider_code=error["code"])
    raise PaymentRefused(text, provider="wechat", provider_code=error["code"])


def _error_of(message: str | bytes) -> dict[str, str]:
    try:
        error = json.loads(message)
    except ValueError:
        error = None
    if not isinstance(error, dict):
        return {"code": "UNKNOWN", "message": "no readable error"}
    return {
        "code": str(error.get("code", "UNKNOWN")),
        "message": str(error.get("message", ""))[:200],
    }


def _error_code(message: str | bytes) -> str:
    return _error_of(message)["code"]


def _readable(read: Callable[[_T], _R], data: _T, error: type[Exception]) -> _R:
    """``read(data)``, with a missing or malformed field raised as ``error``."""
    try:
        return read(data)
    except (_Malformed, InvalidAmount) as e:
        raise error(f"WeChat Pay sent something that cannot be read: {e}") from None


def _text(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise _Malformed(f"{key} is missing")
    return value


def _answered_text(answer: Mapping[str, Any], key: str) -> str:
    return _readable(lambda a: _text(a, key), answer, PaymentUnavailable)


def _optional_text(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) and value else None


def _fen(data: Mapping[str, Any], key: str) -> Money:
    amount = data.get("amount")
    fen = amount.get(key) if isinstance(amount, dict) else None
    if type(fen) is not int:
        raise _Malformed(f"amount.{key} is not a whole number of fen")
    return Money(fen)


def _time(data: Mapping[str, Any], key: str) -> dt.datetime | None:
    text = _optional_text(data, key)
    if text is None:
        return None
    try:
        at = dt.datetime.fromisoformat(text)
    except ValueError:
        raise _Malformed(f"{key} is not an RFC 3339 time") from None
    return at if at.tzinfo else at.replace(tzinfo=CHINA_STANDARD_TIME)


def _state(states: Mapping[str, _R], data: Mapping[str, Any], key: str) -> _R:
    name = _text(data, key)
    if name not in states:
        raise _Malformed(f"{key} {name[:20]!r} is not a known state")
    return states[name]


def _payment_of(data: Mapping[str, Any]) -> ProviderPayment:
    return ProviderPayment(
        payment_id=PaymentId(_text(data, "out_trade_no")),
        state=_state(_TRADE_STATES, data, "trade_state"),
        amount=_fen(data, "total"),
        provider_ref=_optional_text(data, "transaction_id"),
        merchant_id=_optional_text(data, "mchid"),
        at=_time(data, "success_time"),
    )


def _refund_of(data: Mapping[str, Any]) -> ProviderRefund:
    # A refund notification names its state refund_status; answers name it status.
    state_key = "refund_status" if "refund_status" in data else "status"
    return ProviderRefund(
        refund_id=_text(data, "out_refund_no"),
        payment_id=PaymentId(_text(data, "out_trade_no")),
        state=_state(_REFUND_STATES, data, state_key),
        amount=_fen(data, "refund"),
        provider_ref=_optional_text(data, "refund_id"),
        merchant_id=_optional_text(data, "mchid"),
        at=_time(data, "success_time"),
    )


def _signature_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The signature headers under the exact names the SDK looks up, whatever their case."""
    lower = {name.lower(): value for name, value in headers.items()}
    return {name: lower.get(name.lower(), "") for name in _SIGNATURE_HEADERS}


def _notification_of(
    event_and_headers: tuple[dict[str, Any], dict[str, str]],
) -> PaymentNotification:
    event, signed = event_and_headers
    resource = event.get("resource")
    if not isinstance(resource, dict):
        raise _Malformed("resource is missing")
    event_type = _text(event, "event_type")
    if event_type.startswith("TRANSACTION."):
        subject: ProviderPayment | ProviderRefund = _payment_of(resource)
    elif event_type.startswith("REFUND."):
        subject = _refund_of(resource)
    else:
        raise _Malformed(f"event_type {event_type[:40]!r} is not a payment or refund event")
    return PaymentNotification(subject=subject, sent_at=_signed_at(signed["Wechatpay-Timestamp"]))


def _signed_at(timestamp: str) -> dt.datetime:
    if not timestamp.isdigit():
        raise _Malformed("Wechatpay-Timestamp is not a number of seconds")
    return dt.datetime.fromtimestamp(int(timestamp), dt.UTC)


def _unpacked_bill(content: str | bytes) -> bytes:
    data = content.encode() if isinstance(content, str) else content
    if not data.startswith(b"\x1f\x8b"):
        return data
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error):
        raise PaymentUnavailable("the trade bill WeChat Pay sent cannot be unpacked") from None


# The trade bill (交易账单, type ALL) is CSV: a header row, one row per payment or refund
# with every field prefixed by a backtick, then a summary that starts with 总交易单数.
_BILL_SUMMARY = "总交易单数"
_REFUND_CLOSED = "REFUNDCLOSE"


def _bill_entries(bill: bytes) -> list[BillEntry]:
    try:
        rows = list(csv.reader(io.StringIO(bill.decode("utf-8-sig"))))
    except (UnicodeDecodeError, csv.Error):
        raise _Malformed("the bill is not UTF-8 CSV") from None
    if not rows:
        return []
    header = [name.strip() for name in rows[0]]
    entries = []
    for row in rows[1:]:
        if row and row[0].strip() == _BILL_SUMMARY:
            break
        record = dict(zip(header, (field.strip().removeprefix("`") for field in row), strict=False))
        entry = _bill_entry(record) if record else None
        if entry is not None:
            entries.append(entry)
    return entries


def _bill_entry(record: Mapping[str, str]) -> BillEntry | None:
    trade_state = record.get("交易状态")
    if trade_state == "SUCCESS":
        return BillEntry(
            kind=BillEntryKind.PAYMENT,
            payment_id=_bill_field(record, "商户订单号"),
            provider_ref=_bill_field(record, "微信订单号"),
            amount=_bill_amount(record, "订单金额", "应结订单金额"),
            at=_bill_time(record),
        )
    if trade_state == "REFUND" and record.get("退款状态") != _REFUND_CLOSED:
        return BillEntry(
            kind=BillEntryKind.REFUND,
            payment_id=_bill_field(record, "商户订单号"),
            provider_ref=_bill_field(record, "微信退款单号"),
            amount=_bill_amount(record, "申请退款金额", "退款金额"),
            at=_bill_time(record),
            refund_id=_bill_field(record, "商户退款单号"),
        )
    return None


def _bill_field(record: Mapping[str, str], name: str) -> str:
    value = record.get(name, "")
    if not value:
        raise _Malformed(f"a bill row has no {name}")
    return value


def _bill_amount(record: Mapping[str, str], name: str, fallback: str) -> Money:
    """The amount asked for (``name``); older bills only have the settled one."""
    return Money.parse(record.get(name) or _bill_field(record, fallback))


def _bill_time(record: Mapping[str, str]) -> dt.datetime:
    try:
        at = dt.datetime.strptime(_bill_field(record, "交易时间"), "%Y-%m-%d %H:%M:%S")
    except ValueError:
        raise _Malformed("a bill row's 交易时间 is not a time") from None
    return at.replace(tzinfo=CHINA_STANDARD_TIME)
