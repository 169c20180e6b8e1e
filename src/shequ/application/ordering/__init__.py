"""Ordering use cases: the cart, checkout, coupons, orders, payments and after-sale refunds."""
