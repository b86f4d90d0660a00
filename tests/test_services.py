"""Services on a real Runtime: archive questions over a real SQLite archive, admin actions against
a real feed server on 127.0.0.1."""

from __future__ import annotations

import unicodedata
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.config import config_from_dict
from bot.errors import QueryError
from bot.ids import suggest_source_id
from bot.models import Article
from bot.runtime import Runtime
from bot.services.access import AccessService
from bot.services.admin import AdminError, AdminService, FeedPreview
from bot.services.archive import (
    ArchiveService,
    PageRequest,
    UnknownOutlet,
    resolve_outlet,
)
from bot.store import access as access_store
from bot.store.articles import store_articles
from bot.store.queries import OutletRow
from bot.store.sources import due_feeds, source_statuses
from tests.conftest import rss as conftest_rss
from tests.corpus import CORPUS
from tests.fakes.feed_server import FeedServer

ADMIN = 4242
ORG = {"name": "UBND tỉnh Đồng Tháp", "aliases": ["Đồng Tháp", "Tỉnh ủy Đồng Tháp"]}


def rss(title: str, items: list[str], *, base: str = "https://baodongthap.example.vn") -> bytes:
    """A small Vietnamese RSS 2.0 feed with the given item titles, newest first."""
    now = datetime.now(UTC)
    dated = [(item, f"Nội dung bài {i}: {item}", now - timedelta(hours=i + 1)) for i, item in enumerate(items)]
    return conftest_rss(title, dated, site=base)


FEED_ITEMS = ["Đồng Tháp khởi công cầu Cao Lãnh 2", "Sen Tháp Mười vào mùa", "Lúa Đông Xuân được mùa"]


def make_config(tmp_path: Path, *, allow_private: bool, **extra: Any) -> Any:
    data = {
        "organization": ORG,
        "polling": {"allow_private_networks": allow_private, "timeout": "5s"},
        "access": {"admins": [ADMIN]},
        **extra,
    }
    path = tmp_path / "feeds.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return config_from_dict(data, str(path), path)


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as srv:
        yield srv


async def _start(config: Any, tmp_path: Path) -> Runtime:
    runtime = Runtime(config, tmp_path / "db.sqlite", parser_workers=0)
    await runtime.start()
    return runtime


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[Runtime]:
    rt = await _start(make_config(tmp_path, allow_private=True), tmp_path)
    yield rt
    await rt.aclose()


@pytest.fixture
def admin(runtime: Runtime) -> AdminService:
    return AdminService(runtime)


async def _audit(runtime: Runtime) -> list[tuple[int | None, str, str | None, str | None]]:
    rows = await runtime.read(lambda rt: access_store.recent_audit(rt.reader()))
    return [(r.actor_id, r.action, r.target, r.detail) for r in reversed(rows)]


async def _statuses(runtime: Runtime) -> dict[str, Any]:
    return {s.id: s for s in await runtime.read(lambda rt: source_statuses(rt.reader(), True))}


# ---------------------------------------------------------------- admin: preview


async def test_preview_reads_a_vietnamese_feed(admin: AdminService, server: FeedServer) -> None:
    url = server.add("/dong-thap.rss", rss("Báo Đồng Tháp - Thời sự", FEED_ITEMS))
    preview = await admin.preview_feed(f"  {url}  ")
    assert preview == FeedPreview(url, "Báo Đồng Tháp - Thời sự", 3, "bao-dong-thap-thoi-su", tuple(FEED_ITEMS))


async def test_preview_of_a_real_outlet_feed(admin: AdminService, server: FeedServer) -> None:
    url = server.add("/dantri.rss", (CORPUS / "dantri.rss").read_bytes())
    preview = await admin.preview_feed(url)
    assert preview.title == "Tin kinh doanh: Thị trường, tài chính, kinh tế, doanh nghiệp"
    assert preview.items == 2
    assert preview.sample_titles[1] == "Muốn Go Global, nhà máy tại Bắc Ninh phải làm gì?"
    assert preview.source_id == "tin-kinh-doanh-thi-truong-tai-chinh-kinh"


async def test_preview_makes_decomposed_titles_nfc(admin: AdminService, server: FeedServer) -> None:
    nfd = unicodedata.normalize("NFD", "Thủy điện Đắk Lắk xả lũ")
    url = server.add("/nfd.rss", rss("Tin miền Trung", [nfd]))
    preview = await admin.preview_feed(url)
    assert preview.sample_titles == (unicodedata.normalize("NFC", nfd),)
    assert preview.sample_titles[0] != nfd


