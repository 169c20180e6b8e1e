"""Community life use cases: announcements (公告) and activities (活动) with sign-ups."""
