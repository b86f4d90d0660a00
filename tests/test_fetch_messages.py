"""Fetch failures say what to do and which host: the lines `mediabot poll --once` prints under FAILED.

A feed on a private address is refused with the setting that allows it; a host that does not
resolve is named whether or not private networks are allowed (the guard resolves names
itself only when they are not).
"""

from __future__ import annotations

import pytest

from bot.config import Polling
from bot.errors import FetchError
from bot.ingest.fetch import Fetcher
from tests.cli import mediabot
from tests.conftest import ConfigWriter, rss
from tests.fakes.feed_server import FeedServer

HINT = "(set polling.allow_private_networks: true to allow)"


def test_poll_names_the_setting_that_allows_a_private_feed(write_config: ConfigWriter, feed_server: FeedServer) -> None:
    url = feed_server.add("/noi-bo.rss", rss("Mạng nội bộ Sở", []))
    config = write_config(
        sources=[{"id": "noibo", "name": "Cổng nội bộ", "url": url}], polling={"allow_private_networks": False}
    )
    proc = mediabot(config, config.parent / "db.sqlite", "poll", "--once")
    assert proc.returncode == 1
    assert f"  FAILED noibo {url}: refusing private address 127.0.0.1 for host 127.0.0.1 {HINT}" in proc.stdout
    assert feed_server.hits("/noi-bo.rss") == 0


@pytest.mark.parametrize("allow_private", [False, True])
async def test_an_unresolvable_host_is_named(allow_private: bool) -> None:
    polling = Polling(timeout=5.0, allow_private_networks=allow_private)
    async with Fetcher(polling) as fetcher:
        with pytest.raises(FetchError) as info:
            await fetcher.fetch("http://khong-co-bao-nay.invalid/rss")
    assert str(info.value) == "cannot resolve host khong-co-bao-nay.invalid"
