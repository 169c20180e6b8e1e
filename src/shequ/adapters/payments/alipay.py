"""Alipay (支付宝) through python-alipay-sdk: desktop (page), mobile web (wap) and app
payments, signed with the app's RSA2 key; answers and notifications verified with the
Alipay public key.

Page, wap and app payments are signed requests the payer's browser or app takes to
Alipay: creating one makes no call, and Alipay only opens the trade when the payer
arrives. Until then a query answers "no such trade" and closing is a no-op; the
``time_expire`` signed into the request is what keeps an unopened link from being paid
late.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import http.client
import io
import logging
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Mapping
from typing import Any

import attrs
from alipay import AliPay
from alipay.exceptions import AliPayException, AliPayValidationError
from alipay.utils import AliPayConfig
from Cryptodome.Hash import SHA256
from Cryptodome.Signature import PKCS1_v1_5

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
    PaymentNotificationInvalid,
    PaymentRefused,
    PaymentUnavailable,
)
from shequ.domain.ids import PaymentId
from shequ.domain.money import Money
from shequ.domain.payments import Channel, PaymentState, RefundState
from shequ.domain.values import CHINA_STANDARD_TIME

__all__ = ["PRODUCTION_GATEWAY", "AlipayConfig", "AlipayGateway"]

_log = logging.getLogger(__name__)

PRODUCTION_GATEWAY = "https://openapi.alipay.com/gateway.do"

_TIME = "%Y-%m-%d %H:%M:%S"  # Alipay's times, all in China Standard Time

# channel → (method, product code); the SDK's own wap helper sends the product code
# QUICK_WAP_PAY, but Alipay's is QUICK_WAP_WAY.
_PRODUCTS: Mapping[Channel, tuple[str, str]] = {
    Channel.ALIPAY_PAGE: ("alipay.trade.page.pay", "FAST_INSTANT_TRADE_PAY"),
    Channel.ALIPAY_WAP: ("alipay.trade.wap.pay", "QUICK_WAP_WAY"),
    Channel.ALIPAY_APP: ("alipay.trade.app.pay", "QUICK_MSECURITY_PAY"),
}

_TRADE_STATES: Mapping[str, PaymentState] = {
    "WAIT_BUYER_PAY": PaymentState.PENDING,
    "TRADE_SUCCESS": PaymentState.SUCCEEDED,
    "TRADE_FINISHED": PaymentState.SUCCEEDED,  # paid, and past the refund period
    "TRADE_CLOSED": PaymentState.CLOSED,  # closed unpaid, or paid and fully refunded
}

# Answers that mean "try again later" rather than "no".
_TRANSIENT_CODES = frozenset({"20000"})
_TRANSIENT_SUB_CODES = frozenset({"ACQ.SYSTEM_ERROR", "aop.ACQ.SYSTEM_ERROR", "isp.unknow-error"})

_GB_CHARSETS = frozenset({"gbk", "gb2312", "gb18030"})


@attrs.frozen
class AlipayConfig:
    """``private_key`` is the app's RSA private key and ``alipay_public_key`` the key
    Alipay shows for the app, both PEM. ``base_url`` is the full gateway URL."""

    app_id: str
    private_key: str = attrs.field(repr=False)
    alipay_public_key: str
    notify_url: str
    return_url: str | None = None
    base_url: str = PRODUCTION_GATEWAY
    timeout: float = 10.0
    seller_id: str | None = None  # the 2088… account paid, where not the app's own


class AlipayGateway:
    """The :class:`~shequ.application.ports.PaymentGateway` for Alipay."""

    provider = "alipay"
    channels = frozenset(_PRODUCTS)

    def __init__(self, config: AlipayConfig) -> None:
        self._config = config
        self._client = _sdk_client(config)

    @property
    def merchant_id(self) -> str:
        return self._config.app_id

    # ---------------------------------------------------------------- payments

    def create(self, request: PaymentRequest) -> PaymentIntent:
        product = _PRODUCTS.get(request.channel)
        if product is None:
            raise PaymentRefused(f"Alipay takes no {request.channel.value} payments")
        method, product_code = product
        biz: dict[str, str] = {
            "out_trade_no": request.payment_id,
            "total_amount": request.amount.plain(),
            "subject": request.description[:256],
            "product_code": product_code,
            "time_expire": _alipay_time(request.expires_at),
        }
        if self._config.seller_id:
            biz["seller_id"] = self._config.seller_id
        urls = {"notify_url": self._config.notify_url}
        if request.channel is not Channel.ALIPAY_APP and self._config.return_url:
            urls["return_url"] = self._config.return_url
        signed: str = self._client.client_api(method, biz, timestamp=_now_text(), **urls)
        params = (
            {"order_string": signed}
            if request.channel is Channel.ALIPAY_APP
            else {"url": f"{self._config.base_url}?{signed}"}
        )
        return PaymentIntent(
            payment_id=request.payment_id,
            provider=self.provider,
            channel=request.channel,
            amount=request.amount,
            params=params,
        )

    def query(self, payment_id: PaymentId, provider_ref: str | None = None) -> ProviderPayment:
        answer = self._call("alipay.trade.query", _trade(payment_id, provider_ref))
        return _payment_of(answer, payment_id, self._config.app_id)

    def close(self, payment_id: PaymentId, provider_ref: str | None = None) -> None:
        try:
            self._call("alipay.trade.close", _trade(payment_id, provider_ref))
        except PaymentRefused as refusal:
            sub_code = refusal.details.get("sub_code")
            if sub_code == "ACQ.TRADE_NOT_EXIST":
                return  # the payer never opened it: there is nothing to close
            if sub_code != "ACQ.TRADE_STATUS_ERROR":
                raise
            if self.query(payment_id, provider_ref).state is not PaymentState.CLOSED:
                raise PaymentRefused(
                    f"Alipay payment {payment_id} is paid; refund it instead",
                    sub_code=sub_code,
                ) from None

    # ---------------------------------------------------------------- refunds

    def refund(
        self,
        payment_id: PaymentId,
        refund_id: str,
        amount: Money,
        total: Money,  # Alipay knows the total itself
        provider_ref: str | None = None,
    ) -> ProviderRefund:
        biz = _trade(payment_id, provider_ref) | {
            "refund_amount": amount.plain(),
            "out_request_no": refund_id,
        }
        answer = self._call("alipay.trade.refund", biz)
        # fund_change is "Y" when this call moved the money; a repeat answers "N".
        done = _text(answer, "fund_change") == "Y"
        return ProviderRefund(
            refund_id=refund_id,
            payment_id=payment_id,
            state=RefundState.SUCCEEDED if done else RefundState.PENDING,
            amount=amount,  # the answer's refund_fee is the total refunded so far
            merchant_id=self._config.app_id,
            at=_answered_time(answer, "gmt_refund_pay") if done else None,
        )

    def query_refund(
        self,
        payment_id: PaymentId,
        refund_id: str,
        provider_ref: str | None = None,  # Alipay names a refund by ours
    ) -> ProviderRefund:
        biz = {
            "out_trade_no": payment_id,
            "out_request_no": refund_id,
            "query_options": ["gmt_refund_pay"],
        }
        answer = self._call("alipay.trade.fastpay.refund.query", biz)
        amount, status = _text(answer, "refund_amount"), _text(answer, "refund_status")
        if not amount and not status:
            # Alipay answers 10000 with no refund in it for a refund it never received.
            raise PaymentRefused(
                f"Alipay knows no refund {refund_id} of payment {payment_id}",
                sub_code="REFUND_NOT_EXIST",
            )
        succeeded = status == "REFUND_SUCCESS"
        return ProviderRefund(
            refund_id=refund_id,
            payment_id=payment_id,
            state=RefundState.SUCCEEDED if succeeded else RefundState.PENDING,
            amount=_money(amount, "refund_amount", PaymentUnavailable),
            merchant_id=self._config.app_id,
            at=_answered_time(answer, "gmt_refund_pay") if succeeded else None,
        )

    # ---------------------------------------------------------------- notifications

    def parse_notification(self, body: bytes, headers: Mapping[str, str]) -> PaymentNotification:
        """Alipay's notifications are forms signed over every field but ``sign`` and
        ``sign_type``. A refund's notification carries only the total refunded so far
        (``refund_fee``), so the refund's own amount is asked of Alipay; that call may
        raise :class:`PaymentUnavailable`, and Alipay sends the notification again.

        ``sent_at`` stays ``None``: ``notify_time`` is signed, but Alipay does not say
        that a repeated delivery carries a fresh one.
        """
        fields, charset = _form(body, headers)
        self._check_signature(fields, charset)
        if fields.get("out_biz_no") and fields.get("refund_fee"):
            return PaymentNotification(subject=self._refund_notified(fields))
        return PaymentNotification(subject=_notified_payment(fields))

    def _check_signature(self, fields: dict[str, str], charset: str) -> None:
        unsigned = dict(fields)
        signature = unsigned.pop("sign", "")
        sign_type = unsigned.pop("sign_type", "RSA2")
        if not signature or sign_type != "RSA2":
            raise PaymentNotificationInvalid("the Alipay notification is not signed with RSA2")
        try:
            if charset in _GB_CHARSETS:
                good = _verify_encoded(self._client, unsigned, signature, charset)
            else:  # the SDK's verify() changes the dict it is given: hand it a copy
                good = bool(self._client.verify(dict(unsigned), signature))
        except (ValueError, TypeError):
            good = False
        if not good:
            raise PaymentNotificationInvalid("the Alipay notification's signature is wrong")

    def _refund_notified(self, fields: Mapping[str, str]) -> ProviderRefund:
        payment_id = PaymentId(_field(fields, "out_trade_no"))
        refund_id = _field(fields, "out_biz_no")
        merchant_id = _field(fields, "app_id")
        refunded = _notified_money(fields, "refund_fee")
        at = _notified_time(fields, "gmt_refund")
        if merchant_id != self._config.app_id:
            # Another app's refund: it cannot be asked about, and is refused upstream
            # for its merchant; the total refunded is all there is to report.
            return ProviderRefund(
                refund_id=refund_id,
                payment_id=payment_id,
                state=RefundState.SUCCEEDED,
                amount=refunded,
                merchant_id=merchant_id,
                at=at,
            )
        known = self.query_refund(payment_id, refund_id)
        return attrs.evolve(known, merchant_id=merchant_id, at=known.at or at)

    # ---------------------------------------------------------------- bills

    def download_bill(self, day: dt.date) -> list[BillEntry]:
        answer = self._call(
            "alipay.data.dataservice.bill.downloadurl.query",
            {"bill_type": "trade", "bill_date": day.isoformat()},
        )
        url = _text(answer, "bill_download_url")
        if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
            raise PaymentUnavailable(f"Alipay gave no usable bill link for {day}")
        archive = self._download(url)
        try:
            return _bill_entries(archive)
        except (zipfile.BadZipFile, ValueError, KeyError, InvalidAmount):
            raise PaymentUnavailable(f"Alipay's bill for {day} cannot be read") from None

    def _download(self, url: str) -> bytes:
        try:
            # The link comes from Alipay's signed answer; its scheme is checked above.
            with urllib.request.urlopen(url, timeout=self._config.timeout) as reply:  # noqa: S310  # nosec B310
                data: bytes = reply.read()
                return data
        except (OSError, http.client.HTTPException) as e:
            raise _transport_error("the bill download", e) from None

    # ---------------------------------------------------------------- the gateway

    def _call(self, method: str, biz: Mapping[str, object]) -> dict[str, Any]:
        """Call a gateway method; its verified answer when its code is 10000."""
        try:
            answer = self._client.server_api(method, dict(biz), timestamp=_now_text())
        except (OSError, http.client.HTTPException) as e:
            raise _transport_error(method, e) from None
        except AliPayValidationError:
            raise PaymentUnavailable(
                f"Alipay's answer to {method} does not verify with the Alipay public key"
            ) from None
        except AliPayException as e:  # an answer with no signature: a gateway error
            raise _refusal(method, str(getattr(e, "_AliPayException__code", "")), {}) from None
        except (ValueError, AttributeError, TypeError):  # not JSON, or not Alipay's shape
            raise PaymentUnavailable(f"Alipay's answer to {method} cannot be read") from None
        if not isinstance(answer, dict):
            raise PaymentUnavailable(f"Alipay's answer to {method} cannot be read")
        code = str(answer.get("code", ""))
        if code != "10000":
            raise _refusal(method, code, answer)
        return answer


# -------------------------------------------------------------------- the SDK


def _sdk_client(config: AlipayConfig) -> Any:
    try:
        client = AliPay(
            appid=config.app_id,
            app_notify_url=config.notify_url,
            app_private_key_string=config.private_key,
            alipay_public_key_string=config.alipay_public_key,
            sign_type="RSA2",
            config=AliPayConfig(timeout=config.timeout),
        )
    except (ValueError, IndexError, TypeError):
        raise ValueError(
            "the Alipay app private key or Alipay public key is not a PEM key"
        ) from None
    # The SDK keeps its gateway in this private attribute (production unless debug=True);
    # the one place the configured gateway replaces it.
    client._gateway = config.base_url
    return client


def _verify_encoded(client: Any, unsigned: Mapping[str, str], signature: str, charset: str) -> bool:
    """The SDK checks signatures over UTF-8 bytes; a GBK notification is signed over
    GBK bytes, so it is checked here with the SDK's copy of the Alipay public key."""
    message = "&".join(f"{k}={v}" for k, v in sorted(unsigned.items())).encode(charset)
    verifier = PKCS1_v1_5.new(client.alipay_public_key)
    return bool(verifier.verify(SHA256.new(message), codecs.decode(signature.encode(), "base64")))


