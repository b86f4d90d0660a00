"""feeds.yaml → frozen configuration objects, validated once at start.

Every problem is reported as one line naming the file and the key path,
e.g. `feeds.yaml: sources[3].url: not an http(s) URL`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from bot.config_sections import (
    DEFAULT_WARNING_TERMS as DEFAULT_WARNING_TERMS,
)
from bot.config_sections import (
    Alerts,
    Organization,
    positive_int,
    read_alerts,
    read_organization,
)
from bot.config_sections import (
    parse_clock as parse_clock,
)
from bot.config_sections import (
    parse_weekly as parse_weekly,
)
from bot.errors import ConfigError
from bot.ids import ID_RULE, is_valid_id
from bot.textnorm import nfc

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$", re.IGNORECASE)
_DURATION_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb|kib|mib|gib)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {"b": 1, "kb": 1024, "kib": 1024, "mb": 1024**2, "mib": 1024**2, "gb": 1024**3, "gib": 1024**3}
DEFAULT_USER_AGENT = "mediabot/0.1 (press monitoring; +https://github.com/mediabot)"


@dataclass(frozen=True, slots=True)
class Polling:
    """All durations in seconds, sizes in bytes."""

    interval: float = 600.0
    min_interval: float = 1.0
    max_interval: float = 6 * 3600.0
    timeout: float = 20.0
    parse_timeout: float = 10.0  # CPU budget of one feed's parse; past it the parser is stopped
    max_body: int = 10 * 1024**2
    concurrency: int = 32
    per_host: int = 4
    max_failures: int = 100
    max_items: int = 500  # items kept from one fetch of one feed (the first, newest, ones)
    allow_private_networks: bool = False
    user_agent: str = DEFAULT_USER_AGENT


@dataclass(frozen=True, slots=True)
class Source:
    """One outlet; it may publish several feeds (`urls`)."""

    id: str
    name: str
    urls: tuple[str, ...]
    tags: tuple[str, ...] = ()
    interval: float | None = None
    active: bool = True

    @property
    def url(self) -> str:
        return self.urls[0]


@dataclass(frozen=True, slots=True)
class Campaign:
    id: str
    name: str
    query: str
    since: date | None = None
    description: str = ""


@dataclass(frozen=True, slots=True)
class Access:
    mode: str = "private"  # private | public
    admins: tuple[int, ...] = ()
    users: tuple[int, ...] = ()
    chats: tuple[int, ...] = ()
    request_cooldown: float = 7 * 86400.0  # seconds a denied (or revoked) user waits before asking again


@dataclass(frozen=True, slots=True)
class Config:
    organization: Organization
    polling: Polling = field(default_factory=Polling)
    sources: tuple[Source, ...] = ()
    campaigns: tuple[Campaign, ...] = ()
    access: Access = field(default_factory=Access)
    alerts: Alerts = field(default_factory=Alerts)
    path: Path = Path("feeds.yaml")
    retention: float | None = None  # seconds; articles older than this are pruned daily (None: kept for ever)
    busy_timeout: float = 5.0  # seconds a command waits for another process's write lock

    def source(self, source_id: str) -> Source | None:
        return next((s for s in self.sources if s.id == source_id), None)

    def campaign(self, campaign_id: str) -> Campaign | None:
        return next((c for c in self.campaigns if c.id == campaign_id), None)


def parse_duration(value: Any) -> float:
    """`30s`, `5m`, `6h`, `1d`, `250ms` or a bare number of seconds → seconds."""
    if isinstance(value, bool):
        raise ValueError("not a duration")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if not match:
            raise ValueError(f"not a duration (use e.g. 30s, 5m, 6h, 1d): {value!r}")
        seconds = float(match.group(1)) * _DURATION_UNITS[(match.group(2) or "s").lower()]
    if seconds <= 0:
        raise ValueError("must be greater than zero")
    return seconds


def parse_size(value: Any) -> int:
    """`512KB`, `10MB`, `1GB` or a bare number of bytes → bytes."""
    if isinstance(value, bool):
        raise ValueError("not a size")
    if isinstance(value, int):
        size = value
    else:
        match = _SIZE.match(str(value))
        if not match:
            raise ValueError(f"not a size (use e.g. 512KB, 10MB): {value!r}")
        size = int(float(match.group(1)) * _SIZE_UNITS[(match.group(2) or "b").lower()])
    if size <= 0:
        raise ValueError("must be greater than zero")
    return size


def is_http_url(url: Any) -> bool:
    """True for an absolute http(s) URL with a host."""
    if not isinstance(url, str):
        return False
    parts = urlsplit(url.strip())
    return parts.scheme in ("http", "https") and bool(parts.hostname)


class _Reader:
    """Walks the YAML tree and reports errors with `file: key.path: problem`."""

    def __init__(self, file: str) -> None:
        self.file = file

    def fail(self, path: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.file}: {path}: {problem}" if path else f"{self.file}: {problem}")

    def mapping(self, value: Any, path: str) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.fail(path, "must be a mapping")
        return value

    def text(self, value: Any, path: str, required: bool = True) -> str:
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                raise self.fail(path, "is required")
            return ""
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise self.fail(path, "must be text")
        return nfc(str(value).strip())

    def texts(self, value: Any, path: str) -> tuple[str, ...]:
        if value is None:
            return ()
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            raise self.fail(path, "must be a list")
        return tuple(self.text(v, f"{path}[{i}]") for i, v in enumerate(value))

    def ints(self, value: Any, path: str) -> tuple[int, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            raise self.fail(path, "must be a list of Telegram ids")
        out = []
        for i, v in enumerate(value):
            if isinstance(v, bool) or not isinstance(v, int | str) or not str(v).lstrip("-").isdigit():
                raise self.fail(f"{path}[{i}]", "must be a numeric Telegram id")
            out.append(int(v))
        return tuple(out)

    def convert(self, value: Any, path: str, func: Any) -> Any:
        try:
            return func(value)
        except (ValueError, TypeError) as err:
            raise self.fail(path, str(err)) from None

    def boolean(self, value: Any, path: str, default: bool) -> bool:
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.fail(path, "must be true or false")
        return value

    def unknown(self, data: dict[str, Any], allowed: set[str], path: str) -> None:
        extra = sorted(set(map(str, data)) - allowed)
        if extra:
            where = f"{path}.{extra[0]}" if path else extra[0]
            raise self.fail(where, f"unknown key (expected one of: {', '.join(sorted(allowed))})")


def _polling(r: _Reader, data: Any) -> Polling:
    d = r.mapping(data, "polling")
    base = Polling()
    durations = ("interval", "min_interval", "max_interval", "timeout", "parse_timeout")
    ints = ("concurrency", "per_host", "max_failures", "max_items")
    r.unknown(d, {*durations, *ints, "max_body", "allow_private_networks", "user_agent"}, "polling")
    values: dict[str, Any] = {}
    for key in durations:
        if key in d:
            values[key] = r.convert(d[key], f"polling.{key}", parse_duration)
    for key in ints:
        if key in d:
            values[key] = r.convert(d[key], f"polling.{key}", positive_int)
    if "max_body" in d:
        values["max_body"] = r.convert(d["max_body"], "polling.max_body", parse_size)
    values["allow_private_networks"] = r.boolean(
        d.get("allow_private_networks"), "polling.allow_private_networks", False
    )
    if d.get("user_agent"):
        values["user_agent"] = r.text(d["user_agent"], "polling.user_agent")
    polling = Polling(**{**{k: getattr(base, k) for k in base.__slots__}, **values})
    if polling.min_interval > polling.max_interval:
        raise r.fail("polling.min_interval", "is larger than polling.max_interval")
    return polling


def _source(r: _Reader, data: Any, path: str) -> Source:
    d = r.mapping(data, path)
    r.unknown(d, {"id", "name", "url", "urls", "tags", "interval", "active"}, path)
    source_id = r.text(d.get("id"), f"{path}.id")
    if not is_valid_id(source_id):
        raise r.fail(f"{path}.id", ID_RULE)
    if "url" in d and "urls" in d:
        raise r.fail(path, "give either url or urls, not both")
    key = "urls" if "urls" in d else "url"
    urls = r.texts(d.get(key), f"{path}.{key}")
    if not urls:
        raise r.fail(f"{path}.url", "is required")
    for i, url in enumerate(urls):
        if not is_http_url(url):
            where = f"{path}.urls[{i}]" if key == "urls" else f"{path}.url"
            raise r.fail(where, "not an http(s) URL")
    interval = r.convert(d["interval"], f"{path}.interval", parse_duration) if "interval" in d else None
    return Source(
        id=source_id,
        name=r.text(d.get("name"), f"{path}.name", required=False) or source_id,
        urls=urls,
        tags=r.texts(d.get("tags"), f"{path}.tags"),
        interval=interval,
        active=r.boolean(d.get("active"), f"{path}.active", True),
    )


_DATE = re.compile(r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})\s*$")


def _date(value: Any) -> date:
    """`YYYY-MM-DD` (YAML's own date form, single-digit month and day allowed) → a real date."""
    if isinstance(value, date) and not isinstance(value, datetime):  # a dict built in code
        return value
    match = _DATE.match(value) if isinstance(value, str) else None
    try:
        if match:
            return date(*map(int, match.groups()))
    except ValueError as err:  # 2024-02-30
        raise ValueError(f"not a date ({err}): {value!r}") from None
    raise ValueError(f"not a date (use YYYY-MM-DD): {value!r}")


def _campaign(r: _Reader, data: Any, path: str) -> Campaign:
    d = r.mapping(data, path)
    r.unknown(d, {"id", "name", "query", "since", "description"}, path)
    campaign_id = r.text(d.get("id"), f"{path}.id")
    if not is_valid_id(campaign_id):
        raise r.fail(f"{path}.id", ID_RULE)
    return Campaign(
        id=campaign_id,
        name=r.text(d.get("name"), f"{path}.name", required=False) or campaign_id,
        query=r.text(d.get("query"), f"{path}.query"),
        since=r.convert(d["since"], f"{path}.since", _date) if d.get("since") else None,
        description=r.text(d.get("description"), f"{path}.description", required=False),
    )


def _access(r: _Reader, data: Any) -> Access:
    d = r.mapping(data, "access")
    r.unknown(d, {"mode", "admins", "users", "chats", "request_cooldown"}, "access")
    mode = r.text(d.get("mode"), "access.mode", required=False) or "private"
    if mode not in ("private", "public"):
        raise r.fail("access.mode", "must be private or public")
    return Access(
        mode=mode,
        admins=r.ints(d.get("admins"), "access.admins"),
        users=r.ints(d.get("users"), "access.users"),
        chats=r.ints(d.get("chats"), "access.chats"),
        request_cooldown=r.convert(d.get("request_cooldown", "7d"), "access.request_cooldown", parse_duration),
    )


def _unique(r: _Reader, items: tuple[Any, ...], what: str) -> None:
    seen: set[str] = set()
    for i, item in enumerate(items):
        if item.id in seen:
            raise r.fail(f"{what}[{i}].id", f"duplicate id {item.id!r}")
        seen.add(item.id)


def config_from_dict(data: Any, file: str = "feeds.yaml", path: Path | None = None) -> Config:
    """Validate an already-loaded YAML document."""
    r = _Reader(file)
    if not isinstance(data, dict):
        raise r.fail("", "must be a YAML mapping with organization, polling, sources, campaigns, access, alerts")
    r.unknown(data, {*_SECTIONS, "retention", "busy_timeout"}, "")
    raw_sources = data.get("sources") or []
    raw_campaigns = data.get("campaigns") or []
    for key, value in (("sources", raw_sources), ("campaigns", raw_campaigns)):
        if not isinstance(value, list):
            raise r.fail(key, "must be a list")
    sources = tuple(_source(r, s, f"sources[{i}]") for i, s in enumerate(raw_sources))
    campaigns = tuple(_campaign(r, c, f"campaigns[{i}]") for i, c in enumerate(raw_campaigns))
    _unique(r, sources, "sources")
    _unique(r, campaigns, "campaigns")
    return Config(
        organization=read_organization(r, data.get("organization")),
        polling=_polling(r, data.get("polling")),
        sources=sources,
        campaigns=campaigns,
        access=_access(r, data.get("access")),
        alerts=read_alerts(r, data.get("alerts")),
        path=path or Path(file),
        **_storage(r, data),
    )


_SECTIONS = ("organization", "polling", "sources", "campaigns", "access", "alerts")


def _storage(r: _Reader, data: dict[str, Any]) -> dict[str, Any]:
    """The top-level `retention: 365d` (at least a day) and `busy_timeout: 5s` (at most 10 minutes)."""
    out: dict[str, Any] = {}
    if data.get("retention") is not None:
        out["retention"] = r.convert(data["retention"], "retention", parse_duration)
        if out["retention"] < 86400:
            raise r.fail("retention", "must be at least 1d (a shorter one would prune today's news)")
    if data.get("busy_timeout") is not None:
        out["busy_timeout"] = r.convert(data["busy_timeout"], "busy_timeout", parse_duration)
        if out["busy_timeout"] > 600:
            raise r.fail("busy_timeout", "must be at most 10m")
    return out


class _TextDatesLoader(yaml.SafeLoader):
    """SafeLoader that keeps dates as text: SafeLoader builds them while loading and raises a
    bare ValueError for an impossible one (`2024-02-30`), before the key path is known."""


def _timestamp_as_text(loader: _TextDatesLoader, node: yaml.Node) -> str:
    # A timestamp tag is only ever resolved for a scalar node; the stubs type it as any Node.
    return str(loader.construct_scalar(node))  # type: ignore[arg-type]


_TextDatesLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_as_text)


def load_config(path: str | Path) -> Config:
    """Read and validate feeds.yaml; raise ConfigError with one clear line on any problem."""
    path = Path(path)
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{name}: file not found (use --config or MEDIABOT_CONFIG)") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{name}: cannot read: {err}") from None
    try:
        data = yaml.load(text, Loader=_TextDatesLoader)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(err, "problem", None) or "invalid YAML"
        raise ConfigError(f"{name}: {where}{problem}") from None
    return config_from_dict(data, name, path)
