"""Admin actions from chat: preview and add a feed, remove/pause/resume an outlet, reload feeds.yaml.

Every action leaves an audit row. Failures a person can act on are `AdminError`s whose
`code` picks the message in the handler's catalogue and whose `detail` says what exactly:

    not_url          the text is not an http(s) URL
    private_address  the host resolves to a private/loopback address (refused)
    fetch_failed     the feed could not be downloaded (detail: the reason)
    not_a_feed       the answer is not RSS/Atom/RDF (detail: the reason)
    exists           an active outlet already polls this URL (detail: its id)
    id_taken         the id belongs to another outlet (or a removed one's history)
    bad_id           the id is not lowercase letters, digits, '-', '_' or '.'
    config_error     feeds.yaml is invalid (detail: the one-line message)
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.config import Config, Source, is_http_url, load_config
from bot.errors import BlockedAddress, ConfigError, FetchError, MediabotError, ParseError
from bot.ids import is_valid_id
from bot.ingest.normalize import clean_text
from bot.ingest.parse import parse_feed
from bot.models import FetchResult, ParsedFeed
from bot.runtime import Runtime
from bot.saved_queries.retag import RetagReport
from bot.services.sources import MAX_NAME, choose_source_id, clean_name
from bot.store import queries
from bot.textnorm import nfc

SAMPLE_TITLES = 3


class AdminError(MediabotError):
    """An admin action that cannot be done; `code` names the reason, `detail` the specifics."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class FeedPreview:
    """What an admin sees before confirming /addsource."""

    url: str
    title: str
    items: int
    source_id: str
    sample_titles: tuple[str, ...]


@dataclass(frozen=True)
class Reloaded:
    """The configuration /reload adopted and what re-tagging its campaigns changed."""

    config: Config
    retag: RetagReport


class AdminService:
    """Changes to what is monitored, each one audited."""

    def __init__(self, runtime: Runtime, *, clock: Callable[[], datetime] | None = None) -> None:
        self.runtime = runtime
        self._clock = clock or (lambda: datetime.now(UTC))

    async def preview_feed(self, url: str) -> FeedPreview:
        """Fetch and read a feed URL without storing anything; AdminError on any problem."""
        url = _clean_url(url)
        if not is_http_url(url):
            raise AdminError("not_url", url[:200])
        await self._refuse_known(url)
        result = await self._fetch(url)
        final_url = result.permanent_url or url
        if final_url != url:
            await self._refuse_known(final_url)
        try:
            feed = await asyncio.to_thread(parse_feed, result.body, result.url, result.content_type)
        except ParseError as err:
            raise AdminError("not_a_feed", str(err)) from None
        return await self._preview(final_url, feed)

    async def add_source(self, actor_id: int, preview: FeedPreview, *, name: str | None = None) -> str:
        """Store the previewed feed as a chat-added outlet, due for polling now; returns its id."""
        if not is_valid_id(preview.source_id):
            raise AdminError("bad_id", preview.source_id)
        title = clean_text(nfc(name or ""))[:MAX_NAME] or preview.title
        source = Source(id=preview.source_id, name=title, urls=(preview.url,))
        outcome = await self.runtime.write(queries.add_chat_source, source, actor_id, self._clock())
        if outcome == "exists":
            raise AdminError("exists", preview.url)
        if outcome == "id_taken":
            raise AdminError("id_taken", preview.source_id)
        self._wake_poller()
        return source.id

    async def remove_source(self, actor_id: int, source_id: str) -> bool:
        """Stop monitoring an outlet (its articles stay); False if no active outlet has that id."""
        return await self.runtime.write(queries.remove_chat_source, source_id, actor_id, self._clock())

    async def pause(self, actor_id: int, source_id: str) -> bool:
        """Pause polling an outlet; False if no active outlet has that id."""
        return await self.runtime.write(queries.pause_source, source_id, True, actor_id, self._clock())

    async def resume(self, actor_id: int, source_id: str) -> bool:
        """Resume a paused outlet (and retry its deactivated feeds) at once; False if unknown."""
        resumed = await self.runtime.write(queries.pause_source, source_id, False, actor_id, self._clock())
        if resumed:
            self._wake_poller()
        return resumed

    def _wake_poller(self) -> None:
        if self.runtime.poller is not None:
            self.runtime.poller.wake()

    async def reload(self, actor_id: int) -> Reloaded:
        """Re-read feeds.yaml and adopt it, re-tagging changed campaigns; AdminError('config_error')
        keeps the running config."""
        path = self.runtime.config.path
        try:
            config = await asyncio.to_thread(load_config, path)
            retag = await self.runtime.reload(config)
        except ConfigError as err:
            await self.audit(actor_id, "config.reload", str(path), f"failed: {err}")
            raise AdminError("config_error", str(err)) from None
        summary = f"{len(config.sources)} sources, {len(config.campaigns)} campaigns"
        if retag.summary():
            summary += f"; {retag.summary()}"
        await self.audit(actor_id, "config.reload", str(path), summary)
        return Reloaded(config, retag)

    async def audit(self, actor_id: int, action: str, target: str | None = None, detail: str | None = None) -> None:
        """Record an admin action."""
        await self.runtime.write(queries.audit, actor_id, action, target, detail, self._clock())

    async def _refuse_known(self, url: str) -> None:
        owner = await self.runtime.read(lambda rt: queries.source_with_url(rt.reader(), url))
        if owner is not None:
            raise AdminError("exists", owner)

    async def _fetch(self, url: str) -> FetchResult:
        fetcher = self.runtime.fetcher
        assert fetcher is not None, "Runtime.start() was not called"
        try:
            # The fetcher's guard checks (and pins) the address of every hop, redirects included.
            return await fetcher.fetch(url)
        except BlockedAddress as err:
            raise AdminError("private_address", str(err)) from None
        except FetchError as err:
            raise AdminError("fetch_failed", str(err)) from None

    async def _preview(self, url: str, feed: ParsedFeed) -> FeedPreview:
        title = clean_name(feed.title, url)
        titles = (clean_text(entry.title) for entry in feed.entries)
        samples = tuple(t for t in titles if t)[:SAMPLE_TITLES]

        def pick_id(rt: Runtime) -> str:
            adder = queries.SourceAdder(rt.reader())
            return choose_source_id(adder.owner(url), title, url, adder.taken)

        source_id = await self.runtime.read(pick_id)
        return FeedPreview(url, title, len(feed.entries), source_id, samples)


def _clean_url(text: str) -> str:
    # People paste URLs wrapped in <…> or followed by punctuation from a sentence.
    return nfc(text or "").strip().strip("<>\"'").rstrip(".,;)")
