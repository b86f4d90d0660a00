"""The exception tree of mediabot.

MediabotError
├── ConfigError        feeds.yaml or environment is wrong (message names file and key path)
├── FetchError         one feed could not be fetched (recorded on the feed, never fatal)
│   ├── BlockedAddress   the URL resolves to a private/loopback/link-local address
│   ├── BodyTooLarge     body (decompressed) exceeds polling.max_body
│   └── HTTPStatusError  non-2xx/304 answer; carries status and Retry-After
├── ParseError         bytes are not a feed we can read
├── DatabaseUnavailable  the database file is missing, not a database, or busy
│   ├── DatabaseLocked   another process held the write lock longer than busy_timeout
│   └── DatabaseFull     the disk is full (SQLITE_FULL); the transaction was rolled back
└── QueryError         a search query that cannot mean anything (empty after cleaning)
"""

from __future__ import annotations

import sqlite3


class MediabotError(Exception):
    """Base of every error mediabot raises on purpose."""


class ConfigError(MediabotError):
    """Configuration is invalid; str(err) is the one line shown to the user."""


class FetchError(MediabotError):
    """A feed could not be fetched."""


class BlockedAddress(FetchError):
    """The feed's host resolves to an address we refuse to contact."""


class BodyTooLarge(FetchError):
    """The (decompressed) body is larger than the configured cap."""


class HTTPStatusError(FetchError):
    """The server answered with a status we treat as failure."""

    def __init__(self, status: int, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class ParseError(MediabotError):
    """The body could not be read as RSS, Atom or RDF."""


class DatabaseUnavailable(MediabotError):
    """The database cannot be read (missing, not SQLite, too old, busy); str(err) is one line."""


class DatabaseLocked(DatabaseUnavailable, sqlite3.OperationalError):
    """Another process holds the write lock (also a sqlite3.OperationalError, as it was before)."""


class DatabaseFull(DatabaseUnavailable, sqlite3.OperationalError):
    """No room to write: the transaction was rolled back whole (also a sqlite3.OperationalError)."""


class QueryError(MediabotError):
    """A search query that cannot mean anything; str(err) is the English message for the CLI.

    `code` and `params` let the bot say the same in the user's language
    (catalogue key `query_error.<code>`).
    """

    def __init__(self, message: str, code: str = "invalid", **params: object) -> None:
        super().__init__(message)
        self.code = code
        self.params = params
