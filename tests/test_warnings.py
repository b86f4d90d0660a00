"""Department news and warnings: the configuration keys, the Vietnamese rules of warning terms, and
the stored rows rebuilt (without alerts) when the terms change."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.config import DEFAULT_WARNING_TERMS, Config, config_from_dict
from bot.errors import ConfigError
from bot.models import Article
from bot.runtime import Runtime
from bot.store.articles import store_articles
from tests.cli import mediabot, one_line_error
from tests.conftest import config_dict

ADMIN = 1001


@pytest.mark.parametrize(
    ("section", "value", "message"),
    [
        ("organization", {"warning_terms": ["sai phạm", "…!"]}, r"organization\.warning_terms\[1\]: .* no letters"),
        ("organization", {"warning_terms": {"a": 1}}, r"organization\.warning_terms: must be a list"),
        ("alerts", {"spike_factor": "ba"}, r"alerts\.spike_factor: must be a number from 1 to 1000"),
        ("alerts", {"spike_factor": 0.5}, r"alerts\.spike_factor: must be a number"),
        ("alerts", {"spike_min": 0}, r"alerts\.spike_min: must be a whole number"),
        ("alerts", {"press_review_time": "25:00"}, r"alerts\.press_review_time: not a time of day"),
        (
            "alerts",
            {"weekly_digest": "someday 08:00"},
            r'alerts\.weekly_digest: not a weekday and time \(use e\.g\. "mon',
        ),
        ("alerts", {"weekly_digest": "mon 8h"}, r"alerts\.weekly_digest: not a weekday and time"),
        ("alerts", {"spikes": 3}, r"alerts\.spikes: unknown key"),
    ],
)
def test_bad_keys_name_their_path(section: str, value: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        config_from_dict(config_dict(**{section: value}))


def test_defaults_and_values_read() -> None:
    config = config_from_dict(config_dict())
    assert config.organization.warning_terms == DEFAULT_WARNING_TERMS
    assert "nhũng nhiễu" in DEFAULT_WARNING_TERMS and "sai phạm" in DEFAULT_WARNING_TERMS
    alerts = config.alerts
    assert (alerts.spike_factor, alerts.spike_min, alerts.press_review_time, alerts.weekly_digest) == (
        3.0, 5, "07:30", (0, "08:00"),
    )  # fmt: skip
    data = config_dict(alerts={"spike_factor": 2.5, "spike_min": 8, "press_review_time": "6:45",
                               "weekly_digest": "Friday 17:00"})  # fmt: skip
    data["organization"]["warning_terms"] = ['"sai pham"', "chậm  trễ", "sai pham"]
    config = config_from_dict(data)
    assert config.organization.warning_terms == ("sai pham", "chậm trễ")
    assert (config.alerts.spike_factor, config.alerts.spike_min) == (2.5, 8)
    assert (config.alerts.press_review_time, config.alerts.weekly_digest) == ("06:45", (4, "17:00"))


def test_check_config_reports_a_bad_term_in_one_line(tmp_path: Path) -> None:
    data = config_dict()
    data["organization"]["warning_terms"] = ["vi phạm", "---"]
    path = tmp_path / "feeds.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    proc = mediabot(path, tmp_path / "db.sqlite", "check-config")
    assert proc.returncode == 2
    assert "organization.warning_terms[1]" in one_line_error(proc)


def article(k: int, title: str, summary: str = "") -> Article:
    when = datetime(2026, 11, 1, 3, 0, tzinfo=UTC) + timedelta(minutes=k)
    url = f"https://baodongthap.example.vn/{k}.html"
    return Article("baodongthap", url, url, title, summary, when, when + timedelta(minutes=1))


TITLES = [
    ("Sở TT&TT Đồng Tháp bị phản ánh chậm trễ", ""),  # accents as configured
    ("SỞ TT&TT ĐỒNG THÁP: LÃNG PHÍ KINH PHÍ", ""),  # capitals
    ("Sở TT&TT Đồng Tháp họp báo", "Người dân khiếu nại về thủ tục"),  # the term in the summary
    ("Sở TT&TT Đồng Tháp khai trương", "Không có gì tiêu cực."),  # not a configured term here
    ("Sai phạm ở một doanh nghiệp", "Không nhắc cơ quan."),  # a term without the organization
    ("Sở TT&TT Đồng Tháp trao giải", "Cuộc thi sai phạm-không"),  # typed without accents in the config
]


def config_with(tmp: Path, terms: list[str]) -> Config:
    data = config_dict(
        sources=[{"id": "baodongthap", "name": "Báo Đồng Tháp", "url": "https://baodongthap.example.vn/rss"}],
        access={"admins": [ADMIN]},
    )
    data["organization"]["warning_terms"] = terms
    return config_from_dict(data, path=tmp / "feeds.yaml")


def stored(db: Path) -> tuple[dict[str, str | None], int]:
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute(
            "SELECT a.title, o.warning_term FROM organization_articles o JOIN articles a ON a.id = o.article_id"
        )
        terms = dict(rows.fetchall())
        alerts = conn.execute("SELECT count(*) FROM outbox WHERE kind = 'alert'").fetchone()[0]
    finally:
        conn.close()
    return terms, alerts


async def test_terms_follow_the_search_rules_and_a_change_rebuilds_without_alerts(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite"
    config = config_with(tmp_path, ["phản ánh", "lang phi", "khiếu nại", "sai pham"])
    runtime = Runtime(config, db)
    await runtime.start()
    try:
        batch = [([article(k, t, s) for k, (t, s) in enumerate(TITLES)], None)]
        await runtime.write(store_articles, batch, [runtime.registry.record_matches])
        terms, alerts = stored(db)
        assert terms == {
            TITLES[0][0]: "phản ánh",
            TITLES[1][0]: "lang phi",
            TITLES[2][0]: "khiếu nại",
            TITLES[3][0]: None,
            TITLES[5][0]: "sai pham",
        }
        assert alerts == 4  # one per warning, to the one admin
        await runtime.reload(replace(config, organization=replace(config.organization, warning_terms=("tiêu cực",))))
        terms, alerts = stored(db)
        assert terms == {TITLES[i][0]: ("tiêu cực" if i == 3 else None) for i in (0, 1, 2, 3, 5)}
        assert alerts == 4  # re-marking the archive alerts nobody
    finally:
        await runtime.aclose()
