"""The SQLite backend; see ``store`` for what it guarantees and ``schema`` for the layout."""

from .store import SqliteSettings, SqliteStore

__all__ = ["SqliteSettings", "SqliteStore"]
