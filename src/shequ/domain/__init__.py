"""The domain: pure Python rules, no I/O and no framework."""
