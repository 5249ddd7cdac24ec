"""The embedded store: one SQLite file through aiosqlite; ``schema`` owns every table."""
