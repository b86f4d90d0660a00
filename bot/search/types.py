"""Results of a search, shared by the engine, the CLI and the Telegram formatter."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class SearchHit:
    id: int
    title: str
    url: str
    source: str  # source id
    source_name: str
    published_at: datetime  # timezone-aware, in the organization's timezone
    snippet: str  # plain text; the matched terms are wrapped in MARK_START / MARK_END
    story_id: int | None = None
    dated: bool = True  # False: the feed gave no date; published_at is when it was first seen


# Private-use characters: they never occur in feed text, so formatters can turn them
# into <b>…</b> (Telegram) or «…» (terminal) after escaping the rest.
MARK_START = "\ue000"
MARK_END = "\ue001"


@dataclass(frozen=True, slots=True)
class SearchPage:
    hits: tuple[SearchHit, ...]
    total: int  # number of matching articles (all pages)
    offset: int
    limit: int
    top_sources: tuple[tuple[str, str, int], ...] = ()  # (source id, name, count), largest first