@pytest.mark.parametrize("text", ["không phải link", "ftp://example.vn/feed.rss", "", "http://", "javascript:alert(1)"])
async def test_preview_refuses_what_is_not_a_url(admin: AdminService, text: str) -> None:
    with pytest.raises(AdminError) as info:
        await admin.preview_feed(text)
    assert info.value.code == "not_url"


async def test_preview_refuses_private_addresses_by_default(tmp_path: Path, server: FeedServer) -> None:
    url = server.add("/noi-bo.rss", rss("Mạng nội bộ", FEED_ITEMS))
    rt = await _start(make_config(tmp_path, allow_private=False), tmp_path)
    try:
        with pytest.raises(AdminError) as info:
            await AdminService(rt).preview_feed(url)
        assert info.value.code == "private_address"
        assert "127.0.0.1" in info.value.detail
        assert server.hits("/noi-bo.rss") == 0  # refused before any request left
    finally:
        await rt.aclose()


async def test_preview_reports_html_as_not_a_feed(admin: AdminService, server: FeedServer) -> None:
    with pytest.raises(AdminError) as info:
        await admin.preview_feed(server.url("/html"))
    assert info.value.code == "not_a_feed"
    assert "HTML" in info.value.detail


async def test_preview_reports_http_errors(admin: AdminService, server: FeedServer) -> None:
    with pytest.raises(AdminError) as info:
        await admin.preview_feed(server.url("/status/404"))
    assert (info.value.code, info.value.detail) == ("fetch_failed", "HTTP 404 Not Found")


async def test_preview_follows_a_permanent_redirect(admin: AdminService, server: FeedServer) -> None:
    preview = await admin.preview_feed(server.url("/redirect/301"))
    assert preview.url == server.url("/redirect/")
    assert preview.items > 0


@pytest.mark.parametrize(
    ("title", "host", "taken", "expected"),
    [
        ("Báo Đồng Tháp", "baodongthap.vn", set(), "bao-dong-thap"),
        ("Báo Đồng Tháp", "baodongthap.vn", {"bao-dong-thap"}, "bao-dong-thap-2"),
        ("Báo Đồng Tháp", "baodongthap.vn", {"bao-dong-thap", "bao-dong-thap-2"}, "bao-dong-thap-3"),
        ("", "www.baodongthap.vn", set(), "baodongthap-vn"),
        ("!!!", "", set(), "nguon"),
        ("Thời sự – Chính trị: Quốc hội khai mạc kỳ họp", "x.vn", set(), "thoi-su-chinh-tri-quoc-hoi-khai-mac-ky"),
    ],
)
def test_suggest_source_id(title: str, host: str, taken: set[str], expected: str) -> None:
    assert suggest_source_id(title, host, taken) == expected


# ---------------------------------------------------------------- admin: add, remove, pause


async def test_add_source_stores_audits_and_is_due_now(
    admin: AdminService, runtime: Runtime, server: FeedServer
) -> None:
    url = server.add("/dong-thap.rss", rss("Báo Đồng Tháp", FEED_ITEMS))
    preview = await admin.preview_feed(url)
    source_id = await admin.add_source(ADMIN, preview, name="  Báo Đồng Tháp (thời sự) ")
    assert source_id == "bao-dong-thap"

    status = (await _statuses(runtime))[source_id]
    assert (status.name, status.url, status.origin, status.active) == ("Báo Đồng Tháp (thời sự)", url, "chat", True)
    due = await runtime.write(due_feeds, datetime.now(UTC).timestamp())
    assert [f.url for f in due] == [url]
    assert await _audit(runtime) == [(ADMIN, "source.add", source_id, url)]

    assert runtime.poller is not None
    report = await runtime.poller.poll(only_due=True)
    assert [(o.source_id, o.status, o.new_articles) for o in report.outcomes] == [(source_id, "new", 3)]


