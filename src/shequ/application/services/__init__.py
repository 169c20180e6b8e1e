"""Local services use cases: the merchant directory, staff and offerings, free time and
bookings (服务预约)."""
