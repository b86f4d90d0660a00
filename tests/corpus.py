"""Where the real feed samples live: inside the repository, so a fresh clone tests with nothing beside it."""

from pathlib import Path

# Each sample comes with <name>.source.txt saying where it was taken from and how it was trimmed.
CORPUS = Path(__file__).resolve().parent / "data" / "feeds"