async def test_the_same_feed_cannot_be_added_twice(admin: AdminService, runtime: Runtime, server: FeedServer) -> None:
    url = server.add("/a.rss", rss("Báo Đồng Tháp", FEED_ITEMS))
    preview = await admin.preview_feed(url)
    await admin.add_source(ADMIN, preview)
    for same in (url, url.replace("http://", "https://")):  # http and https are one feed
        with pytest.raises(AdminError) as info:
            await admin.preview_feed(same)
    assert (info.value.code, info.value.detail) == ("exists", "bao-dong-thap")
    with pytest.raises(AdminError) as info:
        await admin.add_source(ADMIN, preview)  # a second press of an old "Add" button
    assert info.value.code == "exists"
    assert len(await _audit(runtime)) == 1


async def test_add_refuses_an_id_in_use_by_another_outlet(
    admin: AdminService, runtime: Runtime, server: FeedServer
) -> None:
    first = await admin.preview_feed(server.add("/a.rss", rss("Báo Đồng Tháp", FEED_ITEMS)))
    second = await admin.preview_feed(server.add("/b.rss", rss("Báo Đồng Tháp", ["Tin khác"])))
    assert first.source_id == second.source_id  # both previewed before either was added
    await admin.add_source(ADMIN, first)
    with pytest.raises(AdminError) as info:
        await admin.add_source(ADMIN, second)
    assert info.value.code == "id_taken"
    assert (await admin.preview_feed(second.url)).source_id == "bao-dong-thap-2"


async def test_add_refuses_an_invalid_id(admin: AdminService, server: FeedServer) -> None:
    preview = await admin.preview_feed(server.add("/a.rss", rss("Báo Đồng Tháp", FEED_ITEMS)))
    bad = FeedPreview(preview.url, preview.title, preview.items, "Báo Đồng Tháp", preview.sample_titles)
    with pytest.raises(AdminError) as info:
        await admin.add_source(ADMIN, bad)
    assert info.value.code == "bad_id"


async def test_remove_pause_resume(admin: AdminService, runtime: Runtime, server: FeedServer) -> None:
    url = server.add("/a.rss", rss("Báo Đồng Tháp", FEED_ITEMS))
    source_id = await admin.add_source(ADMIN, await admin.preview_feed(url))

    assert await admin.pause(ADMIN, source_id) is True
    assert (await _statuses(runtime))[source_id].state(datetime.now(UTC)) == "paused"
    assert await runtime.write(due_feeds, None) == []
    assert await admin.resume(ADMIN, source_id) is True
    assert [f.url for f in await runtime.write(due_feeds, datetime.now(UTC).timestamp())] == [url]

    assert await admin.remove_source(ADMIN, source_id) is True
    assert await admin.remove_source(ADMIN, source_id) is False
    assert await admin.pause(ADMIN, source_id) is False  # removed outlets are not paused back to life
    assert await admin.pause(ADMIN, "khong-co") is False
    assert not (await _statuses(runtime))[source_id].active

    assert [(a, t, d) for _, a, t, d in await _audit(runtime)] == [
        ("source.add", source_id, url),
        ("source.pause", source_id, None),
        ("source.resume", source_id, None),
        ("source.remove", source_id, None),
        ("source.remove", source_id, "unknown source"),
        ("source.pause", source_id, "unknown source"),
        ("source.pause", "khong-co", "unknown source"),
    ]


async def test_a_removed_outlet_comes_back_under_its_own_id(
    admin: AdminService, runtime: Runtime, server: FeedServer
) -> None:
    url = server.add("/a.rss", rss("Báo Đồng Tháp", FEED_ITEMS))
    source_id = await admin.add_source(ADMIN, await admin.preview_feed(url))
    await admin.remove_source(ADMIN, source_id)
    again = await admin.preview_feed(url)
    assert again.source_id == source_id
    assert await admin.add_source(ADMIN, again) == source_id
    assert (await _statuses(runtime))[source_id].active


# ---------------------------------------------------------------- admin: reload, audit


async def test_reload_adopts_the_edited_file(admin: AdminService, runtime: Runtime, tmp_path: Path) -> None:
    path = runtime.config.path
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["sources"] = [{"id": "baodongthap", "name": "Báo Đồng Tháp", "url": "https://baodongthap.vn/rss"}]
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")

    config = (await admin.reload(ADMIN)).config
    assert [s.id for s in config.sources] == ["baodongthap"]
    assert runtime.config is config
    assert (await _statuses(runtime))["baodongthap"].name == "Báo Đồng Tháp"
    assert await _audit(runtime) == [(ADMIN, "config.reload", str(path), "1 sources, 0 campaigns")]


