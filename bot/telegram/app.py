"""`mediabot run`: one process with the Telegram application, the feed poller and their resources.

Resources have one owner: the Runtime is started in `post_init` and closed in
`post_shutdown`; the poller runs as a background task between the two. PTB's
`run_polling`/`run_webhook` handle SIGINT/SIGTERM and call both hooks.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from telegram import LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.ext import (
    Application,
    ApplicationBuilder,
    BaseUpdateProcessor,
    ContextTypes,
    Defaults,
)

from bot.alerts.delivery import Delivery, DeliveryOptions
from bot.alerts.department_news import compile_organization
from bot.alerts.digest import run_digests
from bot.alerts.pacing import Pacer
from bot.alerts.scheduled import PressReviewJob, WeeklyDigestJob
from bot.alerts.service import SubscriptionService
from bot.alerts.spikes import SpikeJob
from bot.config import Config
from bot.logsetup import ensure_redacted, report_error, secrets_of
from bot.runtime import Runtime
from bot.saved_queries.campaigns import compile_campaigns
from bot.saved_queries.saved_query import SUBSCRIPTION
from bot.services.access import AccessService
from bot.services.admin import AdminService
from bot.services.archive import ArchiveService
from bot.services.operations import run_retention
from bot.services.press_review import PressReviewService
from bot.services.reports import ReportService
from bot.settings import Settings
from bot.telegram.alerts import AlertRenderer
from bot.telegram.context import BotContext, Services, install_services
from bot.telegram.handlers import register_handlers, set_bot_commands
from bot.telegram.handlers.press_review import render_press_review, render_spike, render_weekly
from bot.telegram.handlers.subscriptions import render_digest
from bot.telegram.limiter import SharedRateLimiter
from bot.telegram.reachability import Reachability, WatchedRequest
from bot.telegram.sender import BotTransport
from bot.telegram.startup import REVOKED, TokenWatch, check_token

log = logging.getLogger(__name__)
BotApplication = Application[Any, BotContext, Any, Any, Any, Any]
SHUTDOWN_GRACE_S = 1.5  # how long the poller may take to finish its cycle before it is cancelled
# How long a send on its way may take to be answered and marked at shutdown; cut off, it is
# sent again after the restart (one duplicate, as after a crash).
DELIVERY_GRACE_S = 5.0


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Updates of different chats run concurrently; one chat's updates run in order.

    Fifty people asking at once must not queue behind each other, but `/lang en`
    followed by a question must be answered in English.
    """

    def __init__(self, max_concurrent_updates: int = 64) -> None:
        super().__init__(max_concurrent_updates)
        self._chats: dict[int, _ChatQueue] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = _chat_key(update)
        queue = self._chats.setdefault(key, _ChatQueue())
        queue.waiting += 1
        try:
            async with queue.lock:
                await coroutine
        finally:
            queue.waiting -= 1
            if not queue.waiting:  # forget idle chats, but never a lock someone still waits on
                self._chats.pop(key, None)

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""


@dataclass
class _ChatQueue:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    waiting: int = 0


def _chat_key(update: object) -> int:
    if isinstance(update, Update):
        if update.effective_chat:
            return update.effective_chat.id
        if update.effective_user:
            return update.effective_user.id
    return 0


