"""Search latency on a synthetic Vietnamese archive: `python bench/search.py [--quick] [--articles N] [--db PATH]`.

Builds (once, cached under bench/out/) N articles through the real schema: titles of 8–15
syllables, summaries of 40–60, words drawn with Zipf-like frequencies from real Vietnamese
vocabulary plus a long tail of rarer syllables, ~100 outlets, two years of publication with
ids growing with time. Then times SearchEngine.search for each query kind and prints a
table; the LAST line is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.config import Source
from bot.models import Article
from bot.search.engine import SearchEngine, open_engine
from bot.store.articles import store_articles
from bot.store.db import open_db
from bot.store.sources import upsert_source
from bot.textnorm import fold_vietnamese, has_diacritics, index_forms

GENERATOR_VERSION = 1
OUT = Path(__file__).resolve().parent / "out"
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
END = datetime(2026, 11, 15, 12, 0, tzinfo=UTC)
SPAN_S = 730 * 86400
SOURCES = 100
RUNS = 50
BATCH = 20_000

# Most frequent first: function words, then the press office's everyday vocabulary
# (units of 1–3 syllables, comma-separated).
FUNCTION_WORDS = [
    "của",
    "và",
    "các",
    "có",
    "được",
    "người",
    "trong",
    "năm",
    "cho",
    "với",
    "là",
    "đã",
    "này",
    "những",
    "không",
    "một",
    "tại",
    "theo",
    "đến",
    "về",
    "từ",
    "sẽ",
    "khi",
    "ngày",
    "cũng",
    "như",
    "nhiều",
    "để",
    "còn",
    "đang",
    "vào",
    "ra",
    "hơn",
    "trên",
    "sau",
    "đó",
]
HEAD_WORDS = """tỉnh, thành phố, Việt Nam, Hà Nội, triển khai, phát triển, kinh tế, xã hội, chính phủ,
thủ tướng, bộ trưởng, ủy ban, nhân dân, hội nghị, doanh nghiệp, đầu tư, công tác, cán bộ, lãnh đạo,
thực hiện, chuyển đổi số, phòng chống dịch, biển đảo, chính quyền số, dịch vụ công, trực tuyến,
Phú Thọ, Đền Hùng, Đảng bộ, đăng ký, giáo dục, y tế, nông nghiệp, du lịch, giao thông, an ninh,
quốc phòng, môi trường, thiên tai, bão lũ, sạt lở, hạn hán, xâm nhập mặn, xuất khẩu, nhập khẩu,
thị trường, chứng khoán, ngân hàng, lãi suất, tín dụng, bất động sản, Hòa Bình, Thanh Hóa, Khánh Hòa,
thủy điện, thủy lợi, hỏa hoạn, khỏe mạnh, sức khỏe, 5G, trí tuệ nhân tạo, dữ liệu, an toàn,
thông tin, học sinh, sinh viên, đại học, bầu cử, Quốc hội, đại biểu, nghị quyết, Trung ương,
Bộ Chính trị, tổng bí thư, Đà Nẵng, Hải Phòng, Cần Thơ, Huế, Quảng Ninh, Nghệ An, Lào Cai,
Đồng Nai, Bình Dương, COVID-19, vắc xin, bệnh viện, bác sĩ, phẫu thuật, cấp cứu, tai nạn, cháy rừng,
lễ hội, văn hóa, di sản, thể thao, bóng đá, đội tuyển, huy chương, giải thưởng, công nghiệp,
khu công nghiệp, năng lượng, điện gió, điện mặt trời, cao tốc, sân bay, cải cách, hành chính,
thủ tục, một cửa, phản ánh, kiến nghị, tiếp dân, khiếu nại, phòng cháy, chữa cháy, cảnh sát,
công an, điều tra, khởi tố, bắt giữ, ma túy, buôn lậu, nước sạch, vệ sinh, rác thải, ô nhiễm,
không khí, biến đổi khí hậu, rừng ngập mặn, nông thôn mới, xóa đói, giảm nghèo, an sinh, việc làm,
lao động, bảo hiểm, thuế, ngân sách, quy hoạch, đất đai, giải phóng mặt bằng, tái định cư,
chợ, siêu thị, giá cả, xăng dầu, lúa gạo, cà phê, hồ tiêu, thủy sản, tôm, cá tra, trái cây""".replace("\n", " ")
ONSETS = [
    "",
    "b",
    "c",
    "ch",
    "d",
    "đ",
    "g",
    "gi",
    "h",
    "k",
    "kh",
    "l",
    "m",
    "n",
    "ng",
    "nh",
    "ph",
    "r",
    "s",
    "t",
    "th",
    "tr",
    "v",
    "x",
]
RHYMES = [
    "a",
    "ai",
    "am",
    "an",
    "ang",
    "anh",
    "ao",
    "au",
    "ay",
    "ăm",
    "ăn",
    "ăng",
    "âm",
    "ân",
    "âu",
    "e",
    "em",
    "en",
    "eo",
    "ê",
    "êm",
    "ên",
    "ênh",
    "i",
    "im",
    "in",
    "inh",
    "iu",
    "iêm",
    "iên",
    "o",
    "oa",
    "oai",
    "oan",
    "oang",
    "oanh",
    "oi",
    "om",
    "on",
    "ong",
    "ô",
    "ôi",
    "ôm",
    "ôn",
    "ông",
    "ơ",
    "ơi",
    "ơm",
    "ơn",
    "u",
    "ui",
    "um",
    "un",
    "ung",
    "uôi",
    "uôn",
    "uông",
    "ư",
    "ưa",
    "ưng",
    "ươi",
    "ươn",
    "ương",
    "ưu",
    "uy",
    "uyên",
]
TONES = ["", "\u0300", "\u0301", "\u0309", "\u0303", "\u0323"]
VOWELS = set("aăâeêioôơuưy")


def head_units() -> list[str]:
    units = FUNCTION_WORDS + [u.strip() for u in HEAD_WORDS.split(",")]
    return list(dict.fromkeys(u for u in units if u))


def tail_syllables(rng: random.Random, count: int, taken: set[str]) -> list[str]:
    out: set[str] = set()
    while len(out) < count:
        rhyme = rng.choice(RHYMES)
        tone = rng.choice(TONES)
        vowel_at = next(i for i, c in enumerate(rhyme) if c in VOWELS)
        syllable = rng.choice(ONSETS) + rhyme[: vowel_at + 1] + tone + rhyme[vowel_at + 1 :]
        syllable = unicodedata.normalize("NFC", syllable)
        if syllable not in taken:
            out.add(syllable)
    return sorted(out)


class Vocabulary:
    """Units (1–3 syllables) with Zipf weights: rank r has weight 1 / (r + 3)."""

    def __init__(self, seed: int = 7) -> None:
        rng = random.Random(seed)
        head = head_units()
        tail = tail_syllables(rng, 4000, {s.lower() for u in head for s in u.split()})
        rng.shuffle(tail)
        self.units = head + tail
        self.head = head
        weights = [1 / (rank + 3) for rank in range(len(self.units))]
        total = 0.0
        self.cum: list[float] = []
        for w in weights:
            total += w
            self.cum.append(total)

    def text(self, rng: random.Random, syllables: int) -> str:
        chosen = rng.choices(self.units, cum_weights=self.cum, k=max(1, int(syllables / 1.4)))
        text = " ".join(chosen)
        return text[0].upper() + text[1:]


def documents(n: int, seed: int = 11) -> Iterator[tuple[int, str, str, str, int, int]]:
    """(id, source_id, title, summary, published_ts, fetched_ts) with ids growing with time."""
    vocab = Vocabulary()
    rng = random.Random(seed)
    end = int(END.timestamp())
    stamps = sorted(rng.randrange(end - SPAN_S, end) for _ in range(n))
    source_weights = [1 / (i + 2) for i in range(SOURCES)]
    source_ids = [f"s{i:03d}" for i in range(SOURCES)]
    for index, published in enumerate(stamps, start=1):
        title = vocab.text(rng, rng.randint(8, 15))
        summary = vocab.text(rng, rng.randint(40, 60)) + "."
        source = rng.choices(source_ids, weights=source_weights)[0]
        yield index, source, title, summary, published, published + rng.randint(0, 900)


def _article_rows(batch: list[tuple[int, str, str, str, int, int]]) -> list[tuple]:
    return [
        (
            i,
            src,
            f"https://{src}.example.vn/a/{i}",
            f"{src}.example.vn/a/{i}",
            f"g{i}",
            title,
            summary,
            datetime.fromtimestamp(pub, UTC).isoformat(),
            pub,
            fetched,
        )
        for i, src, title, summary, pub, fetched in batch
    ]


def _fts_rows(batch: list[tuple[int, str, str, str, int, int]]) -> list[tuple]:
    rows = []
    for i, _src, title, summary, _pub, _fetched in batch:
        exact_title, fold_title = index_forms(title)  # the store's own function
        exact_body, fold_body = index_forms(summary)
        rows.append((i, exact_title, exact_body, fold_title, fold_body))
    return rows


def _insert(conn, batch: list[tuple[int, str, str, str, int, int]]) -> None:
    conn.execute("BEGIN")
    conn.executemany(
        """INSERT INTO articles (id, source_id, url, url_key, guid, title, summary, published_at,
               published_ts, fetched_ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        _article_rows(batch),
    )
    conn.execute("COMMIT")


