"""The press review as a Word document (python-docx), ready to print.

A4 portrait with 2 cm margins; Times New Roman (the typeface of Vietnamese administrative
documents, every Vietnamese letter covered; set for the East Asian slot too, so Word never
substitutes a font for the stacked diacritics); the organization's name and the date in the
heading; each title a real hyperlink, with its outlet time and a one-line summary below.
"""

from __future__ import annotations

import io

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.opc.constants import RELATIONSHIP_TYPE
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor
from docx.text.paragraph import Paragraph

from bot.reports.labels import label
from bot.reports.press_review import PressReview, ReviewItem, item_time

FONT = "Times New Roman"
LINK_COLOR = "1F4E9A"
# XML 1.0 refuses these code points; lxml raises on them instead of dropping them.
_NOT_XML = dict.fromkeys([*range(0x20), 0xFFFE, 0xFFFF])
for _kept in (0x09, 0x0A, 0x0D):
    del _NOT_XML[_kept]


def xml_safe(text: str) -> str:
    """`text` without the control characters XML cannot hold (a feed may carry them)."""
    return text.translate(_NOT_XML)


def review_docx(review: PressReview, lang: str) -> bytes:
    """The review as a .docx file's bytes."""
    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Mm(20))
    _fonts(doc)
    title, day = review.heading(lang)
    _centered(doc.add_paragraph(), review.organization.upper(), size=14, bold=True)
    _centered(doc.add_paragraph(), label("review_title", lang), size=16, bold=True)
    _centered(doc.add_paragraph(), day, size=13, italic=True)
    _centered(doc.add_paragraph(), label("review_total", lang, n=review.total, warnings=review.warnings), size=12)
    for part in review.sections:
        doc.add_heading(xml_safe(f"{part.name} ({part.count})"), level=1)
        for outlet, items in part.outlets:
            doc.add_heading(xml_safe(f"{outlet} ({len(items)})"), level=2)
            for item in items:
                _article(doc.add_paragraph(), item, lang)
    out = io.BytesIO()
    doc.core_properties.title = f"{title} — {day}"
    doc.save(out)
    return out.getvalue()


def _fonts(doc: object) -> None:
    styles = doc.styles  # type: ignore[attr-defined]
    for name, size in (("Normal", 12), ("Heading 1", 14), ("Heading 2", 12)):
        style = styles[name]
        style.font.name = FONT
        style.font.size = Pt(size)
        if name != "Normal":
            style.font.color.rgb = RGBColor(0, 0, 0)
        fonts = style.element.get_or_add_rPr().get_or_add_rFonts()
        for slot in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
            fonts.set(qn(slot), FONT)


def _centered(paragraph: Paragraph, text: str, *, size: int, bold: bool = False, italic: bool = False) -> None:
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = paragraph.add_run(xml_safe(text))
    run.font.size, run.bold, run.italic = Pt(size), bold, italic


def _article(paragraph: Paragraph, item: ReviewItem, lang: str) -> None:
    """`HH:MM  Title (linked)  ⚠ có «term»` and the summary on the next line."""
    paragraph.paragraph_format.space_after = Pt(6)
    paragraph.add_run(f"{item_time(item)}  ").bold = True
    _hyperlink(paragraph, item.url, item.title)
    if item.warning_term:
        paragraph.add_run(f"  ⚠ {label('review_term', lang, term=item.warning_term)}").bold = True
    if item.summary:
        paragraph.add_run().add_break()
        summary = paragraph.add_run(xml_safe(item.summary))
        summary.italic, summary.font.size = True, Pt(11)


def _hyperlink(paragraph: Paragraph, url: str, text: str) -> None:
    """A clickable link run (python-docx has no API for it: the w:hyperlink element by hand)."""
    rel_id = paragraph.part.relate_to(url, RELATIONSHIP_TYPE.HYPERLINK, is_external=True)
    link = OxmlElement("w:hyperlink")
    link.set(qn("r:id"), rel_id)
    run = OxmlElement("w:r")
    props = OxmlElement("w:rPr")
    color = OxmlElement("w:color")
    color.set(qn("w:val"), LINK_COLOR)
    underline = OxmlElement("w:u")
    underline.set(qn("w:val"), "single")
    props.extend([color, underline])
    run.append(props)
    content = OxmlElement("w:t")
    content.text = xml_safe(text)
    content.set(qn("xml:space"), "preserve")
    run.append(content)
    link.append(run)
    paragraph._p.append(link)