def _transport_error(what: str, error: BaseException) -> PaymentUnavailable | PaymentRefused:
    if isinstance(error, urllib.error.HTTPError):
        _log.warning("Alipay answered %s with HTTP %s", what, error.code)
        if 400 <= error.code < 500:
            return PaymentRefused(f"Alipay refused {what} with HTTP {error.code}")
        return PaymentUnavailable(f"Alipay answered {what} with HTTP {error.code}")
    _log.warning("Alipay did not answer %s: %s", what, type(error).__name__)
    return PaymentUnavailable(f"Alipay did not answer {what} in time or could not be reached")


def _refusal(
    method: str, code: str, answer: Mapping[str, Any]
) -> PaymentUnavailable | PaymentRefused:
    sub_code = str(answer.get("sub_code") or "")
    reason = str(answer.get("sub_msg") or answer.get("msg") or "")
    message = f"Alipay answered {method} with {sub_code or code}: {reason}".rstrip(": ")
    if code in _TRANSIENT_CODES or sub_code in _TRANSIENT_SUB_CODES:
        _log.warning("Alipay is failing %s: %s %s", method, code, sub_code)
        return PaymentUnavailable(message, code=code, sub_code=sub_code)
    _log.info("Alipay refused %s: %s %s", method, code, sub_code)
    return PaymentRefused(message, code=code, sub_code=sub_code)


