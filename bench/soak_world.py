"""The soak's simulated world: 200 outlets publishing Vietnamese items, and 100 people writing to the bot.

Used by bench/soak.py; the items are made from the real feed samples in tests/data/feeds.
"""

from __future__ import annotations

import heapq
import random
import re
import threading
import time
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from xml.sax.saxutils import escape

import feedparser

from bot.textnorm import fold_vietnamese
from tests.corpus import CORPUS
from tests.fakes.feed_server import FeedServer
from tests.fakes.telegram import FakeTelegram, FakeUser

ITEMS_KEPT = 20
_TAGS = re.compile(r"<[^>]+>")
# A topic is a phrase a user follows; the real samples are filtered so that no other item says it.
TOPICS = [
    "cầu Mỹ Thuận",
    "lúa chất lượng cao",
    "sạt lở bờ sông Tiền",
    "cao tốc Cao Lãnh",
    "xoài cát Hòa Lộc",
    "sen Tháp Mười",
    "đường bộ ven biển",
    "nước sạch nông thôn",
    "học bổng Vừ A Dính",
    "chợ nổi Cái Răng",
    "bệnh tay chân miệng",
    "hạn mặn Đồng bằng",
    "vườn quốc gia Tràm Chim",
    "làng hoa Sa Đéc",
    "cá tra xuất khẩu",
    "điện mặt trời mái nhà",
    "hợp tác xã kiểu mới",
    "bảo hiểm y tế học sinh",
    "đề án một triệu héc ta",
    "du lịch sinh thái Gáo Giồng",
]
NEVER = ["tàu ngầm hạt nhân", "băng tan Bắc Cực", "núi lửa phun trào", "động đất Nhật Bản", "vệ tinh sao Hỏa"]
QUESTIONS = [
    "có bài nào về chuyển đổi số tuần này không?",
    "tin mới về giáo dục hôm nay",
    "giá lúa gạo mấy ngày qua",
    "bão lũ miền Trung",
    "chuyen doi so",
    "Đồng Tháp có gì mới?",
    "dịch vụ công trực tuyến",
]
ACTIONS = [  # (weight, what a user does)
    (40, "question"),
    (25, "/search"),
    (5, "/campaign chuyen-doi-so"),
    (10, "/subscriptions"),
    (10, "/latest"),
    (5, "/subscribe"),
    (5, "/help"),
]


def corpus_texts() -> list[tuple[str, str]]:
    """(title, summary) of the Vietnamese samples, NFC, none saying a topic or a never-topic."""
    banned = [fold_vietnamese(t).lower() for t in TOPICS + NEVER]
    texts = []
    for path in sorted(CORPUS.glob("*.rss")):
        for entry in feedparser.parse(path.read_bytes()).entries:
            title = unicodedata.normalize("NFC", " ".join(_TAGS.sub(" ", entry.get("title", "")).split()))
            summary = unicodedata.normalize("NFC", " ".join(_TAGS.sub(" ", entry.get("summary", "")).split()))
            if title and not any(b in fold_vietnamese(f"{title} {summary}").lower() for b in banned):
                texts.append((title[:200], summary[:400]))
    return [t for t in texts if any(ch in t[0] for ch in "ăâđêôơưạảấầẩậắằẳặẹẻẽếềểễệịọỏốồổộớờởợụủứừửữựỳỵỷỹ")]


