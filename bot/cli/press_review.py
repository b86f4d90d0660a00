"""`mediabot press-review`: a day's press review (điểm báo) as Markdown or a Word document."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

from bot.cli.commands import write_file
from bot.config import Config
from bot.reports.press_review import press_review, review_day, review_markdown
from bot.reports.review_docx import review_docx
from bot.store.db import open_readonly


def press_review_command(config: Config, db_path: str, day_text: str, *, fmt: str, output: Path | None) -> int:
    """Print the review (md) or write it (docx: to -o FILE, or to stdout when that is not a terminal)."""
    day = review_day(day_text, datetime.now(config.organization.tz))
    if output is None and fmt == "docx" and sys.stdout.isatty():
        print("error: a DOCX file is binary: write it with -o FILE (or redirect the output)", file=sys.stderr)
        return 2
    conn = open_readonly(db_path)
    try:
        review = press_review(conn, config, day)
    finally:
        conn.close()
    lang = config.organization.language
    data: str | bytes = review_docx(review, lang) if fmt == "docx" else review_markdown(review, lang)
    if output is not None:
        return write_file(output, data)
    if isinstance(data, bytes):
        sys.stdout.buffer.write(data)
    else:
        sys.stdout.write(data)
    return 0
