"""Identity use cases: accounts and the roles they hold."""
