"""A stand-in for Alipay's OpenAPI gateway (``/gateway.do``) and its bill download host.

It checks each request's RSA2 signature with the app's public key, keeps the trades and
refunds, answers as Alipay does (``{"<method>_response": {...}, "sign": "..."}``, the
signature over the inner JSON exactly as sent) and signs its notifications (form posts
signed over the sorted fields but ``sign`` and ``sign_type``) with the key the test gives
it as Alipay's. Its clock is its own: every event moves it on by a second.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import itertools
import json
import secrets
import threading
import urllib.parse
import zipfile
from collections.abc import Callable, Mapping
from typing import Any

import attrs
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from shequ.domain.money import Money
from tests.stubs import Reply, Request, StubServer

__all__ = [
    "BILL_PATH",
    "CST",
    "GATEWAY_PATH",
    "AlipayStub",
    "request_signing_string",
    "sign",
    "signing_string",
]

CST = dt.timezone(dt.timedelta(hours=8), "CST")
GATEWAY_PATH = "/gateway.do"
BILL_PATH = "/downloadBillFile.resource"
_TIME = "%Y-%m-%d %H:%M:%S"
_PRODUCT_OF_METHOD = {
    "alipay.trade.page.pay": "FAST_INSTANT_TRADE_PAY",
    "alipay.trade.wap.pay": "QUICK_WAP_WAY",
    "alipay.trade.app.pay": "QUICK_MSECURITY_PAY",
}
_DETAIL_HEADER = (
    "支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,"
    "终端号,对方账户,订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,"
    "商家优惠（元）,券核销金额（元）,券名称,商家红包消费金额（元）,卡消费金额（元）,"
    "退款批次号/请求号,服务费（元）,分润（元）,备注"
)
_SUMMARY_HEADER = (
    "门店编号,门店名称,交易订单总笔数,退款订单总笔数,订单金额（元）,商家实收（元）,"
    "支付宝优惠（元）,商家优惠（元）,卡消费金额（元）,服务费（元）,分润（元）,实收净额（元）"
)


def signing_string(fields: Mapping[str, str]) -> str:
    """What Alipay signs in a notification: ``k=v`` of every field but ``sign`` and
    ``sign_type``, sorted, raw."""
    return "&".join(f"{k}={v}" for k, v in sorted(fields.items()) if k not in ("sign", "sign_type"))


def request_signing_string(params: Mapping[str, str]) -> str:
    """What an app signs in a request: every non-empty parameter but ``sign`` (so
    ``sign_type`` too), sorted, raw."""
    return "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k != "sign" and v)


def sign(key: rsa.RSAPrivateKey, message: bytes) -> str:
    return base64.b64encode(key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()


def _sum(rows: list[list[str]]) -> str:
    return Money(sum(Money.parse(row[11], allow_negative=True).fen for row in rows)).plain()


def _time(at: dt.datetime | None) -> str:
    return "" if at is None else at.astimezone(CST).strftime(_TIME)


@attrs.define
class StubRefund:
    out_request_no: str
    amount: Money
    at: dt.datetime
    refunded_so_far: Money  # the trade's refund_fee once this refund went through


@attrs.define
class Trade:
    out_trade_no: str
    trade_no: str
    total: Money
    subject: str
    method: str
    notify_url: str
    created_at: dt.datetime
    status: str = "WAIT_BUYER_PAY"
    paid_at: dt.datetime | None = None
    closed_at: dt.datetime | None = None
    refunds: dict[str, StubRefund] = attrs.field(factory=dict)

    @property
    def refunded(self) -> Money:
        return sum((r.amount for r in self.refunds.values()), Money(0))


class _Answer(Exception):
    """Ends a request early with Alipay's answer."""

    def __init__(self, content: dict[str, str]) -> None:
        super().__init__(content.get("sub_code", ""))
        self.content = content