@dataclass
class _Lifecycle:
    """What post_init starts and post_shutdown stops."""

    settings: Settings
    config: Config
    poll_feeds: bool = True
    owns_loop: bool = False  # only then may leftover tasks be cancelled at shutdown
    clock: Callable[[], datetime] | None = None  # "now" for questions (benchmarks on a frozen archive)
    pacer: Pacer = field(default_factory=Pacer)  # shared by the replies' rate limiter and delivery
    reachability: Reachability = field(default_factory=Reachability)  # an outage is logged once, by any call
    runtime: Runtime | None = None
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    poll_task: asyncio.Task[None] | None = None
    digest_task: asyncio.Task[None] | None = None
    delivery_task: asyncio.Task[None] | None = None
    retention_task: asyncio.Task[None] | None = None
    # Delivery's reads (bench/soak.py: 4 writer waits per alert made bursts of alerts late).
    delivery_reader: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=1, thread_name_prefix="outbox-reader")
    )

    async def start(self, application: BotApplication) -> None:
        """Open the database, build the services, announce commands, start polling feeds."""
        self.runtime = Runtime(self.config, self.settings.db_path, patient=True)
        await self.runtime.start()
        services = Services(
            runtime=self.runtime,
            archive=ArchiveService(self.runtime),
            admin=AdminService(self.runtime),
            access=AccessService(self.runtime),
            subscriptions=SubscriptionService(self.runtime),
            reports=ReportService(self.runtime, clock=self.clock),
            press_review=PressReviewService(self.runtime, clock=self.clock),
        )
        install_services(application, services)
        await set_bot_commands(application.bot, self.config.organization.language, self.config.access.admins)
        if self.poll_feeds and self.runtime.poller:
            self.poll_task = asyncio.create_task(self.runtime.poller.run(self.stop), name="feed-poller")
            self.poll_task.add_done_callback(_report_task_end)
        self._start_delivery(application, services.subscriptions)
        self.digest_task = asyncio.create_task(self._digests(), name="daily-digests")
        runtime = self.runtime
        self.retention_task = asyncio.create_task(
            run_retention(runtime.write, lambda: runtime.config, self.stop), name="retention"
        )
        log.info("mediabot is running as @%s", application.bot.username)
        self.reachability.watching = True
        if self.config.access.mode == "private" and not self.config.access.admins:
            # Otherwise a new install refuses everyone and nobody can approve them.
            log.warning(
                "access.mode is private and access.admins is empty: every user will be refused. "
                "Write to the bot once, then put the user id it shows you into access.admins in %s",
                self.config.path,
            )

    async def _digests(self) -> None:
        assert self.runtime is not None
        tz = self.config.organization.tz
        jobs = (PressReviewJob(render_press_review), WeeklyDigestJob(render_weekly), SpikeJob(render_spike))
        await run_digests(self.runtime, functools.partial(render_digest, tz=tz), self.stop, self.clock, jobs)

    def _start_delivery(self, application: BotApplication, subscriptions: SubscriptionService) -> None:
        """The outbox sender, woken by the runtime after each store transaction."""
        runtime = self.runtime
        assert runtime
        organization = self.config.organization
        delivery = Delivery(
            runtime.write,
            BotTransport(application.bot),
            AlertRenderer(organization.tz, organization.language),
            self.pacer,
            admins=lambda: runtime.config.access.admins,
            match_for=lambda sub_id: _match_of(runtime, sub_id),
            may_receive=subscriptions.may_receive,
            migrate=subscriptions.chat_migrated,
            wake=runtime.outbox_wake,
            options=DeliveryOptions(max_in_flight=self.config.alerts.max_in_flight),
            read=functools.partial(_read_with, runtime, self.delivery_reader),
        )
        self.delivery_task = asyncio.create_task(delivery.run(self.stop), name="outbox-sender")
        self.delivery_task.add_done_callback(_report_task_end)

    async def close(self, _application: BotApplication | None = None) -> None:
        """Stop the poller, the digests and the sender between transactions, then close the runtime."""
        self.stop.set()
        for task in (self.digest_task, self.retention_task):
            if task:
                await asyncio.wait({task}, timeout=SHUTDOWN_GRACE_S)
        if self.delivery_task:
            _done, pending = await asyncio.wait({self.delivery_task}, timeout=DELIVERY_GRACE_S)
            for task in pending:
                task.cancel()
        # A read in progress ends before the runtime closes its connection.
        self.delivery_reader.shutdown(wait=True, cancel_futures=True)
        if self.poll_task:
            done, _ = await asyncio.wait({self.poll_task}, timeout=SHUTDOWN_GRACE_S)
            if not done:  # a slow fetch must not hold the shutdown: cancel it (writes finish on their thread)
                self.poll_task.cancel()
            if self.owns_loop:
                await _cancel_stray_tasks()
        if self.runtime:
            await self.runtime.aclose()
            self.runtime = None


def _report_task_end(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception():
        log.error("%s stopped on an error", task.get_name(), exc_info=task.exception())


async def _read_with(runtime: Runtime, thread: ThreadPoolExecutor, func: Callable[..., Any], *args: Any) -> Any:
    """Run `func(conn, *args)` on delivery's own reader thread and connection: off the writer's
    queue (store transactions) and off the threads that answer chat questions."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(thread, lambda: func(runtime.reader(), *args))


def _match_of(runtime: Runtime, subscription_id: int) -> str | None:
    """A subscription's compiled FTS MATCH string (marks the alert's snippet), None if not active."""
    saved = runtime.registry.find(SUBSCRIPTION, str(subscription_id))
    return saved.plan.match if saved else None


async def _cancel_stray_tasks() -> None:
    """Cancel what the poller left behind (per-feed fetches); PTB's own tasks are finished by now."""
    current = asyncio.current_task()
    stray = [t for t in asyncio.all_tasks() if t is not current and not t.done()]
    for task in stray:
        task.cancel()
    if stray:
        await asyncio.wait(stray, timeout=SHUTDOWN_GRACE_S)


