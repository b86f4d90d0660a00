"""What the local feed server serves: synthetic Vietnamese feeds and hostile bodies.

Pure functions of their arguments, so a test can build the same bytes the server sends.
"""

from __future__ import annotations

import functools
import gzip as gzip_module
import random
import struct
import unicodedata
import zlib
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from xml.sax.saxutils import escape

_VN = timezone(timedelta(hours=7))


_SUBJECTS = [
    "UBND tỉnh Đồng Tháp",
    "Sở Y tế Hà Nội",
    "Thủ tướng Chính phủ",
    "Bộ Giáo dục và Đào tạo",
    "Công an TP Hồ Chí Minh",
    "Ngân hàng Nhà nước",
    "Tỉnh ủy Quảng Ninh",
    "Hội Nông dân Đắk Lắk",
]
_VERBS = ["đẩy mạnh", "triển khai", "kiểm tra", "hỗ trợ", "công bố", "phê duyệt", "chỉ đạo khắc phục"]
_OBJECTS = [
    "chuyển đổi số trong hành chính công",
    "phòng chống dịch sốt xuất huyết",
    "dự án đường cao tốc",
    "mùa thi tốt nghiệp THPT",
    "giá lúa gạo xuất khẩu",
    "hậu quả bão lũ ở miền Trung",
    "thủy lợi và nước sạch nông thôn",
    "cải cách thủ tục đầu tư",
]
_PLACES = ["Hà Nội", "Đà Nẵng", "Cần Thơ", "Huế", "Long Xuyên", "Buôn Ma Thuột", "Hạ Long"]


def synthetic_feed(n: int, items: int, epoch: int = 0, title: str | None = None) -> bytes:
    """RSS 2.0 for feed `n`: `items` Vietnamese items, newest first; `epoch` shifts in newer items."""
    out = [
        f'<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
        f"<title>{escape(title or f'Báo Điện tử số {n} - Tin tức')}</title><link>https://bao{n}.example.vn/</link>"
        f"<description>Tin tức thời sự tỉnh nhà số {n}</description>"
    ]
    base = datetime(2026, 11, 1, 7, 0, tzinfo=_VN)
    for i in range(epoch + items - 1, epoch - 1, -1):
        rng = random.Random(n * 1_000_003 + i)
        title = f"{rng.choice(_SUBJECTS)} {rng.choice(_VERBS)} {rng.choice(_OBJECTS)}"
        link = f"https://bao{n}.example.vn/thoi-su/bai-{n}-{i}.html"
        text = (
            f"Sáng nay tại {rng.choice(_PLACES)}, {title.lower()} được đông đảo người dân đón nhận. "
            f"Đây là bước đi quan trọng của đề án số {i}."
        )
        out.append(
            f"<item><title>{escape(title)}</title><link>{link}</link><guid>{link}</guid>"
            f"<pubDate>{format_datetime(base + timedelta(minutes=10 * i))}</pubDate>"
            f'<description><![CDATA[<a href="{link}"><img src="https://cdn.example.vn/{n}/{i}.jpg">'
            f"</a></br>{text}]]></description></item>"
        )
    out.append("</channel></rss>")
    return unicodedata.normalize("NFC", "".join(out)).encode("utf-8")


def small_feed(title: str = "Tin nóng Đà Nẵng") -> bytes:
    """A two-item Vietnamese RSS feed."""
    return synthetic_feed(zlib.crc32(title.encode()) % 10_000, 2, title=title)


def entity_bomb_feed(entity_size: int = 100_000, references: int = 20_000) -> bytes:
    """A feed whose title references one big internal DTD entity many times (parsers must refuse it)."""
    entity = "Đ" * (entity_size // 2)  # two bytes each in UTF-8
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE rss [\n<!ENTITY big "{entity}">\n]>\n'
        f'<rss version="2.0"><channel><title>Bom thực thể</title><link>https://x.example.vn/</link>'
        f"<item><title>{'&big;' * references}</title><link>https://x.example.vn/1</link></item>"
        f"</channel></rss>"
    ).encode()


@functools.cache
def gzip_bomb(inflated: int = 1 << 30) -> bytes:
    """A single-member gzip of `inflated` zero bytes (~1 MB for 1 GiB), built in well under a second."""
    block = bytes(1 << 20)
    z = zlib.compressobj(9, zlib.DEFLATED, -15)
    # After a full flush deflate forgets its history, so every further MiB compresses to the same bytes.
    segment = z.compress(block) + z.flush(zlib.Z_FULL_FLUSH)
    count = inflated // len(block)
    crc = 0
    for _ in range(count):
        crc = zlib.crc32(block, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
    return header + segment * count + z.flush() + struct.pack("<II", crc, (count << 20) & 0xFFFFFFFF)


def encode(body: bytes, encoding: str) -> bytes:
    """Compress `body` as Content-Encoding `encoding` (deflate-raw = deflate without zlib wrapper)."""
    if encoding == "gzip":
        return gzip_module.compress(body, mtime=0)
    z = zlib.compressobj(6, zlib.DEFLATED, -15 if encoding == "deflate-raw" else 15)
    return z.compress(body) + z.flush()


def hostile_feed(size: int = 800_000, items: int = 1) -> bytes:
    """~`size` bytes of RSS whose items carry text cleanup's worst cases, with Vietnamese around them.

    Titles are `&lt;!--` repeated (an unterminated comment once unescaped: a 137 KB one took
    14 s to clean when comments were matched by a lazy regex), descriptions a run of `<` and of
    `<img` without any `>`, authors and dates megabytes long.
    """
    share = max(size // (items * 4), 16)
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
        "<title>Báo Độc hại</title><link>https://doc-hai.example.vn/</link>"
    ]
    for i in range(items):
        title = "Đà Nẵng " + "&lt;!--" * (share // 7)
        body = "Hà Nội " + "&lt;" * (share // 4) + "&lt;img src='x" * (share // 16)
        out.append(
            f"<item><title>{title}</title><link>https://doc-hai.example.vn/bai-{i}.html</link>"
            f"<description>{body}</description><author>{'đ&lt;!--' * (share // 20)}</author>"
            f"<pubDate>{'Mon, 14 Sep 2026 ' * (share // 80)}</pubDate></item>"
        )
    out.append("</channel></rss>")
    return "".join(out).encode("utf-8")