def _business_error(sub_code: str, sub_msg: str, code: str = "40004") -> _Answer:
    msg = {"40004": "Business Failed", "40002": "Invalid Arguments"}.get(
        code, "Service Unavailable"
    )
    return _Answer({"code": code, "msg": msg, "sub_code": sub_code, "sub_msg": sub_msg})


class AlipayStub:
    """``app_public_key`` checks the shop's requests; ``alipay_private_key`` signs the
    answers and notifications (replace it to play a wrong key)."""

    def __init__(
        self,
        *,
        app_id: str,
        app_public_key: rsa.RSAPublicKey,
        alipay_private_key: rsa.RSAPrivateKey,
        seller_id: str = "2088102177846880",
        now: dt.datetime | None = None,
    ) -> None:
        self.app_id = app_id
        self.app_public_key = app_public_key
        self.seller_id = seller_id
        self.server = StubServer(self.handle)
        self._lock = threading.RLock()
        self._key, self._start = alipay_private_key, now or dt.datetime(2024, 5, 20, 10, tzinfo=CST)
        self._earlier: list[Request] = []
        self.trades: dict[str, Trade] = {}
        self._forced: dict[str, dict[str, Any]] = {}
        self.reset()
        self._methods: dict[str, Callable[[dict[str, Any], dict[str, str]], dict[str, str]]] = {
            "alipay.trade.query": self._query,
            "alipay.trade.close": self._close,
            "alipay.trade.refund": self._refund,
            "alipay.trade.fastpay.refund.query": self._refund_query,
            "alipay.data.dataservice.bill.downloadurl.query": self._bill_url,
        }

    def reset(self) -> None:
        """Forget every trade, rewind the clock and restore Alipay's key, so that one
        running server serves many tests. A request that arrived before (one a fault
        delayed) is answered 503 rather than applied to the new state."""
        with self._lock:
            self.alipay_private_key = self._key
            self.now = self._start
            self.trades = {}
            self._serial = itertools.count(1)
            self._forced = {}
            self._earlier += self.server.requests
            self.server.requests.clear()

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def gateway(self) -> str:
        return self.server.url + GATEWAY_PATH

    def _tick(self) -> dt.datetime:
        self.now += dt.timedelta(seconds=1)
        return self.now

    # ---------------------------------------------------------------- test controls

    def answer_next(
        self, method: str, code: str, sub_code: str, sub_msg: str, *, signed: bool = True
    ) -> None:
        """The next call of ``method`` gets this answer instead of its own; unsigned, it
        comes as Alipay's gateway-level ``error_response``."""
        content = _business_error(sub_code, sub_msg, code).content
        self._forced[method] = content if signed else {"error_response": content}

    def open(self, signed: str) -> Trade:
        """The payer's browser or app takes a signed page/wap URL or an app order string
        to Alipay, which opens the trade (once per out_trade_no)."""
        params = dict(urllib.parse.parse_qsl(signed.partition("?")[2] or signed))
        try:
            self._check_request(params)
            with self._lock:
                return self._open(params)
        except _Answer as refusal:
            raise AssertionError(f"Alipay refuses the payment: {refusal.content}") from None

    def pay(self, payment_id: str) -> tuple[bytes, dict[str, str]]:
        """The payer pays an opened trade; returns the notification Alipay posts."""
        with self._lock:
            trade = self.trades[payment_id]
            if trade.status == "WAIT_BUYER_PAY":
                trade.status, trade.paid_at = "TRADE_SUCCESS", self._tick()
            return self.notification(self.payment_fields(payment_id))

    def expire(self, payment_id: str) -> tuple[bytes, dict[str, str]]:
        """The payer never pays: Alipay closes the trade at its time_expire."""
        with self._lock:
            trade = self.trades[payment_id]
            if trade.status == "WAIT_BUYER_PAY":
                trade.status, trade.closed_at = "TRADE_CLOSED", self._tick()
            fields = self.payment_fields(payment_id)
            fields["gmt_close"] = _time(trade.closed_at)
            return self.notification(fields)

    def payment_fields(self, payment_id: str) -> dict[str, str]:
        """A payment notification's fields, unsigned (tests tamper with them)."""
        trade = self.trades[payment_id]
        amount = trade.total.plain()
        fields = {
            "gmt_create": _time(trade.created_at),
            "charset": "utf-8",
            "seller_email": "shop@example.com",
            "subject": trade.subject,
            "buyer_id": "2088102177800001",
            "invoice_amount": amount,
            "notify_id": secrets.token_hex(16),
            "fund_bill_list": json.dumps(
                [{"amount": amount, "fundChannel": "ALIPAYACCOUNT"}], separators=(",", ":")
            ),
            "notify_type": "trade_status_sync",
            "trade_status": "TRADE_SUCCESS" if trade.paid_at else trade.status,
            "receipt_amount": amount,
            "buyer_pay_amount": amount,
            "app_id": self.app_id,
            "auth_app_id": self.app_id,
            "seller_id": self.seller_id,
            "notify_time": _time(self._tick()),
            "version": "1.0",
            "out_trade_no": trade.out_trade_no,
            "total_amount": amount,
            "trade_no": trade.trade_no,
            "buyer_logon_id": "buy***@example.com",
            "point_amount": "0.00",
        }
        if trade.paid_at:
            fields["gmt_payment"] = _time(trade.paid_at)
        return fields

    def refund_notification(self, refund_id: str) -> tuple[bytes, dict[str, str]]:
        """What Alipay posts after a refund: the trade's status then, ``out_biz_no`` (the
        refund's number) and ``refund_fee``, the total refunded so far."""
        with self._lock:
            trade = next(t for t in self.trades.values() if refund_id in t.refunds)
            refund = trade.refunds[refund_id]
            fields = self.payment_fields(trade.out_trade_no)
            fields |= {
                "out_biz_no": refund_id,
                "refund_fee": refund.refunded_so_far.plain(),
                "gmt_refund": _time(refund.at) + ".123",
            }
            if refund.refunded_so_far == trade.total:
                fields |= {"trade_status": "TRADE_CLOSED", "gmt_close": _time(refund.at)}
            return self.notification(fields)

    def notification(
        self,
        fields: Mapping[str, str],
        *,
        key: rsa.RSAPrivateKey | None = None,
        charset: str = "utf-8",
    ) -> tuple[bytes, dict[str, str]]:
        """Sign ``fields`` as Alipay does (over their bytes in ``charset``) and post them."""
        signed = {k: v for k, v in fields.items() if k not in ("sign", "sign_type")}
        signed["charset"] = charset
        message = signing_string(signed).encode(charset)
        signed |= {"sign_type": "RSA2", "sign": sign(key or self.alipay_private_key, message)}
        body = urllib.parse.urlencode(signed, encoding=charset).encode("ascii")
        return body, {"Content-Type": f"application/x-www-form-urlencoded; charset={charset}"}

    # ---------------------------------------------------------------- the HTTP API

    def handle(self, request: Request) -> Reply:
        if any(request is earlier for earlier in self._earlier):
            return Reply(503, b"from an earlier test")
        path, _, query = request.path.partition("?")
        if path == BILL_PATH:
            return self._bill_file(dict(urllib.parse.parse_qsl(query)))
        if path != GATEWAY_PATH:
            return Reply(404, b"not found")
        params = dict(urllib.parse.parse_qsl(query, keep_blank_values=True))
        if request.method == "POST":
            params |= dict(urllib.parse.parse_qsl(request.body.decode(), keep_blank_values=True))
        method = params.get("method", "")
        answer_key = method.replace(".", "_") + "_response"
        try:
            self._check_request(params)
            if method in _PRODUCT_OF_METHOD and method != "alipay.trade.app.pay":
                with self._lock:
                    trade = self._open(params)
                page = (
                    f"<html><body>收银台 {trade.out_trade_no} ¥{trade.total.plain()}</body></html>"
                )
                return Reply(200, page.encode(), {"Content-Type": "text/html;charset=utf-8"})
            handler = self._methods.get(method)
            if handler is None:
                content = {"code": "40002", "msg": "Invalid Arguments"}
                content |= {"sub_code": "isv.invalid-method", "sub_msg": "不存在的方法名"}
                return self._reply({"error_response": content})  # unsigned, as Alipay does
            forced = self._forced.pop(method, None)
            if forced is not None and "error_response" in forced:
                return self._reply(forced)
            if forced is not None:
                raise _Answer(forced)
            with self._lock:
                content = handler(json.loads(params["biz_content"]), params)
        except _Answer as refusal:
            content = refusal.content
        return self._signed_reply(answer_key, content)

    def _check_request(self, params: dict[str, str]) -> None:
        signature = params.get("sign", "")
        try:
            self.app_public_key.verify(
                base64.b64decode(signature),
                request_signing_string(params).encode(params.get("charset", "utf-8")),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
        except (InvalidSignature, ValueError):
            raise _business_error("isv.invalid-signature", "验签出错", "40002") from None
        if params.get("app_id") != self.app_id:
            raise _business_error("isv.invalid-app-id", "无效的AppID参数", "40002")
        if params.get("sign_type") != "RSA2" or params.get("version") != "1.0":
            raise _business_error("isv.invalid-signature-type", "无效的签名类型", "40002")
        try:
            dt.datetime.strptime(params.get("timestamp", ""), _TIME)
        except ValueError:
            raise _business_error("isv.invalid-timestamp", "非法的时间戳参数", "40002") from None

    def _reply(self, document: Mapping[str, Any]) -> Reply:
        body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
        return Reply(200, body, {"Content-Type": "text/html;charset=utf-8"})

    def _signed_reply(self, answer_key: str, content: Mapping[str, Any]) -> Reply:
        inner = json.dumps(content, ensure_ascii=False, separators=(",", ":"))
        signature = sign(self.alipay_private_key, inner.encode())
        body = f'{{"{answer_key}":{inner},"sign":"{signature}"}}'.encode()
        return Reply(200, body, {"Content-Type": "text/html;charset=utf-8"})

    # ---------------------------------------------------------------- methods

    def _open(self, params: dict[str, str]) -> Trade:
        method = params.get("method", "")
        biz = json.loads(params["biz_content"])
        if biz.get("product_code") != _PRODUCT_OF_METHOD.get(method):
            raise _business_error("ACQ.PRODUCT_CODE_ERROR", "产品码错误")
        out_trade_no = biz["out_trade_no"]
        total = Money.parse(biz["total_amount"])
        dt.datetime.strptime(biz["time_expire"], _TIME)
        known = self.trades.get(out_trade_no)
        if known is not None:
            if known.total != total:
                raise _business_error("ACQ.CONTEXT_INCONSISTENT", "交易信息被篡改")
            return known
        trade = Trade(
            out_trade_no=out_trade_no,
            trade_no=f"{self.now:%Y%m%d}2200140{next(self._serial):013d}",
            total=total,
            subject=biz["subject"],
            method=method,
            notify_url=params.get("notify_url", ""),
            created_at=self._tick(),
        )
        self.trades[out_trade_no] = trade
        return trade

    def _trade(self, biz: dict[str, Any]) -> Trade:
        trade = self.trades.get(biz.get("out_trade_no", ""))
        if trade is None:
            trade = next(
                (t for t in self.trades.values() if t.trade_no == biz.get("trade_no")), None
            )
        if trade is None:
            raise _business_error("ACQ.TRADE_NOT_EXIST", "交易不存在")
        return trade

    def _query(self, biz: dict[str, Any], _: dict[str, str]) -> dict[str, str]:
        trade = self._trade(biz)
        content = {
            "code": "10000",
            "msg": "Success",
            "trade_no": trade.trade_no,
            "out_trade_no": trade.out_trade_no,
            "buyer_logon_id": "buy***@example.com",
            "trade_status": trade.status,
            "total_amount": trade.total.plain(),
            "buyer_pay_amount": trade.total.plain() if trade.paid_at else "0.00",
            "buyer_user_id": "2088102177800001",
        }
        if trade.paid_at:
            content["send_pay_date"] = _time(trade.paid_at)
        return content

    def _close(self, biz: dict[str, Any], _: dict[str, str]) -> dict[str, str]:
        trade = self._trade(biz)
        if trade.status != "WAIT_BUYER_PAY":
            raise _business_error("ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
        trade.status, trade.closed_at = "TRADE_CLOSED", self._tick()
        return {
            "code": "10000",
            "msg": "Success",
            "trade_no": trade.trade_no,
            "out_trade_no": trade.out_trade_no,
        }

    def _refund(self, biz: dict[str, Any], _: dict[str, str]) -> dict[str, str]:
        trade = self._trade(biz)
        if trade.paid_at is None:
            raise _business_error("ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
        amount = Money.parse(biz["refund_amount"])
        request_no = biz.get("out_request_no") or trade.out_trade_no
        known = trade.refunds.get(request_no)
        if known is not None and known.amount != amount:
            raise _business_error("ACQ.INVALID_PARAMETER", "参数有误，同一退款请求号的金额不一致")
        if known is None:
            if trade.refunded + amount > trade.total:
                raise _business_error("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "退款金额超限")
            known = StubRefund(request_no, amount, self._tick(), trade.refunded + amount)
            trade.refunds[request_no] = known
            if trade.refunded == trade.total:
                trade.status, trade.closed_at = "TRADE_CLOSED", known.at
            changed = "Y"
        else:
            changed = "N"
        return {
            "code": "10000",
            "msg": "Success",
            "trade_no": trade.trade_no,
            "out_trade_no": trade.out_trade_no,
            "buyer_logon_id": "buy***@example.com",
            "fund_change": changed,
            "refund_fee": trade.refunded.plain(),
            "gmt_refund_pay": _time(known.at),
            "buyer_user_id": "2088102177800001",
            "send_back_fee": amount.plain() if changed == "Y" else "0.00",
        }

    def _refund_query(self, biz: dict[str, Any], _: dict[str, str]) -> dict[str, str]:
        trade = self._trade(biz)
        refund = trade.refunds.get(biz.get("out_request_no", ""))
        if refund is None:  # Alipay answers success, with no refund in it
            return {"code": "10000", "msg": "Success", "out_trade_no": trade.out_trade_no}
        content = {
            "code": "10000",
            "msg": "Success",
            "trade_no": trade.trade_no,
            "out_trade_no": trade.out_trade_no,
            "out_request_no": refund.out_request_no,
            "total_amount": trade.total.plain(),
            "refund_amount": refund.amount.plain(),
            "refund_status": "REFUND_SUCCESS",
        }
        if "gmt_refund_pay" in biz.get("query_options", []):
            content["gmt_refund_pay"] = _time(refund.at)
        return content

    def _bill_url(self, biz: dict[str, Any], _: dict[str, str]) -> dict[str, str]:
        if biz.get("bill_type") != "trade":
            raise _business_error("isp.bill_type_error", "账单类型错误")
        day = dt.date.fromisoformat(biz["bill_date"])
        if day > self.now.date():
            raise _business_error("isp.bill_not_exist", "账单不存在")
        query = urllib.parse.urlencode(
            {
                "bizType": "trade",
                "userId": self.seller_id,
                "fileType": "csv.zip",
                "bizDates": f"{day:%Y%m%d}",
                "downloadFileName": f"{self.seller_id}_{day:%Y%m%d}.csv.zip",
                "fileId": f"%2Ftrade%2F{self.seller_id}%2F{day:%Y%m%d}.csv.zip",
            }
        )
        return {
            "code": "10000",
            "msg": "Success",
            "bill_download_url": f"{self.url}{BILL_PATH}?{query}",
        }

    # ---------------------------------------------------------------- the bill

    def bill_rows(self, day: dt.date) -> list[list[str]]:
        """The business detail (业务明细) rows of ``day``: payments and refunds done then."""
        rows: list[list[str]] = []
        with self._lock:
            for trade in self.trades.values():
                if trade.paid_at and trade.paid_at.astimezone(CST).date() == day:
                    rows.append(self._bill_row(trade, "交易", trade.total, trade.paid_at, ""))
                for refund in trade.refunds.values():
                    if refund.at.astimezone(CST).date() == day:
                        rows.append(
                            self._bill_row(
                                trade, "退款", -refund.amount, refund.at, refund.out_request_no
                            )
                        )
        return rows

    def _bill_row(
        self, trade: Trade, kind: str, amount: Money, at: dt.datetime, request_no: str
    ) -> list[str]:
        money, zero = amount.plain(), "0.00"
        fee = Money(-(abs(amount.fen) * 6 // 1000)).plain() if kind == "交易" else zero
        return [
            f"{trade.trade_no}\t",
            f"{trade.out_trade_no}\t",
            kind,
            trade.subject,
            _time(trade.created_at),
            _time(at),
            "",
            "",
            "",
            "",
            "buy***@example.com",
            money,
            money,
            zero,
            zero,
            zero,
            zero,
            zero,
            "",
            zero,
            zero,
            f"{request_no}\t" if request_no else "",
            fee,
            zero,
            "",
        ]

    def _bill_file(self, query: dict[str, str]) -> Reply:
        day = dt.datetime.strptime(query.get("bizDates", ""), "%Y%m%d").date()
        rows = self.bill_rows(day)
        start, end = f"{day:%Y年%m月%d日}", f"{day + dt.timedelta(days=1):%Y年%m月%d日}"
        head = [
            f"#账号：[{self.seller_id}0156]",
            f"#起始日期：[{start} 00:00:00]   终止日期：[{end} 00:00:00]",
        ]
        detail = io.StringIO()
        writer = csv.writer(detail, lineterminator="\r\n")
        detail.write("#支付宝业务明细查询\r\n" + "\r\n".join(head) + "\r\n")
        detail.write("#" + "-" * 41 + "业务明细列表" + "-" * 40 + "\r\n")
        detail.write(_DETAIL_HEADER + "\r\n")
        writer.writerows(rows)
        detail.write("#" + "-" * 41 + "业务明细列表结束" + "-" * 36 + "\r\n")
        payments = [r for r in rows if r[2] == "交易"]
        refunds = [r for r in rows if r[2] == "退款"]
        paid, refunded = _sum(payments), _sum(refunds)
        detail.write(f"#交易合计：{len(payments)}笔，商家实收共{paid}元，商家优惠共0.00元\r\n")
        detail.write(
            f"#退款合计：{len(refunds)}笔，商家实收退款共{refunded}元，商家优惠退款共0.00元\r\n"
        )
        detail.write(f"#导出时间：[{self.now:%Y年%m月%d日 %H:%M:%S}]\r\n")
        summary = "\r\n".join(
            [
                "#支付宝业务汇总查询",
                *head,
                "#" + "-" * 41 + "业务汇总列表" + "-" * 40,
                _SUMMARY_HEADER,
                f"合计,,{len(payments)},{len(refunds)},{_sum(rows)},{_sum(rows)},0.00,0.00,0.00,,0.00,",
                "#" + "-" * 41 + "业务汇总列表结束" + "-" * 36,
            ]
        )
        archive = io.BytesIO()
        # Alipay names the members in GBK; zipfile can only write UTF-8 names, and the
        # adapter tells the files apart by their header, not their name. The summary
        # comes first, so picking the wrong file would show.
        with zipfile.ZipFile(archive, "w") as bill:
            bill.writestr(
                f"{self.seller_id}0156_{day:%Y%m%d}_业务明细(汇总).csv", summary.encode("gbk")
            )
            bill.writestr(
                f"{self.seller_id}0156_{day:%Y%m%d}_业务明细.csv", detail.getvalue().encode("gbk")
            )
        return Reply(200, archive.getvalue(), {"Content-Type": "application/octet-stream"})
