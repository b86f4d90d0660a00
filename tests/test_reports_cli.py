"""`mediabot report` and `mediabot export` as a user runs them, over a generated archive with known answers."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from openpyxl import load_workbook

from bot.config import load_config
from tests.cli import ROOT, cli_env, mediabot, one_line_error
from tests.conftest import config_dict
from tests.reports_archive import OUTLETS, Generated, build, generate, hand_count
from tests.reports_archive import ROOT as REPO

OCTOBER = "2026-10-01..2026-10-31"


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path, list[Generated]]]:
    tmp = tmp_path_factory.mktemp("reports_cli")
    shipped = yaml.safe_load((REPO / "feeds.yaml").read_text(encoding="utf-8"))
    data = config_dict(
        sources=[{"id": i, "name": n, "url": f"https://{i}.example.vn/rss"} for i, n in OUTLETS],
        campaigns=shipped["campaigns"],
    )
    path = tmp / "feeds.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    rows = generate()
    build(load_config(path), tmp / "db.sqlite", rows)
    yield path, tmp / "db.sqlite", rows


@pytest.mark.parametrize("campaign", ["chuyen-doi-so", "phu-song-5g"])
@pytest.mark.parametrize("period", [OCTOBER, "1/10/2026..31/10/2026"])
def test_report_json_equals_a_hand_count(
    archive: tuple[Path, Path, list[Generated]], campaign: str, period: str
) -> None:
    config, db, rows = archive
    proc = mediabot(config, db, "report", campaign, "--period", period, "--json")
    assert proc.returncode == 0, proc.stderr
    (line,) = proc.stdout.splitlines()
    report = json.loads(line)
    assert list(report) == ["campaign", "from", "to", "total", "previous_total", "by_source", "by_day", "top_stories",
                            "share_of_voice"]  # fmt: skip
    expected = hand_count(rows, campaign, *(__import__("datetime").date(2026, 10, d) for d in (1, 31)))
    assert report == expected


def test_report_text_names_the_numbers(archive: tuple[Path, Path, list[Generated]]) -> None:
    config, db, rows = archive
    proc = mediabot(config, db, "report", "bien-dao", "--period", OCTOBER)
    assert proc.returncode == 0, proc.stderr
    from datetime import date

    expected = hand_count(rows, "bien-dao", date(2026, 10, 1), date(2026, 10, 31))
    assert f"total: {expected['total']} articles" in proc.stdout
    assert "Chủ quyền biển, đảo (bien-dao) · 01/10/2026–31/10/2026 (31 days)" in proc.stdout
    assert expected["top_stories"][0]["title"] in proc.stdout


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (("report", "chuyen-doi"), 2, "did you mean chuyen-doi-so"),
        (("report", "zzzz"), 2, "no campaign 'zzzz'; campaigns: chuyen-doi-so"),
        (("report", "bien-dao", "--period", "tuần sau nữa"), 2, "not a period"),
        (("report", "bien-dao", "--period", "2031-01-01..2031-02-01"), 2, "starts after today"),
        (("export", "bien-dao", "--format", "pdf"), 2, "invalid choice"),
    ],
)
def test_refusals_are_one_line(
    archive: tuple[Path, Path, list[Generated]], args: tuple[str, ...], code: int, says: str
) -> None:
    config, db, _rows = archive
    proc = mediabot(config, db, *args)
    assert proc.returncode == code
    assert says in one_line_error(proc)


def test_report_without_a_database_is_refused(archive: tuple[Path, Path, list[Generated]], tmp_path: Path) -> None:
    proc = mediabot(archive[0], tmp_path / "none.db", "report", "bien-dao")
    assert proc.returncode == 1 and "no database" in one_line_error(proc)
    assert not (tmp_path / "none.db").exists()


def test_export_xlsx_and_csv_hold_every_article(archive: tuple[Path, Path, list[Generated]], tmp_path: Path) -> None:
    config, db, rows = archive
    from datetime import date

    expected = sorted(
        g.url
        for g in rows
        if g.campaign == "dich-vu-cong" and date(2026, 10, 1) <= g.published.date() <= date(2026, 10, 31)
    )
    xlsx = mediabot(
        config, db, "export", "dich-vu-cong", "--period", OCTOBER, "--format", "xlsx", "-o", str(tmp_path / "r.xlsx")
    )
    assert xlsx.returncode == 0, xlsx.stderr
    book = load_workbook(tmp_path / "r.xlsx")
    assert sorted(r[3] for r in book["Bài báo"].iter_rows(min_row=2, values_only=True)) == expected
    out = mediabot(
        config, db, "export", "dich-vu-cong", "--period", OCTOBER, "--format", "csv", "-o", str(tmp_path / "r.csv")
    )
    assert out.returncode == 0, out.stderr
    data = (tmp_path / "r.csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert table[0][0] == "Thời gian đăng" and sorted(r[3] for r in table[1:]) == expected


def test_export_to_stdout_and_into_a_missing_folder(
    archive: tuple[Path, Path, list[Generated]], tmp_path: Path
) -> None:
    config, db, _rows = archive
    piped = subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(config), "--db", str(db), "export", "bien-dao"],
        capture_output=True, timeout=60, cwd=ROOT, env=cli_env(),
    )  # fmt: skip
    assert piped.returncode == 0 and piped.stdout.startswith(b"PK")  # a zip: the XLSX
    missing = tmp_path / "no" / "such" / "r.xlsx"
    proc = mediabot(config, db, "export", "bien-dao", "-o", str(missing))
    assert proc.returncode == 1
    assert one_line_error(proc) == f"error: {missing}: no such folder: {missing.parent}"
