"""feeds.yaml loading: the shipped file, durations and sizes, and one clear line per mistake."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.config import config_from_dict, load_config, parse_duration, parse_size
from bot.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]

MINIMAL = """
organization: {name: "Sở TT&TT Phú Thọ", aliases: ["Sở Thông tin và Truyền thông Phú Thọ"]}
sources:
  - {id: baophutho, name: "Báo Phú Thọ", url: "https://baophutho.vn/rss/home.rss", interval: 5m}
  - {id: vnexpress, name: VnExpress, urls: ["https://vnexpress.net/rss/a.rss", "https://vnexpress.net/rss/b.rss"]}
campaigns:
  - {id: chuyen-doi-so, name: "Chuyển đổi số", query: '"chuyển đổi số"', since: 2024-01-01}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "feeds.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_feeds_yaml_is_valid_and_vietnamese() -> None:
    config = load_config(ROOT / "feeds.yaml")
    assert config.organization.timezone == "Asia/Ho_Chi_Minh"
    assert {"baophutho", "baochinhphu", "vnexpress"} <= {s.id for s in config.sources}
    assert {"chuyen-doi-so", "phong-chong-dich", "bien-dao", "phu-song-5g", "dich-vu-cong"} <= {
        c.id for c in config.campaigns
    }
    assert config.source("vnexpress") is not None and len(config.source("vnexpress").urls) == 2


def test_minimal_file_gets_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, MINIMAL))
    assert config.polling.interval == 600 and config.polling.max_body == 10 * 1024**2
    assert config.access.mode == "private"
    assert config.source("baophutho").interval == 300
    assert config.source("vnexpress").url == "https://vnexpress.net/rss/a.rss"
    assert config.campaign("chuyen-doi-so").since.isoformat() == "2024-01-01"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("5m", 300), ("6h", 21600), ("1d", 86400), ("250ms", 0.25), (45, 45), ("1.5h", 5400)],
)
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(("text", "size"), [("512KB", 512 * 1024), ("10MB", 10 * 1024**2), (2048, 2048)])
def test_sizes(text: object, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ('url: "https://baophutho.vn/rss/home.rss"', None),
        ('url: "ftp://baophutho.vn/rss"', "feeds.yaml: sources[0].url: not an http(s) URL"),
        ('url: "baophutho.vn"', "feeds.yaml: sources[0].url: not an http(s) URL"),
    ],
)
def test_source_url_checked(tmp_path: Path, patch: str, message: str | None) -> None:
    text = MINIMAL.replace('url: "https://baophutho.vn/rss/home.rss"', patch)
    if message is None:
        load_config(write(tmp_path, text))
        return
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, text))
    assert str(err.value).endswith(message)


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        ("polling: {interval: soon}", "polling.interval: not a duration"),
        ("polling: {max_body: huge}", "polling.max_body: not a size"),
        ("polling: {concurrency: 0}", "polling.concurrency: must be a whole number"),
        ("polling: {min_interval: 1d, max_interval: 1h}", "polling.min_interval: is larger"),
        ("polling: {colour: red}", "polling.colour: unknown key"),
        ("access: {mode: secret}", "access.mode: must be private or public"),
        ("access: {admins: [abc]}", "access.admins[0]: must be a numeric Telegram id"),
        ("organization: {name: X, timezone: Mars/Base}", "organization.timezone: unknown time zone"),
        ("organization: {name: X, abbreviations: [UBND]}", "organization.abbreviations: must be a mapping"),
        ("organization: {name: X, abbreviations: {UBND: }}", "organization.abbreviations.UBND: needs at least one"),
        (
            "organization: {name: X, abbreviations: {SGD: [ok, {a: b}]}}",
            "organization.abbreviations.SGD[1]: must be text",
        ),
        (
            "organization: {name: X, abbreviations: {SGD: '!!!'}}",
            "organization.abbreviations.SGD: '!!!' has no letters",
        ),
    ],
)
def test_bad_values_name_the_key(tmp_path: Path, extra: str, fragment: str) -> None:
    text = MINIMAL if extra.startswith(("polling", "access")) else MINIMAL.split("sources:")[1]
    text = (MINIMAL + extra) if extra.startswith(("polling", "access")) else extra + "\nsources:" + text
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, text))
    assert fragment in str(err.value)
    assert str(err.value).startswith(str(tmp_path / "feeds.yaml"))