# -------------------------------------------------------------------- reading answers


def _trade(payment_id: PaymentId, trade_no: str | None) -> dict[str, object]:
    biz: dict[str, object] = {"out_trade_no": payment_id}
    if trade_no:
        biz["trade_no"] = trade_no  # Alipay prefers it when both are given
    return biz


def _text(answer: Mapping[str, Any], key: str) -> str:
    value = answer.get(key)
    return value if isinstance(value, str) else ""


def _money(text: str, name: str, error: type[Exception]) -> Money:
    try:
        return Money.parse(text)
    except InvalidAmount:
        raise error(f"Alipay's {name} {text!r} is not an amount of yuan") from None


def _now_text() -> str:
    return dt.datetime.now(CHINA_STANDARD_TIME).strftime(_TIME)


def _alipay_time(moment: dt.datetime) -> str:
    return moment.astimezone(CHINA_STANDARD_TIME).strftime(_TIME)


def _cst(text: str) -> dt.datetime | None:
    """``2024-05-20 10:00:05`` or with milliseconds (``gmt_refund``), in CST."""
    if not text:
        return None
    moment = dt.datetime.strptime(text.strip()[:19], _TIME)
    return moment.replace(tzinfo=CHINA_STANDARD_TIME)


def _answered_time(answer: Mapping[str, Any], key: str) -> dt.datetime | None:
    try:
        return _cst(_text(answer, key))
    except ValueError:
        raise PaymentUnavailable(f"Alipay's {key} is no time") from None


