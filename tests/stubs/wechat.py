"""A local WeChat Pay API v3 for the calls shequ makes.

It checks each request's ``Authorization`` signature with the merchant's public key,
signs its answers and notifications with the platform private key (public-key mode:
``Wechatpay-Serial`` is the public key id), encrypts notification resources with
AES-256-GCM under the APIv3 key, and serves the day's trade bill as WeChat writes it:
gzip-packed CSV with backtick-prefixed fields and a summary.
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import hashlib
import itertools
import json
import re
import secrets
import string
import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import attrs
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from tests.stubs import Reply, Request, StubServer

__all__ = ["CST", "Notification", "StubPayment", "StubRefund", "WechatPayStub", "sign"]

CST = dt.timezone(dt.timedelta(hours=8), "CST")
SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"

Notification = tuple[bytes, dict[str, str]]

_TRADE_TYPES = {"native": "NATIVE", "jsapi": "JSAPI", "h5": "MWEB"}
_BILL_HEADER = (
    "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,"
    "交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,"
    "充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,"
    "费率备注"
)
_BILL_SUMMARY = (
    "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额"
)
_FEE_RATE = Decimal("0.006")


class _Refused(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@attrs.define
class StubPayment:
    out_trade_no: str
    trade_type: str
    total: int
    description: str
    payer_params: dict[str, str]  # what the payer's app got: code_url, prepay_id or h5_url
    openid: str | None
    created_at: dt.datetime
    trade_state: str = "NOTPAY"
    transaction_id: str | None = None
    success_time: dt.datetime | None = None


@attrs.define
class StubRefund:
    out_refund_no: str
    refund_id: str
    out_trade_no: str
    refund: int
    total: int
    created_at: dt.datetime
    status: str = "PROCESSING"
    success_time: dt.datetime | None = None


def _wechat_time(at: dt.datetime) -> str:
    return at.astimezone(CST).isoformat(timespec="seconds")


def _yuan(fen: int | Decimal) -> str:
    return f"{Decimal(fen) / 100:.2f}"


def _nonce(length: int = 32) -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(length))


def sign(key: RSAPrivateKey, message: str) -> str:
    signature = key.sign(message.encode(), padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(signature).decode()


class WechatPayStub:
    """WeChat Pay for one merchant. Run it with ``stub.server.running()``.

    ``now`` is the stub's clock (China Standard Time by default); tests may replace it.
    """

    def __init__(
        self,
        *,
        mchid: str,
        appid: str,
        apiv3_key: str,
        merchant_public_key: RSAPublicKey,
        merchant_serial_no: str,
        platform_key: RSAPrivateKey,
        public_key_id: str,
    ) -> None:
        self.mchid, self.appid, self.apiv3_key = mchid, appid, apiv3_key
        self.merchant_public_key, self.merchant_serial_no = merchant_public_key, merchant_serial_no
        self.public_key_id = public_key_id
        self._platform_key = platform_key
        self._numbers = itertools.count(1)
        self._lock = threading.RLock()
        self.server = StubServer(self.handle)
        self.reset()

    def reset(self) -> None:
        """Forget every payment, refund and request, so one running stub serves many tests."""
        with self._lock:
            self.platform_key = self._platform_key
            self.now: Callable[[], dt.datetime] = lambda: dt.datetime.now(CST)
            self.payments: dict[str, StubPayment] = {}
            self.refunds: dict[str, StubRefund] = {}
            self._bills: dict[str, tuple[dt.date, bool]] = {}  # token → (day, gzip)
            self.server.requests.clear()

    # -- test controls ------------------------------------------------------------------

    def pay(self, out_trade_no: str) -> Notification:
        """The payer pays: returns the TRANSACTION.SUCCESS notification WeChat Pay sends."""
        with self._lock:
            payment = self.payments[out_trade_no]
            if payment.trade_state not in ("NOTPAY", "USERPAYING"):
                raise ValueError(f"{out_trade_no} is {payment.trade_state}, it cannot be paid")
            payment.trade_state = "SUCCESS"
            payment.transaction_id = f"42000{self.now():%Y%m%d}{next(self._numbers):018d}"
            payment.success_time = self.now()
            resource = self.payment_resource(payment)
        return self.notify("TRANSACTION.SUCCESS", "transaction", resource, "支付成功")

    def fail(self, out_trade_no: str) -> None:
        """The payer's payment fails (a bank refused it); WeChat Pay notifies nothing."""
        with self._lock:
            self.payments[out_trade_no].trade_state = "PAYERROR"

    def refund_notification(self, out_refund_no: str, status: str = "SUCCESS") -> Notification:
        """The refund ends (SUCCESS, CLOSED or ABNORMAL): returns the REFUND.* notification."""
        with self._lock:
            refund = self.refunds[out_refund_no]
            refund.status = status
            if status == "SUCCESS":
                refund.success_time = self.now()
            resource = self.refund_resource(refund)
        return self.notify(f"REFUND.{status}", "refund", resource, "退款状态变更")

    def payment_resource(self, payment: StubPayment) -> dict[str, Any]:
        """The decrypted resource of a payment notification."""
        resource = self._transaction(payment)
        resource.pop("scene_info", None)
        return resource

    def refund_resource(self, refund: StubRefund) -> dict[str, Any]:
        """The decrypted resource of a refund notification."""
        payment = self.payments[refund.out_trade_no]
        resource: dict[str, Any] = {
            "mchid": self.mchid,
            "out_trade_no": refund.out_trade_no,
            "transaction_id": payment.transaction_id,
            "out_refund_no": refund.out_refund_no,
            "refund_id": refund.refund_id,
            "refund_status": refund.status,
            "user_received_account": "支付用户零钱",
            "amount": {
                "total": refund.total,
                "refund": refund.refund,
                "payer_total": refund.total,
                "payer_refund": refund.refund,
            },
        }
        if refund.success_time is not None:
            resource["success_time"] = _wechat_time(refund.success_time)
        return resource

    def notify(
        self,
        event_type: str,
        original_type: str,
        resource: dict[str, Any],
        summary: str,
        *,
        apiv3_key: str | None = None,
        key: RSAPrivateKey | None = None,
        serial: str | None = None,
        at: dt.datetime | None = None,
    ) -> Notification:
        """A notification as WeChat Pay POSTs it; the keyword arguments forge one."""
        body = self.envelope(event_type, original_type, resource, summary, apiv3_key=apiv3_key)
        return body, self.signed_headers(body, key=key, serial=serial, at=at)

    def envelope(
        self,
        event_type: str,
        original_type: str,
        resource: dict[str, Any],
        summary: str,
        *,
        apiv3_key: str | None = None,
    ) -> bytes:
        """A notification's body: the resource encrypted with AES-256-GCM under the APIv3 key."""
        nonce = _nonce(12)
        plaintext = json.dumps(resource, ensure_ascii=False).encode()
        ciphertext = AESGCM((apiv3_key or self.apiv3_key).encode()).encrypt(
            nonce.encode(), plaintext, original_type.encode()
        )
        event = {
            "id": f"EV-{self.now():%Y%m%d%H%M%S}{next(self._numbers):06d}",
            "create_time": _wechat_time(self.now()),
            "resource_type": "encrypt-resource",
            "event_type": event_type,
            "summary": summary,
            "resource": {
                "original_type": original_type,
                "algorithm": "AEAD_AES_256_GCM",
                "ciphertext": base64.b64encode(ciphertext).decode(),
                "associated_data": original_type,
                "nonce": nonce,
            },
        }
        return json.dumps(event, ensure_ascii=False).encode()

    def signed_headers(
        self,
        body: bytes,
        *,
        key: RSAPrivateKey | None = None,
        serial: str | None = None,
        at: dt.datetime | None = None,
    ) -> dict[str, str]:
        """The headers WeChat Pay signs an answer or a notification with."""
        timestamp = str(int((at or self.now()).timestamp()))
        nonce = _nonce()
        message = f"{timestamp}\n{nonce}\n{body.decode()}\n"
        return {
            "Wechatpay-Nonce": nonce,
            "Wechatpay-Serial": serial or self.public_key_id,
            "Wechatpay-Signature": sign(key or self.platform_key, message),
            "Wechatpay-Signature-Type": SIGNATURE_TYPE,
            "Wechatpay-Timestamp": timestamp,
        }

    def bill(self, day: dt.date) -> bytes:
        """The trade bill (type ALL) for a day, unpacked."""
        with self._lock:
            payments = [
                p
                for p in self.payments.values()
                if p.success_time and p.success_time.astimezone(CST).date() == day
            ]
            refunds = [
                r for r in self.refunds.values() if r.created_at.astimezone(CST).date() == day
            ]
            rows = [self._payment_row(p) for p in payments]
            rows += [self._refund_row(r) for r in refunds]
        paid = sum(p.total for p in payments)
        refunded = sum(r.refund for r in refunds)
        fees = sum((_FEE_RATE * p.total / 100 for p in payments), Decimal(0))
        summary = [str(len(rows)), _yuan(paid), _yuan(refunded), "0.00", f"{fees:.5f}"]
        summary += [_yuan(paid), _yuan(refunded)]
        lines = [_BILL_HEADER, *rows, _BILL_SUMMARY, ",".join("`" + v for v in summary)]
        return ("\r\n".join(lines) + "\r\n").encode()

    def _bill_is_empty(self, day: dt.date) -> bool:
        return not any(
            p.success_time and p.success_time.astimezone(CST).date() == day
            for p in self.payments.values()
        ) and not any(r.created_at.astimezone(CST).date() == day for r in self.refunds.values())

    # -- the HTTP API ---------------------------------------------------------------------

    def handle(self, request: Request) -> Reply:
        if not any(r is request for r in self.server.requests):
            # Sent before reset() and answered late (a timeout fault): not this test's.
            return Reply(504, b'{"code":"SYSTEM_ERROR","message":"stale request"}')
        try:
            self._check_authorization(request)
            status, answer = self._route(request)
        except _Refused as e:
            error = json.dumps({"code": e.code, "message": e.message}, ensure_ascii=False)
            return Reply(e.status, error.encode(), {"Content-Type": "application/json"})
        if isinstance(answer, bytes):
            return Reply(status, answer, {"Content-Type": "application/octet-stream"})
        body = b"" if answer is None else json.dumps(answer, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json", **self.signed_headers(body)}
        headers["Request-ID"] = f"08{next(self._numbers):030d}"
        return Reply(status, body, headers)

    def _check_authorization(self, request: Request) -> None:
        scheme, _, params = request.headers.get("authorization", "").partition(" ")
        fields = dict(re.findall(r'(\w+)="([^"]*)"', params))
        message = (
            f"{request.method}\n{request.path}\n{fields.get('timestamp')}\n"
            f"{fields.get('nonce_str')}\n{request.body.decode()}\n"
        )
        try:
            signature = base64.b64decode(fields.get("signature", ""))
            self.merchant_public_key.verify(
                signature, message.encode(), padding.PKCS1v15(), hashes.SHA256()
            )
        except (InvalidSignature, ValueError):
            raise _Refused(401, "SIGN_ERROR", "签名错误") from None
        if (
            scheme != SIGNATURE_TYPE
            or fields.get("mchid") != self.mchid
            or fields.get("serial_no") != self.merchant_serial_no
        ):
            raise _Refused(401, "SIGN_ERROR", "商户证书序列号或商户号有误")

    def _route(self, request: Request) -> tuple[int, dict[str, Any] | bytes | None]:
        url = urlsplit(request.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        body = json.loads(request.body) if request.body else {}
        path = url.path
        with self._lock:
            if request.method == "POST" and (
                m := re.fullmatch(r"/v3/pay/transactions/(\w+)", path)
            ):
                return 200, self._create(m[1], body)
            if m := re.fullmatch(r"/v3/pay/transactions/out-trade-no/([^/]+)/close", path):
                return self._close(m[1], body)
            if m := re.fullmatch(r"/v3/pay/transactions/out-trade-no/([^/]+)", path):
                self._require_mchid(query.get("mchid"))
                return 200, self._transaction(self._payment(m[1]))
            if request.method == "POST" and path == "/v3/refund/domestic/refunds":
                return 200, self._refund(body)
            if m := re.fullmatch(r"/v3/refund/domestic/refunds/([^/]+)", path):
                return 200, self._refund_answer(self._refund_of(m[1]))
            if path == "/v3/bill/tradebill":
                return 200, self._trade_bill(query)
            if path == "/v3/billdownload/file":
                return 200, self._bill_file(query.get("token", ""))
        raise _Refused(404, "NOT_FOUND", "请求的资源不存在")

    def _require_mchid(self, mchid: object) -> None:
        if mchid != self.mchid:
            raise _Refused(400, "PARAM_ERROR", "mchid与请求的商户号不匹配")

    def _create(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        if kind not in _TRADE_TYPES:
            raise _Refused(404, "NOT_FOUND", "请求的资源不存在")
        self._require_mchid(body.get("mchid"))
        total = (body.get("amount") or {}).get("total")
        out_trade_no = body.get("out_trade_no")
        if (
            body.get("appid") != self.appid
            or not body.get("description")
            or not body.get("notify_url")
            or not isinstance(out_trade_no, str)
            or type(total) is not int
            or total <= 0
        ):
            raise _Refused(400, "PARAM_ERROR", "参数错误")
        openid = (body.get("payer") or {}).get("openid")
        scene = body.get("scene_info") or {}
        if kind == "jsapi" and not openid:
            raise _Refused(400, "PARAM_ERROR", "JSAPI支付必须传openid")
        if kind == "h5" and not (scene.get("payer_client_ip") and scene.get("h5_info")):
            raise _Refused(400, "PARAM_ERROR", "H5支付必须传scene_info")
        existing = self.payments.get(out_trade_no)
        if existing is not None:
            return self._repeat(existing, _TRADE_TYPES[kind], total, body["description"])
        payment = StubPayment(
            out_trade_no=out_trade_no,
            trade_type=_TRADE_TYPES[kind],
            total=total,
            description=body["description"],
            payer_params=self._payer_params(kind),
            openid=openid,
            created_at=self.now(),
        )
        self.payments[out_trade_no] = payment
        return payment.payer_params

    def _repeat(
        self, payment: StubPayment, trade_type: str, total: int, description: str
    ) -> dict[str, Any]:
        if payment.trade_state in ("SUCCESS", "REFUND"):
            raise _Refused(400, "ORDERPAID", "该订单已支付")
        if payment.trade_state == "CLOSED":
            raise _Refused(400, "ORDER_CLOSED", "该订单已关闭")
        if (payment.trade_type, payment.total, payment.description) != (
            trade_type,
            total,
            description,
        ):
            raise _Refused(400, "INVALID_REQUEST", "201 商户订单号重复")
        return payment.payer_params

    def _payer_params(self, kind: str) -> dict[str, str]:
        token = secrets.token_hex(8)
        if kind == "native":
            return {"code_url": f"weixin://wxpay/bizpayurl?pr={token}"}
        if kind == "h5":
            return {
                "h5_url": "https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb"
                f"?prepay_id=wx{token}&package=2150917749"
            }
        return {"prepay_id": f"wx{self.now():%d%H%M%S}{token}"}

    def _payment(self, out_trade_no: str) -> StubPayment:
        payment = self.payments.get(out_trade_no)
        if payment is None:
            raise _Refused(404, "ORDER_NOT_EXIST", "订单不存在")
        return payment

    def _transaction(self, payment: StubPayment) -> dict[str, Any]:
        refunded = any(r.out_trade_no == payment.out_trade_no for r in self.refunds.values())
        state = "REFUND" if payment.trade_state == "SUCCESS" and refunded else payment.trade_state
        answer: dict[str, Any] = {
            "appid": self.appid,
            "mchid": self.mchid,
            "out_trade_no": payment.out_trade_no,
            "trade_state": state,
            "trade_state_desc": state,
            "amount": {"total": payment.total, "currency": "CNY", "payer_currency": "CNY"},
        }
        if payment.transaction_id is not None:
            answer |= {
                "transaction_id": payment.transaction_id,
                "trade_type": payment.trade_type,
                "bank_type": "OTHERS",
                "attach": "",
                "payer": {"openid": payment.openid or "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
            }
            answer["amount"] |= {"payer_total": payment.total}
        if payment.success_time is not None:
            answer["success_time"] = _wechat_time(payment.success_time)
        return answer

    def _close(self, out_trade_no: str, body: dict[str, Any]) -> tuple[int, None]:
        self._require_mchid(body.get("mchid"))
        payment = self._payment(out_trade_no)
        if payment.trade_state in ("SUCCESS", "REFUND"):
            raise _Refused(400, "ORDERPAID", "该订单已支付")
        payment.trade_state = "CLOSED"
        return 204, None

    def _refund(self, body: dict[str, Any]) -> dict[str, Any]:
        out_refund_no = body.get("out_refund_no")
        amount = body.get("amount") or {}
        if not isinstance(out_refund_no, str) or amount.get("currency") != "CNY":
            raise _Refused(400, "PARAM_ERROR", "参数错误")
        if out_refund_no in self.refunds:
            return self._refund_answer(self.refunds[out_refund_no])
        payment = self.payments.get(body.get("out_trade_no", ""))
        if payment is None:
            raise _Refused(404, "RESOURCE_NOT_EXISTS", "订单不存在")
        if payment.trade_state not in ("SUCCESS", "REFUND"):
            raise _Refused(400, "INVALID_REQUEST", "订单未支付，不能退款")
        if amount.get("total") != payment.total:
            raise _Refused(400, "PARAM_ERROR", "订单金额与原订单金额不一致")
        refunded = sum(
            r.refund for r in self.refunds.values() if r.out_trade_no == payment.out_trade_no
        )
        wanted = amount.get("refund")
        if type(wanted) is not int or wanted <= 0 or refunded + wanted > payment.total:
            raise _Refused(400, "INVALID_REQUEST", "申请退款金额超过订单可退金额")
        refund = StubRefund(
            out_refund_no=out_refund_no,
            refund_id=f"50300{next(self._numbers):024d}",
            out_trade_no=payment.out_trade_no,
            refund=wanted,
            total=payment.total,
            created_at=self.now(),
        )
        self.refunds[out_refund_no] = refund
        return self._refund_answer(refund)

    def _refund_of(self, out_refund_no: str) -> StubRefund:
        refund = self.refunds.get(out_refund_no)
        if refund is None:
            raise _Refused(404, "RESOURCE_NOT_EXISTS", "退款单不存在")
        return refund

    def _refund_answer(self, refund: StubRefund) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "refund_id": refund.refund_id,
            "out_refund_no": refund.out_refund_no,
            "transaction_id": self.payments[refund.out_trade_no].transaction_id,
            "out_trade_no": refund.out_trade_no,
            "channel": "ORIGINAL",
            "user_received_account": "支付用户零钱",
            "create_time": _wechat_time(refund.created_at),
            "status": refund.status,
            "funds_account": "AVAILABLE",
            "amount": {
                "total": refund.total,
                "refund": refund.refund,
                "payer_total": refund.total,
                "payer_refund": refund.refund,
                "settlement_refund": refund.refund,
                "settlement_total": refund.total,
                "discount_refund": 0,
                "currency": "CNY",
            },
        }
        if refund.success_time is not None:
            answer["success_time"] = _wechat_time(refund.success_time)
        return answer

    def _trade_bill(self, query: dict[str, str]) -> dict[str, Any]:
        try:
            day = dt.date.fromisoformat(query.get("bill_date", ""))
        except ValueError:
            raise _Refused(400, "PARAM_ERROR", "账单日期格式不正确") from None
        if query.get("bill_type", "ALL") != "ALL":
            raise _Refused(400, "PARAM_ERROR", "本地只提供ALL类型账单")
        if self._bill_is_empty(day):
            raise _Refused(400, "NO_STATEMENT_EXIST", "账单文件不存在")
        bill = self.bill(day)
        token = secrets.token_urlsafe(16)
        self._bills[token] = (day, query.get("tar_type") == "GZIP")
        return {
            "hash_type": "SHA1",
            "hash_value": hashlib.sha1(bill, usedforsecurity=False).hexdigest(),
            "download_url": f"{self.server.url}/v3/billdownload/file?token={token}",
        }

    def _bill_file(self, token: str) -> bytes:
        if token not in self._bills:
            raise _Refused(400, "INVALID_REQUEST", "下载链接已失效")
        day, packed = self._bills[token]
        bill = self.bill(day)
        return gzip.compress(bill) if packed else bill

    def _payment_row(self, p: StubPayment) -> str:
        assert p.success_time is not None and p.transaction_id is not None
        fee = _FEE_RATE * p.total / 100
        fields = [
            f"{p.success_time.astimezone(CST):%Y-%m-%d %H:%M:%S}",
            self.appid,
            self.mchid,
            "0",
            "",
            p.transaction_id,
            p.out_trade_no,
            p.openid or "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
            p.trade_type,
            "SUCCESS",
            "OTHERS",
            "CNY",
            _yuan(p.total),
            "0.00",
            "0",
            "0",
            "0.00",
            "0.00",
            "",
            "",
            p.description,
            "",
            f"{fee:.5f}",
            "0.60%",
            _yuan(p.total),
            "0.00",
            "",
        ]
        return ",".join("`" + f for f in fields)

    def _refund_row(self, r: StubRefund) -> str:
        p = self.payments[r.out_trade_no]
        status = {"SUCCESS": "SUCCESS", "PROCESSING": "PROCESSING"}.get(r.status, "REFUNDCLOSE")
        fields = [
            f"{r.created_at.astimezone(CST):%Y-%m-%d %H:%M:%S}",
            self.appid,
            self.mchid,
            "0",
            "",
            p.transaction_id or "",
            r.out_trade_no,
            p.openid or "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
            p.trade_type,
            "REFUND",
            "OTHERS",
            "CNY",
            "0.00",
            "0.00",
            r.refund_id,
            r.out_refund_no,
            _yuan(r.refund),
            "0.00",
            "ORIGINAL",
            status,
            p.description,
            "",
            f"-{_FEE_RATE * r.refund / 100:.5f}",
            "0.60%",
            "0.00",
            _yuan(r.refund),
            "",
        ]
        return ",".join("`" + f for f in fields)