def test_duplicate_source_id(tmp_path: Path) -> None:
    text = MINIMAL.replace("id: vnexpress", "id: baophutho")
    with pytest.raises(ConfigError, match=r"sources\[1\]\.id: duplicate id 'baophutho'"):
        load_config(write(tmp_path, text))


def test_yaml_syntax_error_names_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"line \d+, column \d+"):
        load_config(write(tmp_path, "organization: {name: [unclosed\n"))


def test_cli_reports_bad_config_in_one_line_without_traceback(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL.replace("https://baophutho.vn/rss/home.rss", "not-a-url"))
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(path), "--db", str(tmp_path / "db.sqlite"), "check-config"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == f"error: {path}: sources[0].url: not an http(s) URL"


def test_cli_missing_config_file(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(tmp_path / "nope.yaml"), "check-config"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2 and "file not found" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    ("since", "problem"),
    [
        ("2024-02-30", "not a date (day is out of range for month): '2024-02-30'"),
        ("2023-02-29", "not a date (day is out of range for month): '2023-02-29'"),
        ("2024-13-01", "not a date (month must be in 1..12): '2024-13-01'"),
        ("2024-01-01 08:00:00", "not a date (use YYYY-MM-DD): '2024-01-01 08:00:00'"),
        ("đầu năm", "not a date (use YYYY-MM-DD): 'đầu năm'"),
    ],
)
def test_impossible_campaign_date_names_the_key(tmp_path: Path, since: str, problem: str) -> None:
    path = write(tmp_path, MINIMAL.replace("since: 2024-01-01", f"since: {since}"))
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value) == f"{path}: campaigns[0].since: {problem}"


@pytest.mark.parametrize(("since", "day"), [("2024-02-29", "2024-02-29"), ("2024-2-3", "2024-02-03")])
def test_campaign_dates_yaml_accepts(tmp_path: Path, since: str, day: str) -> None:
    config = load_config(write(tmp_path, MINIMAL.replace("since: 2024-01-01", f"since: {since}")))
    assert config.campaign("chuyen-doi-so").since.isoformat() == day


def test_dates_elsewhere_stay_text(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, MINIMAL.replace('name: "Báo Phú Thọ"', "name: 2024-02-30")))
    assert config.source("baophutho").name == "2024-02-30"


def _cli(path: Path, db: Path, *command: str) -> subprocess.CompletedProcess[str]:
    # A token, and an API address where nothing listens: `run` must stop before contacting it.
    env = {**os.environ, "TELEGRAM_BOT_TOKEN": "123456:fake-token", "TELEGRAM_API_URL": "http://127.0.0.1:9"}
    return subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(path), "--db", str(db), *command],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("query: '\"chuyển đổi số\"'", "query: '!!!'", "campaigns[0].query: "),
        ("since: 2024-01-01", "since: 2024-02-30", "campaigns[0].since: not a date (day is out of range for month)"),
    ],
)
def test_check_config_and_poll_refuse_the_same_campaign_in_the_same_line(
    tmp_path: Path, old: str, new: str, key: str
) -> None:
    path = write(tmp_path, MINIMAL.replace(old, new))
    assert new in path.read_text(encoding="utf-8")
    db = tmp_path / "db.sqlite"
    check = _cli(path, db, "check-config")
    assert (check.returncode, check.stdout) == (2, "")
    for command in (["poll", "--once"], ["run"]):
        proc = _cli(path, db, *command)
        assert (proc.returncode, proc.stdout, proc.stderr) == (2, "", check.stderr), command
    assert check.stderr.startswith(f"error: {path}: {key}") and check.stderr.count("\n") == 1
    assert not db.exists()  # refused before anything was opened


def test_organization_abbreviations_are_read_in_order() -> None:
    text = MINIMAL.replace(
        'aliases: ["Sở Thông tin và Truyền thông Phú Thọ"]}',
        'aliases: ["Sở Thông tin và Truyền thông Phú Thọ"], '
        'abbreviations: {SGD: "Sở Giáo dục", "TP. Việt Trì": [TPVT, thành phố Việt Trì]}}',
    )
    path = Path(__file__).parent / "_never_written.yaml"

    config = config_from_dict(yaml.safe_load(text), str(path))
    assert config.organization.abbreviations == (
        ("SGD", ("Sở Giáo dục",)),
        ("TP. Việt Trì", ("TPVT", "thành phố Việt Trì")),
    )
