"""The organization and alerts sections of feeds.yaml: their frozen objects and readers.

Split from bot.config (which re-exports every public name here) to keep each file one concept;
the readers take bot.config's key-path reader, imported for typing only so neither module
imports the other at run time in a cycle.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

if TYPE_CHECKING:
    from bot.config import _Reader as Reader

DEFAULT_WARNING_TERMS = (
    "sai phạm", "chậm trễ", "bức xúc", "phản ánh", "khiếu nại", "tiêu cực", "lãng phí", "vi phạm", "nhũng nhiễu",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Organization:
    name: str
    aliases: tuple[str, ...] = ()
    timezone: str = "Asia/Ho_Chi_Minh"
    language: str = "vi"
    # abbreviation → its expansions, added to (or replacing) bot.search.abbreviations' defaults
    abbreviations: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # An article naming the organization together with one of these is a warning (query language
    # terms: without accents they match every accented form).
    warning_terms: tuple[str, ...] = DEFAULT_WARNING_TERMS

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True, slots=True)
class Alerts:
    max_subscriptions_per_chat: int = 50
    digest_time: str = "07:30"  # local HH:MM a subscription switched to daily gets unless told otherwise
    # Sends awaiting Telegram's answer at once: K is up to K times faster over a slow link, and a
    # crash (kill -9) between a send and its record may then repeat up to K alerts instead of one.
    max_in_flight: int = 1
    # A spike: today's articles of a campaign (or the organization) above spike_factor × the mean
    # of the previous 14 local days, and at least spike_min of them.
    spike_factor: float = 3.0
    spike_min: int = 5
    press_review_time: str = "07:30"  # local HH:MM of the daily press review (/subscribe diembao)
    weekly_digest: tuple[int, str] = (0, "08:00")  # (weekday, Monday = 0; local HH:MM) of the admins' digest


def read_organization(r: Reader, data: Any) -> Organization:
    d = r.mapping(data, "organization")
    if not d:
        raise r.fail("organization", "is required")
    r.unknown(d, {"name", "aliases", "timezone", "language", "abbreviations", "warning_terms"}, "organization")
    tz = r.text(d.get("timezone"), "organization.timezone", required=False) or "Asia/Ho_Chi_Minh"
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise r.fail("organization.timezone", f"unknown time zone {tz!r}") from None
    lang = r.text(d.get("language"), "organization.language", required=False) or "vi"
    if lang not in ("vi", "en"):
        raise r.fail("organization.language", "must be vi or en")
    return Organization(
        name=r.text(d.get("name"), "organization.name"),
        aliases=r.texts(d.get("aliases"), "organization.aliases"),
        timezone=tz,
        language=lang,
        abbreviations=_abbreviations(r, d.get("abbreviations")),
        warning_terms=_warning_terms(r, d),
    )


def _warning_terms(r: Reader, d: dict[str, Any]) -> tuple[str, ...]:
    """Each term needs letters or digits; quotes are dropped (a term is one phrase). Missing: the defaults."""
    if "warning_terms" not in d:
        return DEFAULT_WARNING_TERMS
    terms = []
    for i, term in enumerate(r.texts(d["warning_terms"], "organization.warning_terms")):
        cleaned = " ".join(term.translate(_QUOTES).split())
        if not any(c.isalnum() for c in cleaned):
            raise r.fail(f"organization.warning_terms[{i}]", f"{term!r} has no letters or digits")
        terms.append(cleaned)
    return tuple(dict.fromkeys(terms))


def _abbreviations(r: Reader, data: Any) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """`{UBND: ủy ban nhân dân, TP.HCM: [TPHCM, thành phố Hồ Chí Minh]}` → pairs (each must have letters)."""
    out = []
    for key, value in r.mapping(data, "organization.abbreviations").items():
        path = f"organization.abbreviations.{key}"
        forms = (r.text(key, path), *r.texts(value, path))
        if len(forms) < 2:
            raise r.fail(path, "needs at least one expansion")
        for form in forms:
            if not any(c.isalnum() for c in form):
                raise r.fail(path, f"{form!r} has no letters or digits")
        out.append((forms[0], forms[1:]))
    return tuple(out)


def positive_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError("must be a whole number greater than zero")
    return value


_CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_QUOTES = str.maketrans({c: " " for c in '"“”„‟«»'})


def parse_clock(value: Any) -> str:
    """`7:30`, `07:30` → `07:30` (a local time of day, 00:00–23:59)."""
    match = _CLOCK.match(str(value).strip()) if isinstance(value, str | int) and not isinstance(value, bool) else None
    if not match:
        raise ValueError(f"not a time of day (use HH:MM, e.g. 07:30): {value!r}")
    return f"{int(match.group(1)):02d}:{match.group(2)}"


def read_alerts(r: Reader, data: Any) -> Alerts:
    d = r.mapping(data, "alerts")
    r.unknown(d, {*_ALERT_KEYS, "max_subscriptions_per_chat", "digest_time", "max_in_flight"}, "alerts")
    base = Alerts()
    limit = base.max_subscriptions_per_chat
    if "max_subscriptions_per_chat" in d:
        limit = r.convert(d["max_subscriptions_per_chat"], "alerts.max_subscriptions_per_chat", positive_int)
    digest_time = r.convert(d["digest_time"], "alerts.digest_time", parse_clock) if "digest_time" in d else None
    in_flight = base.max_in_flight
    if "max_in_flight" in d:
        in_flight = r.convert(d["max_in_flight"], "alerts.max_in_flight", positive_int)
    return Alerts(
        max_subscriptions_per_chat=limit,
        digest_time=digest_time or base.digest_time,
        max_in_flight=in_flight,
        **_alert_schedule(r, d),
    )


_ALERT_KEYS = {"spike_factor", "spike_min", "press_review_time", "weekly_digest"}


def _alert_schedule(r: Reader, d: dict[str, Any]) -> dict[str, Any]:
    """alerts.spike_factor, spike_min, press_review_time, weekly_digest (only those given)."""
    readers = {
        "spike_factor": _factor,
        "spike_min": positive_int,
        "press_review_time": parse_clock,
        "weekly_digest": parse_weekly,
    }
    return {key: r.convert(d[key], f"alerts.{key}", read) for key, read in readers.items() if key in d}


def _factor(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 1 <= value <= 1000:
        raise ValueError(f"must be a number from 1 to 1000: {value!r}")
    return float(value)


def parse_weekly(value: Any) -> tuple[int, str]:
    """`mon 08:00` (or `monday 8:00`) → (0, "08:00"): a weekday and a local time of day."""
    day, _, clock = str(value).strip().lower().partition(" ") if isinstance(value, str) else ("", "", "")
    names = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    found = [i for i, name in enumerate(names) if len(day) >= 3 and name.startswith(day)]
    try:
        if not found:
            raise ValueError
        return found[0], parse_clock(clock.strip())
    except ValueError:
        raise ValueError(f'not a weekday and time (use e.g. "mon 08:00"): {value!r}') from None