async def test_reload_of_a_broken_file_keeps_the_running_config(admin: AdminService, runtime: Runtime) -> None:
    before = runtime.config
    path = before.path
    path.write_text("organization:\n  name: Đồng Tháp\nsources:\n  - id: Sai Hoa\n    url: x\n", encoding="utf-8")
    with pytest.raises(AdminError) as info:
        await admin.reload(ADMIN)
    assert info.value.code == "config_error"
    assert info.value.detail.startswith(f"{path}: sources[0].id:")
    assert runtime.config is before
    [(actor, action, target, detail)] = await _audit(runtime)
    assert (actor, action, target) == (ADMIN, "config.reload", str(path))
    assert detail is not None and detail.startswith("failed: ")


async def test_audit_keeps_vietnamese_detail(admin: AdminService, runtime: Runtime) -> None:
    await admin.audit(ADMIN, "broadcast", None, "Thông báo: họp giao ban lúc 8 giờ")
    assert await _audit(runtime) == [(ADMIN, "broadcast", None, "Thông báo: họp giao ban lúc 8 giờ")]


# ---------------------------------------------------------------- archive

SOURCES = [
    {"id": "baodongthap", "name": "Báo Đồng Tháp", "url": "https://baodongthap.vn/rss/thoi-su.rss"},
    {"id": "vnexpress", "name": "VnExpress", "url": "https://vnexpress.net/rss/tin-moi-nhat.rss"},
    {"id": "tuoitre", "name": "Tuổi Trẻ", "url": "https://tuoitre.vn/rss/tin-moi-nhat.rss"},
]
CAMPAIGNS = [
    {"id": "cds", "name": "Chiến dịch số hóa", "query": '"chuyển đổi số" OR "chính quyền số" -"lừa đảo"'},
    # A sloppy query ending in a dangling OR: joined as text to more words, it would change meaning.
    {"id": "cq", "name": "Chiến dịch chính quyền", "query": '"chính quyền số" OR'},
]
# (key, outlet, title, hours ago)
ARTICLES = [
    ("dx-dt", "baodongthap", "Đồng Tháp đẩy mạnh chuyển đổi số trong hành chính công", 2),
    ("cq-ct", "vnexpress", "Cần Thơ triển khai chính quyền số cho người dân", 5),
    ("scam", "tuoitre", "Cảnh báo lừa đảo chuyển đổi số qua điện thoại", 30),
    ("sen", "baodongthap", "Sen Tháp Mười vào mùa, du khách đổ về Đồng Tháp", 72),
    ("dti", "vnexpress", "Chuyển đổi số: Đồng Tháp dẫn đầu chỉ số DTI", 8 * 24),
    ("lua", "vnexpress", "Giá lúa gạo xuất khẩu tăng mạnh", 10 * 24),
    ("cau", "tuoitre", "Đồng Tháp khởi công cầu Cao Lãnh 2", 40 * 24),
]


def _articles(now: datetime) -> list[Article]:
    out = []
    for key, outlet, title, hours in ARTICLES:
        url = f"https://{outlet}.example.vn/{key}.html"
        summary = f"{title}. Bài viết của phóng viên {outlet}."
        out.append(Article(outlet, url, url, title, summary, now - timedelta(hours=hours), now))
    return out


@pytest.fixture
async def archive_rt(tmp_path: Path) -> AsyncIterator[tuple[Runtime, dict[int, str]]]:
    config = make_config(tmp_path, allow_private=False, sources=SOURCES, campaigns=CAMPAIGNS)
    rt = await _start(config, tmp_path)
    # Stored as the poller stores them: the campaigns' matches recorded in the same transaction.
    stored = await rt.write(store_articles, [(_articles(datetime.now(UTC)), None)], [rt.registry.record_matches])
    keys = dict(zip(stored.new_ids, [a[0] for a in ARTICLES], strict=True))
    yield rt, keys
    await rt.aclose()


@pytest.fixture
def archive(archive_rt: tuple[Runtime, dict[int, str]]) -> ArchiveService:
    return ArchiveService(archive_rt[0])


@pytest.fixture
def keys(archive_rt: tuple[Runtime, dict[int, str]]) -> dict[int, str]:
    return archive_rt[1]


def _keys(answer: Any, keys: dict[int, str]) -> list[str]:
    return [keys[hit.id] for hit in answer.page.hits]