def build_application(
    settings: Settings,
    config: Config,
    *,
    poll_feeds: bool = True,
    owns_loop: bool = False,
    clock: Callable[[], datetime] | None = None,
    pacer: Pacer | None = None,
    token_watch: TokenWatch | None = None,
) -> BotApplication:
    """The PTB Application with every handler registered; resources start in post_init.

    `pacer`: Telegram's flood limits by default; a suite that sends thousands of updates to a
    fake Bot API passes a faster one (at 30/s, 10,000 replies would take six minutes).
    `token_watch` hears of every 401 (a revoked token).
    """
    lifecycle = _Lifecycle(settings, config, poll_feeds, owns_loop, clock)
    if pacer is not None:
        lifecycle.pacer = pacer
    # One budget for replies and alerts (bot.alerts.pacing): Telegram counts them together.
    application = (
        ApplicationBuilder()
        .token(settings.token or "")
        .request(WatchedRequest(lifecycle.reachability, connection_pool_size=256))  # PTB's pool sizes
        .get_updates_request(WatchedRequest(lifecycle.reachability, connection_pool_size=1))
        .base_url(f"{settings.api_url}/bot")
        .base_file_url(f"{settings.api_url}/file/bot")
        .context_types(ContextTypes(context=BotContext))
        .defaults(Defaults(parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True)))
        .rate_limiter(SharedRateLimiter(lifecycle.pacer, on_unauthorized=token_watch.rejected if token_watch else None))
        .concurrent_updates(PerChatUpdateProcessor())
        .post_init(lifecycle.start)
        .post_shutdown(lifecycle.close)
        .build()
    )
    register_handlers(application)
    return application


@contextlib.asynccontextmanager
async def running(application: BotApplication) -> AsyncIterator[BotApplication]:
    """Run `application` (long polling) inside an existing event loop, for tests and benchmarks."""
    await application.initialize()
    try:
        assert application.post_init and application.updater
        await application.post_init(application)
        await application.updater.start_polling(poll_interval=0.0, timeout=1)
        await application.start()
        yield application
    finally:
        if application.updater and application.updater.running:
            await application.updater.stop()
        if application.running:
            await application.stop()
        await application.shutdown()
        if application.post_shutdown:
            await application.post_shutdown(application)


def run_bot(settings: Settings, config: Config) -> int:
    """Run the bot until SIGINT/SIGTERM; return the process exit code."""
    compile_campaigns(config)  # ConfigError (exit 2) as in check-config, before Telegram is contacted
    compile_organization(config)
    settings.check_for_run()  # ConfigError (exit 2): no token, a malformed one, a URL that is not http(s)
    settings = _authenticated(settings)
    redactor = ensure_redacted(secrets_of(settings), settings.log_level, settings.log_format)
    watch = TokenWatch()
    application = build_application(settings, config, owns_loop=True, token_watch=watch)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)  # run_polling below picks this loop up
    code = check_token(loop, application, settings, redactor)
    if code is not None:
        loop.close()
        return code
    watch.watch(application)
    try:
        _serve(application, settings)
    except Exception as err:  # one clear line, never a traceback with secrets in it
        watch.finish(loop)
        if not watch.revoked:
            report_error(redactor.redact(f"error: mediabot stopped: {type(err).__name__}: {err}"))
            log.debug("mediabot stopped", exc_info=True)
            return 1
    finally:
        loop.close()
    if watch.revoked:
        report_error(REVOKED)
        return 2
    return 0


def _authenticated(settings: Settings) -> Settings:
    """A webhook listener never runs unauthenticated: without a configured secret, make one."""
    if not settings.webhook_url or settings.webhook_secret:
        return settings
    log.info("MEDIABOT_WEBHOOK_SECRET is not set: this run registers a new random secret with setWebhook")
    return settings.with_webhook_secret()


def _serve(application: BotApplication, settings: Settings) -> None:
    if not settings.webhook_url:
        application.run_polling(allowed_updates=Update.ALL_TYPES, close_loop=False)
        return
    path = urlsplit(settings.webhook_url).path.strip("/")
    application.run_webhook(
        listen=settings.webhook_listen,
        port=settings.webhook_port,
        url_path=path,
        webhook_url=settings.webhook_url,
        # PTB answers 403 to a POST without this value in X-Telegram-Bot-Api-Secret-Token.
        secret_token=settings.webhook_secret,
        allowed_updates=Update.ALL_TYPES,
        close_loop=False,  # run_bot closes it, after finishing what a failed stop skipped
    )
