"""Storage adapters: in memory (:mod:`.memory`) and SQLAlchemy (:mod:`.sqlalchemy`)."""