def _payment_of(answer: Mapping[str, Any], payment_id: PaymentId, app_id: str) -> ProviderPayment:
    status = _text(answer, "trade_status")
    state = _TRADE_STATES.get(status)
    if state is None:
        raise PaymentUnavailable(f"Alipay reports payment {payment_id} as {status!r}")
    paid = state is PaymentState.SUCCEEDED
    return ProviderPayment(
        payment_id=payment_id,
        state=state,
        amount=_money(_text(answer, "total_amount"), "total_amount", PaymentUnavailable),
        provider_ref=_text(answer, "trade_no") or None,
        merchant_id=app_id,
        at=_answered_time(answer, "send_pay_date") if paid else None,
    )


# -------------------------------------------------------------------- notifications


def _form(body: bytes, headers: Mapping[str, str]) -> tuple[dict[str, str], str]:
    """The notification's fields, read in the charset it names (its signed ``charset``
    field, else the Content-Type's), and that charset's normal name."""
    charset = _declared_charset(body, headers)
    try:
        pairs = urllib.parse.parse_qsl(
            body.decode(charset),
            keep_blank_values=True,
            strict_parsing=True,
            encoding=charset,
            errors="strict",
        )
    except (UnicodeDecodeError, ValueError):
        raise PaymentNotificationInvalid("the Alipay notification is not a readable form") from None
    fields = dict(pairs)
    if len(fields) != len(pairs):
        raise PaymentNotificationInvalid("the Alipay notification repeats a field")
    return fields, charset