async def test_ask_reads_period_and_words(archive: ArchiveService, keys: dict[int, str]) -> None:
    answer = await archive.ask("có bài nào về chuyển đổi số tuần qua không?", page_size=10)
    assert sorted(_keys(answer, keys)) == ["dx-dt", "scam"]  # "dti" is 8 days old
    assert answer.page.total == 2
    assert answer.question.period == "period.last_n_days" and answer.question.period_days == 7
    assert answer.period_start == answer.question.since and answer.period_end is None
    assert sorted(answer.page.top_sources) == [("baodongthap", "Báo Đồng Tháp", 1), ("tuoitre", "Tuổi Trẻ", 1)]
    assert answer.request.kind == "ask"


async def test_ask_campaign_alone_searches_its_query(archive: ArchiveService, keys: dict[int, str]) -> None:
    answer = await archive.ask("Chiến dịch số hóa", page_size=10)
    assert answer.question.campaign_id == "cds"
    assert sorted(_keys(answer, keys)) == ["cq-ct", "dti", "dx-dt"]  # "scam" is excluded by the campaign


async def test_ask_campaign_and_words_must_both_match(archive: ArchiveService, keys: dict[int, str]) -> None:
    answer = await archive.ask("Chiến dịch số hóa ở Đồng Tháp", page_size=10)
    assert (answer.question.campaign_id, answer.question.query.text()) == ("cds", '"Đồng Tháp"')
    assert sorted(_keys(answer, keys)) == ["dti", "dx-dt"]
    # The campaign's dangling OR must not swallow the question's words.
    answer = await archive.ask("chiến dịch chính quyền ở Đồng Tháp", page_size=10)
    assert answer.question.campaign_id == "cq"
    assert _keys(answer, keys) == []
    assert _keys(await archive.ask("chiến dịch chính quyền", page_size=10), keys) == ["cq-ct"]


async def test_ask_campaign_on_one_outlet_in_a_period(archive: ArchiveService, keys: dict[int, str]) -> None:
    answer = await archive.ask("Chiến dịch số hóa trên VnExpress tuần qua", page_size=10)
    assert answer.question.source_ids == ("vnexpress",)
    assert _keys(answer, keys) == ["cq-ct"]


async def test_ask_with_only_a_period_lists_the_newest(archive: ArchiveService, keys: dict[int, str]) -> None:
    answer = await archive.ask("tin 24 giờ qua", page_size=10)
    assert not answer.question.query.has_words
    assert _keys(answer, keys) == ["dx-dt", "cq-ct"]
    assert answer.page.total == 2


async def test_ask_with_only_an_outlet_lists_its_newest(archive: ArchiveService, keys: dict[int, str]) -> None:
    answer = await archive.ask("tin mới nhất trên Tuổi Trẻ", page_size=10)
    assert _keys(answer, keys) == ["scam", "cau"]
    assert answer.page.top_sources == (("tuoitre", "Tuổi Trẻ", 2),)


async def test_pages_and_rerun(archive: ArchiveService, keys: dict[int, str]) -> None:
    first = await archive.ask("Đồng Tháp", page_size=2)
    assert first.page.total == 4 and len(first.page.hits) == 2
    second = await archive.rerun(first.request, 1)
    assert second.page.offset == 2 and len(second.page.hits) == 2
    seen = _keys(first, keys) + _keys(second, keys)
    assert sorted(seen) == ["cau", "dti", "dx-dt", "sen"]
    assert (await archive.rerun(first.request, 2)).page.hits == ()
    assert (await archive.ask("Đồng Tháp", page=-3, page_size=2)).page.offset == 0


async def test_search_uses_the_query_language(archive: ArchiveService, keys: dict[int, str]) -> None:
    answer = await archive.search('"chuyển đổi số" -"lừa đảo"', page_size=10)
    assert sorted(_keys(answer, keys)) == ["dti", "dx-dt"]
    assert answer.question is None and answer.request.kind == "search"
    # Without accents every accented form matches, đ included.
    assert sorted(_keys(await archive.search("dong thap", page_size=10), keys)) == ["cau", "dti", "dx-dt", "sen"]
    recent = await archive.search("chuyển đổi số since:7d", page_size=10)
    assert sorted(_keys(recent, keys)) == ["dx-dt", "scam"]
    assert recent.period_start is not None
    assert timedelta(days=7) - (datetime.now(UTC) - recent.period_start) < timedelta(minutes=1)
    again = await archive.rerun(recent.request, 0)
    assert _keys(again, keys) == _keys(recent, keys)


