"""Group buying use cases: campaigns, starting and joining groups, settlement, purchase
plans, and what residents and leaders see of them."""