def _declared_charset(body: bytes, headers: Mapping[str, str]) -> str:
    named = ""
    for key, value in urllib.parse.parse_qsl(body.decode("latin-1"), keep_blank_values=True):
        if key == "charset":
            named = value
    if not named:
        content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
        for part in content_type.split(";")[1:]:
            key, _, value = part.partition("=")
            if key.strip().lower() == "charset":
                named = value.strip().strip('"')
    try:
        name = codecs.lookup(named or "utf-8").name
    except (LookupError, ValueError):  # ValueError: a name with a NUL in it
        raise PaymentNotificationInvalid(
            "the Alipay notification names an unknown charset"
        ) from None
    if name not in _GB_CHARSETS and name != "utf-8":
        raise PaymentNotificationInvalid(
            f"the Alipay notification's charset {name} is not Alipay's"
        )
    return name


def _field(fields: Mapping[str, str], name: str) -> str:
    value = fields.get(name, "")
    if not value:
        raise PaymentNotificationInvalid(f"the Alipay notification has no {name}")
    return value


def _notified_money(fields: Mapping[str, str], name: str) -> Money:
    return _money(_field(fields, name), name, PaymentNotificationInvalid)


def _notified_time(fields: Mapping[str, str], name: str) -> dt.datetime | None:
    try:
        return _cst(fields.get(name, ""))
    except ValueError:
        raise PaymentNotificationInvalid(f"the Alipay notification's {name} is no time") from None


def _notified_payment(fields: Mapping[str, str]) -> ProviderPayment:
    status = _field(fields, "trade_status")
    state = _TRADE_STATES.get(status)
    if state is None:
        raise PaymentNotificationInvalid(f"the Alipay notification's trade_status {status!r}")
    at_field = {PaymentState.SUCCEEDED: "gmt_payment", PaymentState.CLOSED: "gmt_close"}
    return ProviderPayment(
        payment_id=PaymentId(_field(fields, "out_trade_no")),
        state=state,
        amount=_notified_money(fields, "total_amount"),
        provider_ref=_field(fields, "trade_no"),
        merchant_id=_field(fields, "app_id"),
        at=_notified_time(fields, at_field[state]) if state in at_field else None,
    )


# -------------------------------------------------------------------- bills

_KINDS = {"交易": BillEntryKind.PAYMENT, "退款": BillEntryKind.REFUND}


def _bill_entries(archive: bytes) -> list[BillEntry]:
    """The rows of the business detail (业务明细) file in Alipay's bill archive; the
    archive also holds a summary (汇总) file, told apart by its header."""
    with zipfile.ZipFile(io.BytesIO(archive)) as bill:
        for member in bill.infolist():
            rows = _detail_rows(_bill_text(bill.read(member)))
            if rows is not None:
                return [entry for row in rows if (entry := _bill_entry(row)) is not None]
    raise ValueError("the archive holds no business detail")


def _bill_text(data: bytes) -> str:
    if data.startswith(codecs.BOM_UTF8):
        return data.decode("utf-8-sig")
    return data.decode("gb18030")  # Alipay writes its bills in GBK


def _cell(text: str) -> str:
    # Alipay pads ids with a tab (so spreadsheets keep their digits) and writes
    # full-width parentheses in its headers.
    return text.strip().replace("（", "(").replace("）", ")")


def _detail_rows(text: str) -> list[dict[str, str]] | None:
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    rows = [[_cell(cell) for cell in row] for row in csv.reader(lines)]
    for at, header in enumerate(rows):
        if "支付宝交易号" in header and "商户订单号" in header:
            return [dict(zip(header, row, strict=False)) for row in rows[at + 1 :]]
    return None


def _bill_entry(row: Mapping[str, str]) -> BillEntry | None:
    kind = _KINDS.get(row.get("业务类型", ""))
    if kind is None:
        return None
    amount = Money.parse(row["订单金额(元)"], allow_negative=True)  # refunds are negative
    at = _cst(row.get("完成时间") or row["创建时间"])
    if at is None:
        raise ValueError("a bill row has no time")
    refund_id = row.get("退款批次号/请求号") or None
    return BillEntry(
        kind=kind,
        payment_id=row["商户订单号"],
        provider_ref=row["支付宝交易号"],
        amount=Money(abs(amount.fen)),
        at=at,
        refund_id=refund_id if kind is BillEntryKind.REFUND else None,
    )