@pytest.mark.parametrize("query", ["", "   ", "-lũ", "since:hôm-qua lúa"])
async def test_search_refuses_meaningless_queries(archive: ArchiveService, query: str) -> None:
    with pytest.raises(QueryError) as info:
        await archive.search(query)
    assert str(info.value)


async def test_latest_all_and_by_outlet(archive: ArchiveService, keys: dict[int, str]) -> None:
    everything = await archive.latest(page_size=3)
    assert _keys(everything, keys) == ["dx-dt", "cq-ct", "scam"]
    assert everything.page.total == len(ARTICLES)
    for typed in ("tuoitre", "Tuổi Trẻ", "tuoi tre", "TUỔI TRẺ", " tuổi  trẻ "):
        answer = await archive.latest(typed, page_size=10)
        assert _keys(answer, keys) == ["scam", "cau"], typed
        assert answer.request.text == "tuoitre"
    assert _keys(await archive.latest("dong thap", page_size=1), keys) == ["dx-dt"]  # a word of "Báo Đồng Tháp"
    answer = await archive.rerun(PageRequest("latest", "tuoitre", 1), 1)
    assert _keys(answer, keys) == ["cau"]


@pytest.mark.parametrize("typed", ["Báo Lạ", "thanh nien", "express", "-"])
async def test_latest_unknown_outlet(archive: ArchiveService, typed: str) -> None:
    with pytest.raises(UnknownOutlet) as info:
        await archive.latest(typed)
    assert str(info.value) == typed


async def test_news_is_about_us_newest_first(archive: ArchiveService, keys: dict[int, str]) -> None:
    answer = await archive.news(page_size=10)
    assert _keys(answer, keys) == ["dx-dt", "sen", "dti", "cau"]
    assert answer.page.total == 4
    # Each summary repeats its title (as many feeds do): the snippet is what follows it.
    assert [hit.snippet for hit in answer.page.hits] == [
        f"Bài viết của phóng viên {hit.source}." for hit in answer.page.hits
    ]
    second = await archive.rerun(PageRequest("news", "", 3), 1)
    assert _keys(second, keys) == ["cau"]


async def test_sources_campaigns_stats(archive: ArchiveService, archive_rt: tuple[Runtime, dict[int, str]]) -> None:
    statuses = await archive.sources()
    assert sorted((s.id, s.articles) for s in statuses) == [("baodongthap", 2), ("tuoitre", 2), ("vnexpress", 3)]

    campaigns = await archive.campaigns()
    assert [(c.id, c.name, c.last_7d, c.last_30d) for c in campaigns] == [
        ("cds", "Chiến dịch số hóa", 2, 3),
        ("cq", "Chiến dịch chính quyền", 1, 1),
    ]

    await AccessService(archive_rt[0]).request_access(777, "Võ Thị Sáu", None)
    stats = await archive.stats()
    assert {k: stats[k] for k in ("articles", "articles_24h", "sources_active", "sources_failing")} == {
        "articles": 7,
        "articles_24h": 2,
        "sources_active": 3,
        "sources_failing": 0,
    }
    assert (stats["users_pending"], stats["users_approved"]) == (1, 0)
    assert isinstance(stats["db_bytes"], int) and stats["db_bytes"] > 0


OUTLETS = [
    OutletRow("thanhnien", "Thanh Niên", True),
    OutletRow("thanhhoa", "Báo Thanh Hóa", True),
    OutletRow("bdt-cu", "Báo Đồng Tháp", False),
    OutletRow("baodongthap", "Báo Đồng Tháp", True),
]


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("thanhnien", "thanhnien"),
        ("thanh nien", "thanhnien"),
        ("Thanh Niên", "thanhnien"),
        ("thanh hoa", "thanhhoa"),  # a whole-word part of the name
        ("bao dong thap", "baodongthap"),  # the active outlet wins over a removed one of the same name
        ("bdt-cu", "bdt-cu"),  # an id always means that outlet, removed or not
        ("thanh", None),  # two outlets: ambiguous
        ("nie", None),  # not a whole word
    ],
)
def test_resolve_outlet(typed: str, expected: str | None) -> None:
    if expected is None:
        with pytest.raises(UnknownOutlet):
            resolve_outlet(OUTLETS, typed)
    else:
        assert resolve_outlet(OUTLETS, typed) == expected