def _index(conn, batch: list[tuple[int, str, str, str, int, int]]) -> None:
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO articles_fts (rowid, title, body, title_fold, body_fold) VALUES (?, ?, ?, ?, ?)",
        _fts_rows(batch),
    )
    conn.execute("COMMIT")


def _add_sources(conn) -> None:
    conn.execute("BEGIN")
    for i in range(SOURCES):
        source = Source(id=f"s{i:03d}", name=f"Báo số {i}", urls=(f"https://s{i:03d}.example.vn/rss",))
        upsert_source(conn, source, "config", END)
    conn.execute("COMMIT")


def _batches(n: int) -> Iterator[list[tuple[int, str, str, str, int, int]]]:
    batch = []
    for doc in documents(n):
        batch.append(doc)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def bulk_load(path: Path, n: int) -> None:
    """Articles first, then their FTS rows: 1.4–1.6× faster than indexing row by row (design.md)."""
    conn = open_db(path).conn
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("PRAGMA cache_size = -262144")
    _add_sources(conn)
    for batch in _batches(n):
        _insert(conn, batch)
    for batch in _batches(n):
        _index(conn, batch)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def check_same_index_as_store() -> None:
    """The bulk loader must write the FTS rows store_articles writes; compare on a sample."""
    docs = list(documents(30, seed=99))
    with tempfile.TemporaryDirectory() as tmp:
        bulk = open_db(Path(tmp) / "bulk.sqlite").conn
        _add_sources(bulk)
        _insert(bulk, docs)
        _index(bulk, docs)
        real = open_db(Path(tmp) / "store.sqlite").conn
        _add_sources(real)
        articles = [
            Article(
                source_id=src,
                url=f"https://{src}.example.vn/a/{i}",
                guid=f"g{i}",
                title=title,
                summary=summary,
                published_at=datetime.fromtimestamp(pub, UTC),
                fetched_at=datetime.fromtimestamp(fetched, UTC),
            )
            for i, src, title, summary, pub, fetched in docs
        ]
        store_articles(real, [(articles, None)])
        query = "SELECT title, body, title_fold, body_fold FROM articles_fts ORDER BY rowid"
        if bulk.execute(query).fetchall() != real.execute(query).fetchall():
            raise SystemExit("bench loader and store_articles index differently: fix the loader")
        bulk.close()
        real.close()


