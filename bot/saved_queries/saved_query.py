"""A saved query: a query someone keeps (a campaign, a subscription), compiled once.

`compile_saved_query` is the only place a saved query's text becomes a search plan and its
`since` date becomes a moment; every consumer (the after-insert hook, re-tagging, counts,
chat questions naming a campaign) uses the compiled `SavedQuery`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from bot.search.abbreviations import DEFAULT_ABBREVIATIONS, Abbreviations
from bot.search.plan import SearchPlan, plan_query
from bot.search.query import parse_query

CAMPAIGN = "campaign"
SUBSCRIPTION = "subscription"  # bot.alerts.subscriptions
ORGANIZATION = "organization"  # department news and warnings (bot.alerts.department_news)


@dataclass(frozen=True, slots=True)
class SavedQuery:
    """One saved query of some kind, with its compiled plan."""

    id: str
    kind: str  # CAMPAIGN or SUBSCRIPTION
    name: str
    query: str
    since: date | None
    plan: SearchPlan
    fingerprint: str  # changes exactly when the set of articles it matches may change


def compile_saved_query(
    kind: str,
    query_id: str,
    name: str,
    query: str,
    *,
    since: date | None,
    tz: ZoneInfo,
    abbreviations: Abbreviations = DEFAULT_ABBREVIATIONS,
    now: datetime | None = None,
) -> SavedQuery:
    """Compile the query text and its start date; QueryError when the text means nothing."""
    # A relative `since:` inside a saved query counts from the moment it is compiled.
    parsed = parse_query(query, now=now or datetime.now(UTC), tz=tz, abbreviations=abbreviations)
    start = datetime.combine(since, time(0), tzinfo=tz) if since else None
    plan = plan_query(parsed, since=start)
    return SavedQuery(query_id, kind, name, query, since, plan, _fingerprint(kind, query, since, tz, plan))


def _fingerprint(kind: str, query: str, since: date | None, tz: ZoneInfo, plan: SearchPlan) -> str:
    # The compiled MATCH string is part of it, so a change in how the text is read (the
    # parser, an abbreviation table) re-tags too; since_ts is not (a relative `since:`
    # would make every start look like a change), the text and the date stand for it.
    parts = [kind, query, since.isoformat() if since else None, tz.key, plan.match, plan.sources, plan.until_ts]
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False).encode()).hexdigest()[:32]
