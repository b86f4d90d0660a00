"""Scheduled messages run by the digest task (bot.alerts.digest.run_digests): the daily press
review to the chats that subscribed to it, and the admins' weekly digest.

Each message is enqueued under a dedup key naming its chat and local date:

    diembao:<chat>:<YYYY-MM-DD>   yesterday's review, from alerts.press_review_time on
    weekly:<chat>:<YYYY-MM-DD>    the week ending the day before the digest's weekday and time

so it goes out once even across restarts (a missed time is caught up at start, the same day or
week) and clock changes (a key once enqueued stays). A day (a week) without articles sends nothing:
a new installation does not greet its admins with a week of zeros.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from bot.alerts.digest import MAX_SLEEP_S, seconds_until
from bot.alerts.outbox import enqueue_message
from bot.alerts.subscriptions import DIEMBAO, live_subscriptions, may_receive
from bot.config import Config
from bot.reports.press_review import PressReview, press_review
from bot.reports.weekly import WeeklyDigest, weekly_digest
from bot.store.db import transaction

PRESS_REVIEW, WEEKLY = "diembao", "weekly"  # outbox kinds and key prefixes


def key_taken(conn: sqlite3.Connection, dedup_key: str) -> bool:
    """Was a message with this dedup key enqueued already (whatever became of it)?"""
    return conn.execute("SELECT 1 FROM outbox WHERE dedup_key = ?", (dedup_key,)).fetchone() is not None


@dataclass(frozen=True)
class PressReviewJob:
    """Yesterday's review to every live `/subscribe diembao` chat, from press_review_time on."""

    render: Callable[[PressReview, str], list[str]]  # (review, language) → message parts

    def send_due(self, conn: sqlite3.Connection, config: Config, now: datetime) -> int:
        if now.strftime("%H:%M") < config.alerts.press_review_time:
            return 0
        day = now.date() - timedelta(days=1)
        rows = [r for r in live_subscriptions(conn) if r.kind == DIEMBAO]
        waiting = [r for r in rows if not key_taken(conn, f"{PRESS_REVIEW}:{r.chat_id}:{day.isoformat()}")]
        if not waiting:
            return 0
        review = press_review(conn, config, day)
        if not review.total:
            return 0
        sent = 0
        for row in waiting:
            if not may_receive(conn, config, row):
                continue
            parts = self.render(review, row.language or config.organization.language)
            with transaction(conn):
                key = f"{PRESS_REVIEW}:{row.chat_id}:{day.isoformat()}"
                sent += enqueue_message(conn, row.chat_id, row.thread_id, PRESS_REVIEW, parts, key)
        return sent

    def seconds_until_next(self, config: Config, now: datetime) -> float:
        return seconds_until(config.alerts.press_review_time, now)


def last_weekly(config: Config, now: datetime) -> datetime:
    """The latest weekly digest moment at or before `now` (local)."""
    weekday, clock = config.alerts.weekly_digest
    hour, minute = map(int, clock.split(":"))
    day = now.date() - timedelta(days=(now.weekday() - weekday) % 7)
    moment = datetime.combine(day, time(hour, minute), tzinfo=now.tzinfo)
    return moment if moment <= now else moment - timedelta(days=7)


@dataclass(frozen=True)
class WeeklyDigestJob:
    """The week's numbers to every admin's private chat, on alerts.weekly_digest's weekday and time."""

    render: Callable[[WeeklyDigest, str], list[str]]

    def send_due(self, conn: sqlite3.Connection, config: Config, now: datetime) -> int:
        sent_on = last_weekly(config, now).date()
        waiting = [a for a in config.access.admins if not key_taken(conn, _weekly_key(a, sent_on))]
        if not waiting:
            return 0
        digest = weekly_digest(conn, config, sent_on - timedelta(days=1))
        if digest.empty:
            return 0
        parts = self.render(digest, config.organization.language)
        return _enqueue_each(conn, waiting, WEEKLY, parts, lambda chat: _weekly_key(chat, sent_on))

    def seconds_until_next(self, config: Config, now: datetime) -> float:
        upcoming = last_weekly(config, now) + timedelta(days=7)
        return min(MAX_SLEEP_S, max(0.0, (upcoming - now).total_seconds()))


def _weekly_key(chat_id: int, day: date) -> str:
    return f"{WEEKLY}:{chat_id}:{day.isoformat()}"


def _enqueue_each(
    conn: sqlite3.Connection, chats: Sequence[int], kind: str, parts: list[str], key: Callable[[int], str]
) -> int:
    """The same message to several private chats, one transaction, once per key."""
    with transaction(conn):
        return sum(enqueue_message(conn, chat, None, kind, parts, key(chat)) for chat in chats)