def ensure_db(path: Path, n: int) -> float:
    """Build the database unless a complete one is cached; return build seconds (0 if cached)."""
    if path.exists():
        return 0.0
    partial = path.with_suffix(".part")
    for leftover in (partial, Path(f"{partial}-wal"), Path(f"{partial}-shm")):
        leftover.unlink(missing_ok=True)
    started = time.perf_counter()
    print(f"building {n:,} articles into {path} …", file=sys.stderr)
    bulk_load(partial, n)
    partial.rename(path)
    return time.perf_counter() - started


def document_frequencies(sample: int = 20_000) -> tuple[Counter[str], int]:
    """Share of documents containing each folded-free token, estimated on a generated sample."""
    df: Counter[str] = Counter()
    for _i, _src, title, summary, _p, _f in documents(sample, seed=5):
        df.update({t.lower() for t in (title + " " + summary).replace(".", " ").split()})
    return df, sample


def query_sets(rng: random.Random) -> dict[str, list[str]]:
    """Distinct queries per kind, chosen by how many documents their words hit."""
    df, n = document_frequencies()

    def band(low: float, high: float) -> list[str]:
        # Accented words only: an accent-free one also matches every accented form, so its
        # document frequency is not the one counted here.
        words = sorted(w for w, c in df.items() if low <= c / n <= high and w.isalpha() and has_diacritics(w))
        rng.shuffle(words)
        return words

    rare = band(0.0002, 0.0015)
    medium = band(0.01, 0.1)
    common = band(0.3, 0.7)
    pairs = [u for u in Vocabulary().head if u.count(" ") >= 1]
    rng.shuffle(pairs)
    two = [p for p in pairs if p.count(" ") == 1]
    return {
        "rare word": rare[:RUNS],
        "2-word phrase": [f'"{p}"' for p in two][:RUNS],
        # A two-syllable word plus one more, the way people type "phòng chống dịch Phú Thọ".
        "3 words": [f"{rng.choice(two)} {rng.choice(medium)}" for _ in range(RUNS)],
        "OR": [f"{a} OR {b}" for a, b in zip(rng.sample(medium, RUNS), rng.sample(medium, RUNS), strict=True)],
        "word since:7d": [f"{w} since:7d" for w in rng.sample(medium, RUNS)],
        "unaccented": [fold_vietnamese(p).lower() for p in pairs][:RUNS],
        "very common word": [common[i % len(common)] for i in range(RUNS)],
    }


