"""Payments: starting them, the providers' notifications, refunds and reconciliation."""
