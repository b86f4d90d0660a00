"""A fresh clone tests with nothing beside it: no code under tests/, bench/, bot/ or .ci/ reaches out of the repository.

The real feed samples once lived in a sibling folder (and at an absolute machine path): a clone alone had
11 failing tests. This scan keeps that from coming back. Its patterns do not match themselves (a character
class or an escape sits inside every forbidden spelling); the cases it is tried on are data in tests/data.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.corpus import CORPUS

ROOT = Path(__file__).resolve().parents[1]
SCANNED = ("tests", "bench", "bot", ".ci")
DATA = ROOT / "tests" / "data"  # data, not code: feed samples, their provenance notes, the cases below
UNTRACKED = ROOT / "bench" / "out"  # benchmark results (git-ignored) may name the machine's paths

# A home, mount or workspace folder of some machine, or a Windows drive. Not a URL path (preceded by a
# host letter) and not a shebang (preceded by "!").
MACHINE_PATH = re.compile(r"""(?:^|[\s"'(=,])(?:/(?:wor[k]|hom[e]|roo[t]|User[s]|mn[t])/|[A-Z]:\\)""")
# A folder beside the repository: a string starting with two dots, or the old sibling "shared" folder.
SIBLING = re.compile(r"""["']\.\.(?:[/\\"']|$)|["']share[d]["']\s*/|\.\./share[d]""")
PARENTS = re.compile(r"Path\(__file__\)(?:\.resolve\(\))?((?:\.parents\[\d+\])?(?:\.parent)*)")
ROOT_PARENT = re.compile(r"\bROO[T]\.parent\b")


def _code_files() -> list[Path]:
    files = []
    for top in SCANNED:
        for path in sorted((ROOT / top).rglob("*")):
            if path.is_file() and not {DATA, UNTRACKED} & set(path.parents) and _is_text(path):
                files.append(path)
    return [p for p in files if not any(part.endswith("_cache") or part == "__pycache__" for part in p.parts)]


def _is_text(path: Path) -> bool:
    try:
        path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError):
        return False
    return True


def _levels_up(chain: str) -> int:
    """How many folders `.parents[N]` plus any trailing `.parent`s climb from the file itself."""
    parents = re.match(r"\.parents\[(\d+)\]", chain)
    return (int(parents.group(1)) + 1 if parents else 0) + len(re.findall(r"\.parent(?!s)", chain))


def escapes(line: str, depth: int) -> str | None:
    """Why `line` reads outside the repository, or None; `depth`: parts of the file's path from the root."""
    for pattern, why in ((MACHINE_PATH, "absolute machine path"), (SIBLING, "sibling of the repository")):
        if pattern.search(line):
            return why
    if ROOT_PARENT.search(line):
        return "the repository root's parent"
    for chain in PARENTS.findall(line):
        if _levels_up(chain) > depth:
            return f"climbs {_levels_up(chain)} folders from a file {depth} deep"
    return None


def test_no_code_reads_outside_the_repository() -> None:
    files = _code_files()
    assert any(p.name == "run" for p in files) and any(p.suffix == ".py" for p in files)
    found = []
    for path in files:
        depth = len(path.relative_to(ROOT).parts)
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            why = escapes(line, depth)
            if why:
                found.append(f"{path.relative_to(ROOT)}:{number}: {why}: {line.strip()}")
    assert not found, "\n".join(found)


# One line per case, kept under tests/data (data, so the scan skips it): the first file holds the spellings
# this repository actually had before the samples moved in, the second paths that stay inside.
CASES = ROOT / "tests" / "data" / "path_scan"


def _lines(name: str) -> list[str]:
    return (CASES / name).read_text(encoding="utf-8").splitlines()


@pytest.mark.parametrize("line", _lines("escaping.txt"))
def test_the_scan_catches_every_old_spelling(line: str) -> None:
    assert escapes(line, depth=2)


@pytest.mark.parametrize("line", _lines("inside.txt"))
def test_the_scan_leaves_paths_inside_the_repository_alone(line: str) -> None:
    assert escapes(line, depth=2) is None


def test_every_feed_sample_says_where_it_came_from() -> None:
    feeds = sorted(CORPUS.glob("*.rss"))
    assert len(feeds) >= 20
    for feed in feeds:
        source = feed.with_name(feed.name + ".source.txt")
        assert source.is_file(), f"{feed.name} has no {source.name}"
        assert source.read_text(encoding="utf-8").strip(), f"{source.name} is empty"


def _readme_test_line() -> str:
    """The command under "Run the tests" in the README's Quick start."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    after = readme.split("Run the tests", 1)[1]
    return after.split("```sh\n", 1)[1].split("\n", 1)[0]


def test_ci_installs_and_tests_with_the_readme_test_line() -> None:
    line = _readme_test_line()
    assert line.startswith("python3 -m venv .venv && ") and line.endswith("pytest -q")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert "set -euo pipefail" in ci
    assert any(row in (line, line + " || exit") for row in ci), "the README test line is not in .ci/run"


@pytest.mark.parametrize("check", [".venv/bin/ruff check .", ".venv/bin/ruff format --check .", ".venv/bin/mypy bot"])
def test_ci_runs_the_house_checks_from_the_venv(check: str) -> None:
    assert check in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
