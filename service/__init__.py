"""Plain synchronous functions over a SQLAlchemy Session, grouped by domain; no Tornado here."""