@dataclass
class Press:
    """200 outlets whose feeds gain an item every few seconds; remembers when each item appeared."""

    server: FeedServer
    feeds: int
    change_every: float
    topic_share: float
    texts: list[tuple[str, str]]
    rng: random.Random = field(default_factory=lambda: random.Random(7))
    items: dict[int, list[tuple[int, str, str, datetime]]] = field(default_factory=dict)
    appeared: dict[int, float] = field(default_factory=dict)  # serial → monotonic time it was served
    topic_of: dict[int, int] = field(default_factory=dict)  # serial → topic index (owed alerts)
    serial: int = 0

    def path(self, n: int) -> str:
        return f"/soak/{n}.rss"

    def start_feeds(self) -> None:
        """Each feed with a backlog of ten items from the last hours (no topics)."""
        now = datetime.now(UTC)
        for n in range(self.feeds):
            self.items[n] = []
            for age in range(10, 0, -1):
                self._add_item(n, now - timedelta(minutes=20 * age), None)
            self._serve(n)

    def publish(self, n: int) -> None:
        """Feed `n` gains one item (a topic one with probability `topic_share`)."""
        topic = self.rng.randrange(len(TOPICS)) if self.rng.random() < self.topic_share else None
        serial = self._add_item(n, datetime.now(UTC) - timedelta(seconds=5), topic)
        self._serve(n)
        self.appeared[serial] = time.monotonic()
        if topic is not None:
            self.topic_of[serial] = topic

    def _add_item(self, n: int, published: datetime, topic: int | None) -> int:
        self.serial += 1
        title, summary = self.rng.choice(self.texts)
        if topic is not None:
            title = f"{title}: {TOPICS[topic]}"
        # The serial keeps every title and the start of every summary (the story key reads the start)
        # unique, so no two items cluster into one story (a second one would be an "also in" edit).
        self.items[n].insert(
            0, (self.serial, f"{title} (tin {self.serial})", f"Mã tin {self.serial}. {summary}", published)
        )
        del self.items[n][ITEMS_KEPT:]
        return self.serial

    def _serve(self, n: int) -> None:
        out = [
            f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Báo số {n}</title>'
            f"<link>https://bao{n}.example.vn/</link><description>Tin tức tỉnh nhà</description>"
        ]
        for serial, title, summary, published in self.items[n]:
            link = f"https://bao{n}.example.vn/tin-{serial}.html"
            out.append(
                f"<item><title>{escape(title)}</title><link>{link}</link><guid>{link}</guid>"
                f"<pubDate>{format_datetime(published)}</pubDate><description>{escape(summary)}</description></item>"
            )
        out.append("</channel></rss>")
        body = "".join(out).encode("utf-8")
        self.server.add(self.path(n), body, etag=f'"{self.items[n][0][0]}"')

    def run(self, stop: threading.Event) -> None:
        """Publish until `stop`: each feed on its own random rhythm averaging `change_every` seconds."""
        due = [(time.monotonic() + self.rng.expovariate(1 / self.change_every), n) for n in range(self.feeds)]
        heapq.heapify(due)
        while not stop.is_set():
            at, n = due[0]
            if stop.wait(max(0.0, at - time.monotonic())):
                return
            self.publish(n)
            heapq.heapreplace(due, (time.monotonic() + self.rng.expovariate(1 / self.change_every), n))


def chat(srv: FakeTelegram, users: list[FakeUser], every: float, stop: threading.Event) -> int:
    """Users act at random moments (one action per user every `every` seconds on average)."""
    rng = random.Random(11)
    weights, kinds = zip(*ACTIONS, strict=True)
    due = [(time.monotonic() + rng.uniform(0, every), i) for i in range(len(users))]
    heapq.heapify(due)
    sent = 0
    while not stop.is_set():
        at, i = due[0]
        if stop.wait(max(0.0, at - time.monotonic())):
            break
        text = action_text(rng.choices(kinds, weights)[0], rng)
        srv.send_text(users[i], text)
        sent += 1
        heapq.heapreplace(due, (time.monotonic() + rng.expovariate(1 / every), i))
    return sent


def action_text(kind: str, rng: random.Random) -> str:
    """What a user writes for an action."""
    if kind == "question":
        return rng.choice(QUESTIONS)
    if kind == "/search":
        return f"/search {rng.choice(['chuyển đổi số', 'giáo dục', 'y tế', 'giao thông', 'lúa'])}"
    if kind == "/subscribe":  # a topic no item ever says: the registry changes, the owed alerts do not
        return f'/subscribe "{rng.choice(NEVER)}"'
    return kind