def measure(search: Callable[[str], int], queries: list[str]) -> dict[str, float]:
    for query in queries[:3]:  # warm the page cache like a running bot has
        search(query)
    times, totals = [], []
    for query in queries:
        started = time.perf_counter()
        totals.append(search(query))
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {
        "runs": len(times),
        "distinct": len(set(queries)),
        "p50_ms": round(statistics.median(times), 2),
        "p95_ms": round(times[min(len(times) - 1, int(len(times) * 0.95))], 2),
        "max_ms": round(times[-1], 2),
        "mean_total": round(statistics.mean(totals), 1),
    }


def main(argv: list[str] | None = None) -> None:
    """Build or reuse the archive, time each query kind, print a table and a JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="50,000 articles instead of 1,000,000")
    parser.add_argument("--articles", type=int, help="number of synthetic articles")
    parser.add_argument("--db", type=Path, help="database file (default: bench/out/search-N-vV.sqlite)")
    args = parser.parse_args(argv)
    n = args.articles or (50_000 if args.quick else 1_000_000)
    path = args.db or OUT / f"search-{n}-v{GENERATOR_VERSION}.sqlite"
    check_same_index_as_store()
    build_s = ensure_db(path, n)
    open_db(path).conn.close()
    # As the bot runs it (side connection, outlet map), and on one connection, side by side.
    engine = open_engine(str(path), TZ, clock=lambda: END)
    single = SearchEngine(engine.conn, TZ, clock=lambda: END)
    results, single_results = {}, {}
    for kind, queries in query_sets(random.Random(3)).items():
        results[kind] = measure(lambda q: engine.search(q, limit=10).total, queries)
        single_results[kind] = measure(lambda q: single.search(q, limit=10).total, queries)
    print(f"{'query':<18} {'runs':>5} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'avg hits':>10} {'1-conn p95':>10}")
    for kind, r in results.items():
        print(
            f"{kind:<18} {r['runs']:>5} {r['p50_ms']:>8} {r['p95_ms']:>8} {r['max_ms']:>8} {r['mean_total']:>10} "
            f"{single_results[kind]['p95_ms']:>10}"
        )
    print(
        json.dumps(
            {
                "bench": "search",
                "articles": n,
                "db": str(path),
                "build_s": round(build_s, 1),
                "rank_window": engine.rank_window,
                "results": results,
                "one_connection": single_results,
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
