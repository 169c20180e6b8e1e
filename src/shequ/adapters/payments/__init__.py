"""Payment gateways: the in-process sandbox (the payments extra adds real providers)."""

from shequ.adapters.payments.sandbox import SandboxPaymentGateway

__all__ = ["SandboxPaymentGateway"]
