"""Which configured campaign the user meant: typed as an id (`/campaign ID`, `mediabot report ID`)
or named in a report question by its words ("report on 5G" → the campaign whose query says 5G)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from difflib import get_close_matches
from zoneinfo import ZoneInfo

from bot.config import Campaign
from bot.errors import QueryError
from bot.search.query import Query, parse
from bot.textnorm import fold_vietnamese, nfc


class UnknownCampaign(QueryError):
    """No campaign has this id; str(err) names the closest ids (one line)."""


def _key(text: str) -> str:
    """Accents, case, punctuation and `-`/`_` ignored: `phong-chong-dich` = `Phòng chống dịch`."""
    folded = fold_vietnamese(nfc(text)).casefold()
    return " ".join("".join(c if c.isalnum() else " " for c in folded).split())


def find_campaign(campaigns: Sequence[Campaign], typed: str) -> Campaign:
    """The campaign with this id (or exactly this name, accents optional); UnknownCampaign otherwise."""
    wanted = _key(typed)
    for campaign in campaigns:
        if wanted and wanted in (_key(campaign.id), _key(campaign.name)):
            return campaign
    shown = " ".join(typed.split())[:40] or "?"
    spellings = {_key(c.id): c.id for c in campaigns} | {_key(c.name): c.id for c in campaigns}
    close = get_close_matches(wanted, list(spellings), n=6, cutoff=0.6)
    ids = list(dict.fromkeys(spellings[c] for c in close))[:3]
    known = ", ".join(c.id for c in campaigns) or "none configured"
    if not ids:
        return _raise(f"no campaign {shown!r}; campaigns: {known}", "unknown_campaign_none", shown, known)
    return _raise(f"no campaign {shown!r}; did you mean {', '.join(ids)}?", "unknown_campaign", shown, ", ".join(ids))


def _raise(message: str, code: str, value: str, suggestions: str) -> Campaign:
    raise UnknownCampaign(message, code, value=value, suggestions=suggestions)


def campaign_for_topic(topic: Query, campaigns: Sequence[Campaign], now: datetime, tz: ZoneInfo) -> Campaign | None:
    """The one campaign a report question's remaining words name: its id, its name, or one
    alternative of its query (`5G` for `5G OR "phủ sóng"`); None when none or several do."""
    if topic.excluded or topic.sources or not topic.groups:
        return None
    wanted = _key(" ".join(token for group in topic.groups for term in group for token in term.tokens))
    found = [c for c in campaigns if wanted in _names(c, now, tz)]
    return found[0] if len(found) == 1 else None


def _names(campaign: Campaign, now: datetime, tz: ZoneInfo) -> set[str]:
    names = {_key(campaign.id), _key(campaign.name)}
    try:
        query = parse(campaign.query, now=now, tz=tz)
    except QueryError:  # refused at start already; never here
        return names
    return names | {_key(" ".join(term.tokens)) for group in query.groups for term in group}
