"""The quarterly report as the Department of Home Affairs sends it: a Word document in the form of
Nghị định 30/2020/NĐ-CP (A4 portrait, Times New Roman; issuer and quốc hiệu side by side, số và ký
hiệu, place and date, title, body, nơi nhận, signer). The wording is Vietnamese whatever the
reader's language, because the document goes to officials; the detailed tables are the .xlsx
annex. Text that comes from the database is only ever written as plain runs.
"""

from __future__ import annotations

import datetime as dt
import io
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from django.utils import timezone, translation
from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Mm, Pt
from docx.table import Table
from docx.text.paragraph import Paragraph

from attainment.models import LaggardReason
from cchc_portal.xlsx import UNWRITABLE
from reports.models import Period
from targets.models import Direction
from units.models import Level, Unit
from units.templatetags.portal import num

from .selectors import TargetLine, laggards_by_member, overview, ranking

DOCX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
FONT = "Times New Roman"
BODY_SIZE = 14
TABLE_SIZE = 12
# A ranking table shows this many units at its top and at its bottom, the laggards table this many
# of the most severe: the annex has them all, so that the report stays a few pages long.
RANKING_EDGE = 5
LAGGARD_ROWS = 10


# Word refuses a file whose elements are out of the schema's order: what may follow a paragraph's
# borders and a table's borders, for inserting them in their place.
PBDR_SUCCESSORS = (
    "w:shd", "w:tabs", "w:suppressAutoHyphens", "w:kinsoku", "w:wordWrap", "w:overflowPunct", "w:topLinePunct",
    "w:autoSpaceDE", "w:autoSpaceDN", "w:bidi", "w:adjustRightInd", "w:snapToGrid", "w:spacing", "w:ind",
    "w:contextualSpacing", "w:mirrorIndents", "w:suppressOverlap", "w:jc", "w:textDirection", "w:textAlignment",
    "w:textboxTightWrap", "w:outlineLvl", "w:divId", "w:cnfStyle", "w:rPr", "w:sectPr", "w:pPrChange",
)  # fmt: skip
TBLBORDERS_SUCCESSORS = ("w:shd", "w:tblLayout", "w:tblCellMar", "w:tblLook", "w:tblCaption", "w:tblDescription")


@dataclass(frozen=True)
class Issuer:
    """How the province is named in a document: "UBND TỈNH NGHỆ AN", "Nghệ An", "tỉnh"."""

    authority: str
    place: str
    scope: str


def issuer_of(province_name: str) -> Issuer:
    for prefix in ("Thành phố ", "Tỉnh "):
        if province_name.startswith(prefix):
            return Issuer(f"UBND {province_name.upper()}", province_name.removeprefix(prefix), prefix.strip().lower())
    return Issuer(f"UBND TỈNH {province_name.upper()}".strip(), province_name, "tỉnh")


def province_issuer() -> Issuer:
    province = Unit.objects.provinces().order_by("path").first()
    return issuer_of(province.name if province else "")


def dated_line(place: str, day: dt.date) -> str:
    """ "Nghệ An, ngày 05 tháng 3 năm 2026": days below 10 and the months 1 and 2 take a leading
    zero (Nghị định 30/2020/NĐ-CP, Phụ lục I), so the date cannot be altered by hand."""
    month = f"{day.month:02d}" if day.month < 3 else str(day.month)
    return f"{place}, ngày {day.day:02d} tháng {month} năm {day.year}"


# --- Writing -----------------------------------------------------------------------------------


def _plain(text) -> str:
    # A control character typed into a web form cannot be held in the document's XML.
    return UNWRITABLE.sub("", "" if text is None else str(text))


def _paragraph(
    container,
    text: str = "",
    *,
    size: int = BODY_SIZE,
    bold: bool = False,
    italic: bool = False,
    align: WD_ALIGN_PARAGRAPH | None = WD_ALIGN_PARAGRAPH.JUSTIFY,
    first_line: bool = False,
    before: int = 0,
    after: int = 6,
    keep: bool = False,
) -> Paragraph:
    """A paragraph of one plain run. `container` is the document or a table cell; `keep` keeps it
    on the page of what follows (a heading, the sentence that introduces a table)."""
    paragraph = container.add_paragraph()
    paragraph.alignment = align
    fmt = paragraph.paragraph_format
    fmt.space_before, fmt.space_after = Pt(before), Pt(after)
    fmt.keep_with_next = keep or None
    if first_line:
        fmt.first_line_indent = Cm(1.27)
    if text:
        _run(paragraph, text, size=size, bold=bold, italic=italic)
    return paragraph


def _run(paragraph: Paragraph, text, *, size: int = BODY_SIZE, bold: bool = False, italic: bool = False):
    run = paragraph.add_run(_plain(text))
    run.font.size, run.font.bold, run.font.italic = Pt(size), bold, italic
    return run


def _cell_text(cell, text, *, size: int = TABLE_SIZE, bold: bool = False, align=None, keep: bool = False) -> None:
    paragraph = cell.paragraphs[0]
    paragraph.alignment = align
    paragraph.paragraph_format.space_before = paragraph.paragraph_format.space_after = Pt(1)
    paragraph.paragraph_format.keep_with_next = keep or None
    _run(paragraph, text, size=size, bold=bold)


def _first_paragraph(cell, text: str, **kwargs) -> Paragraph:
    """Write into the empty paragraph a new cell starts with, then add paragraphs after it."""
    paragraph = cell.paragraphs[0]
    paragraph.alignment = kwargs.pop("align", WD_ALIGN_PARAGRAPH.CENTER)
    paragraph.paragraph_format.space_after = Pt(0)
    _run(paragraph, text, **kwargs)
    return paragraph


def _short_line(container, *, indent: Cm) -> None:
    """The short rule under the issuer, the tiêu ngữ and the title: a paragraph's top border,
    as long as the space between its indents."""
    paragraph = _paragraph(container, align=WD_ALIGN_PARAGRAPH.CENTER, before=2, after=0)
    fmt = paragraph.paragraph_format
    fmt.left_indent = fmt.right_indent = indent
    fmt.line_spacing = Pt(2)
    borders = OxmlElement("w:pBdr")
    top = OxmlElement("w:top")
    for key, value in (("w:val", "single"), ("w:sz", "6"), ("w:space", "1"), ("w:color", "000000")):
        top.set(qn(key), value)
    borders.append(top)
    paragraph._p.get_or_add_pPr().insert_element_before(borders, *PBDR_SUCCESSORS)


def _borderless(table: Table) -> None:
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:val"), "nil")
        borders.append(element)
    table._tbl.tblPr.insert_element_before(borders, *TBLBORDERS_SUCCESSORS)


def _widths(table: Table, widths: list[Cm]) -> None:
    # Word reads the cells' widths, LibreOffice the grid's: set both.
    table.autofit = False
    for column, width in zip(table.columns, widths, strict=True):
        column.width = width
        for cell in column.cells:
            cell.width = width


def _row_flags(row, *, header: bool) -> None:
    properties = row._tr.get_or_add_trPr()
    properties.append(OxmlElement("w:cantSplit"))  # a row is never broken across pages
    if header:
        properties.append(OxmlElement("w:tblHeader"))  # repeated at the top of each page


def _table(document, headers: list[str], rows: list[list[str]], widths: list[float], right: set[int] = frozenset()):
    """A ruled table, header repeated on each page; `right` are the columns of numbers."""
    table = document.add_table(rows=1, cols=len(headers))
    table.style = document.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    _row_flags(table.rows[0], header=True)
    for cell, header in zip(table.rows[0].cells, headers, strict=True):
        _cell_text(cell, header, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, keep=True)
    for values in rows:
        row = table.add_row()
        _row_flags(row, header=False)
        for index, (cell, value) in enumerate(zip(row.cells, values, strict=True)):
            _cell_text(cell, value, align=WD_ALIGN_PARAGRAPH.RIGHT if index in right else None)
    _widths(table, [Cm(w) for w in widths])
    _paragraph(document, after=0)
    return table


def _setup(document) -> None:
    section = document.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin = section.bottom_margin = Mm(20)
    section.left_margin, section.right_margin = Mm(30), Mm(15)
    # Every run in Times New Roman, for Latin and Vietnamese alike, instead of the theme's font.
    defaults = document.styles.element.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
    fonts = defaults.find(qn("w:rFonts"))
    for attribute in list(fonts.attrib):
        del fonts.attrib[attribute]
    for key in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(key), FONT)
    language = defaults.find(qn("w:lang"))
    if language is None:
        language = OxmlElement("w:lang")
        defaults.append(language)
    language.set(qn("w:val"), "vi-VN")
    normal = document.styles["Normal"]
    normal.font.name, normal.font.size = FONT, Pt(BODY_SIZE)
    normal.element.rPr.rFonts.set(qn("w:eastAsia"), FONT)
    normal.paragraph_format.space_after = Pt(6)
    # Page numbers from the second page on, centred at the top.
    section.different_first_page_header_footer = True
    header = section.header.paragraphs[0]
    header.alignment = WD_ALIGN_PARAGRAPH.CENTER
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), "PAGE")
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "2"
    run.append(text)
    field.append(run)
    header._p.append(field)


def _heading_block(document, issuer: Issuer, today: dt.date) -> None:
    table = document.add_table(rows=2, cols=2)
    _borderless(table)
    (left, right), (number, date) = table.rows[0].cells, table.rows[1].cells
    _first_paragraph(left, issuer.authority, size=13)
    _paragraph(left, "SỞ NỘI VỤ", size=13, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, after=0)
    _short_line(left, indent=Cm(2.2))
    _first_paragraph(right, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", size=13, bold=True)
    _paragraph(right, "Độc lập - Tự do - Hạnh phúc", size=14, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, after=0)
    _short_line(right, indent=Cm(2.0))
    _first_paragraph(number, "Số: …/BC-SNV", size=13)
    _first_paragraph(date, dated_line(issuer.place, today), size=14, italic=True)
    _widths(table, [Cm(6.3), Cm(10.2)])


def _signature_block(document, issuer: Issuer) -> None:
    table = document.add_table(rows=1, cols=2)
    _borderless(table)
    _row_flags(table.rows[0], header=False)  # the signer's block is never split across pages
    left, right = table.rows[0].cells
    _first_paragraph(left, "Nơi nhận:", size=12, bold=True, italic=True, align=WD_ALIGN_PARAGRAPH.LEFT)
    for line in (f"- Ban Chỉ đạo CCHC {issuer.scope};", f"- UBND {issuer.scope};", "- Lưu: VT, CCHC."):
        _paragraph(left, line, size=11, align=WD_ALIGN_PARAGRAPH.LEFT, after=0)
    _first_paragraph(right, "GIÁM ĐỐC", size=14, bold=True)
    for _blank in range(4):  # room for the signature and the seal
        _paragraph(right, after=0)
    _paragraph(right, "[Họ và tên]", size=14, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, after=0)
    _widths(table, [Cm(8.0), Cm(8.5)])


# --- Content -----------------------------------------------------------------------------------


def _measured(value, target, places: int = 1) -> str:
    if value is None:
        return "—"
    unit = target.unit_label or ""
    return f"{num(value, places)}{unit if unit in ('', '%') else ' ' + unit}"


def _threshold(line: TargetLine) -> str:
    if line.rollup is None or line.rollup.threshold is None:
        return "—"
    sign = "≥" if line.target.direction == Direction.HIGHER else "≤"
    return f"{sign} {_measured(line.rollup.threshold, line.target, 2)}"


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _result(line: TargetLine) -> str:
    if line.rollup is None or line.rollup.met is None:
        return "Chưa có số liệu"
    return "Đạt" if line.rollup.met else "Không đạt"


def _reporting(document, completeness: dict | None) -> None:
    _paragraph(document, "I. TÌNH HÌNH BÁO CÁO CỦA CÁC ĐƠN VỊ", bold=True, first_line=True, before=6, keep=True)
    if completeness is None:
        text = (
            "Kỳ báo cáo này tổng hợp số liệu đã được duyệt của các quý trong kỳ; các đơn vị không gửi "
            "báo cáo riêng cho kỳ này."
        )
    else:
        c = completeness
        text = (
            f"Trong kỳ, {num(c['sent'])}/{num(c['due'])} đơn vị đã gửi báo cáo ({num(c['on_time'])} báo cáo "
            f"đúng hạn, {num(c['late'])} báo cáo quá hạn), {num(c['approved'])} báo cáo đã được duyệt; "
            f"{num(c['missing'])} đơn vị chưa gửi báo cáo."
        )
    _paragraph(document, text, first_line=True)


def _targets(document, areas: list, issuer: Issuer, progress: Callable[[int], None], share: int) -> None:
    lines = [line for _area, _rollup, area_lines in areas for line in area_lines]
    measured = [line for line in lines if line.rollup is not None and line.rollup.met is not None]
    met = sum(1 for line in measured if line.rollup.met)
    _paragraph(document, "II. KẾT QUẢ THỰC HIỆN CÁC CHỈ TIÊU", bold=True, first_line=True, before=6, keep=True)
    summary = (
        f"Toàn {issuer.scope} đạt {num(met)}/{num(len(measured))} chỉ tiêu có số liệu "
        f"(trong tổng số {num(len(lines))} chỉ tiêu được theo dõi; {num(len(lines) - len(measured))} chỉ tiêu "
        "chưa có số liệu)."
    )
    _paragraph(document, summary, first_line=True)
    for index, (area, _rollup, area_lines) in enumerate(areas, start=1):
        progress(int(share * (index - 1) / len(areas)))
        area_measured = [line for line in area_lines if line.rollup is not None and line.rollup.met is not None]
        area_met = sum(1 for line in area_measured if line.rollup.met)
        paragraph = _paragraph(document, first_line=True, keep=bool(area_lines))
        _run(paragraph, f"{index}. ", bold=True)
        _run(paragraph, area.name, bold=True)
        if not area_lines:
            _run(paragraph, ": không có chỉ tiêu định lượng được theo dõi trong kỳ.")
            continue
        if area_measured:
            _run(paragraph, f": đạt {num(area_met)}/{num(len(area_measured))} chỉ tiêu có số liệu.")
        else:
            _run(paragraph, ": các chỉ tiêu chưa có số liệu.")
        behind = [line for line in area_measured if not line.rollup.met]
        if behind:
            missed = "; ".join(
                f"{line.target.code} ({_measured(line.rollup.value, line.target)}, ngưỡng {_threshold(line)})"
                for line in behind
            )
            _paragraph(document, f"Các chỉ tiêu chưa đạt: {missed}.", first_line=True, keep=True)
        rows = [
            [str(n), line.target.code, line.target.title, _threshold(line), _measured(
                line.rollup.value if line.rollup else None, line.target), _result(line)]
            for n, line in enumerate(area_lines, start=1)
        ]  # fmt: skip
        headers = ["TT", "Mã", "Chỉ tiêu", "Ngưỡng", f"Toàn {issuer.scope}", "Kết quả"]
        _table(document, headers, rows, [1.0, 2.3, 6.6, 2.3, 2.2, 2.1], right={0, 3, 4})


def _ranking_rows(scores: list) -> list[list[str]]:
    def row(s) -> list[str]:
        return [
            f"{s.rank}/{s.rank_of}",
            s.unit.name,
            num(s.score),
            s.get_band_display(),
            f"{s.targets_met}/{s.targets_total}",
        ]

    if len(scores) <= 2 * RANKING_EDGE:
        return [row(s) for s in scores]
    return [row(s) for s in scores[:RANKING_EDGE]] + [["…"] * 5] + [row(s) for s in scores[-RANKING_EDGE:]]


def _ranking(document, period: Period) -> None:
    _paragraph(document, "III. XẾP HẠNG CÁC ĐƠN VỊ", bold=True, first_line=True, before=6, keep=True)
    ranked = [(label, ranking(period, level)) for level, label in Level.choices[1:]]
    ranked = [(label, scores) for label, scores in ranked if scores]
    if not ranked:
        _paragraph(document, "Chưa có kết quả xếp hạng của kỳ này.", first_line=True)
        return
    for label, scores in ranked:
        best, worst = scores[0], scores[-1]
        paragraph = _paragraph(document, first_line=True, keep=True)
        _run(paragraph, f"{label}: ", bold=True)
        if len(scores) == 1:
            _run(paragraph, "1 đơn vị được xếp hạng: ")
        else:
            _run(paragraph, f"{num(len(scores))} đơn vị được xếp hạng; cao nhất là ")
        _run(paragraph, best.unit.name)
        _run(paragraph, f" ({num(best.score)} điểm, xếp loại {best.get_band_display()})")
        if len(scores) > 1:
            _run(paragraph, ", thấp nhất là ")
            _run(paragraph, worst.unit.name)
            _run(paragraph, f" ({num(worst.score)} điểm, xếp loại {worst.get_band_display()})")
        _run(paragraph, ".")
        headers = ["Hạng", "Đơn vị", "Điểm", "Xếp loại", "Chỉ tiêu đạt"]
        _table(document, headers, _ranking_rows(scores), [1.8, 7.2, 2.2, 2.6, 2.7], right={0, 2, 4})


def _laggards(document, period: Period) -> None:
    _paragraph(document, "IV. CÁC ĐƠN VỊ CHẬM TIẾN ĐỘ", bold=True, first_line=True, before=6, keep=True)
    groups = laggards_by_member(period)
    flags, members = {}, {}
    for member, group in groups:
        for flag in group:
            flags.setdefault(flag.pk, flag)
            if member is not None:
                members.setdefault(flag.pk, []).append(member.get_full_name())
    if not flags:
        _paragraph(document, "Trong kỳ không có đơn vị chậm tiến độ.", first_line=True)
        return
    ordered = sorted(flags.values(), key=lambda f: (-f.severity, f.unit.path))
    by_reason = Counter(reason["code"] for flag in ordered for reason in flag.reasons)
    reasons = "; ".join(
        f"{_lower_first(str(label))}: {num(by_reason[code])} đơn vị"
        for code, label in LaggardReason.choices
        if by_reason[code]
    )
    _paragraph(document, f"Trong kỳ có {num(len(ordered))} đơn vị chậm tiến độ ({reasons}).", first_line=True)
    _paragraph(document, "Số đơn vị chậm tiến độ theo thành viên Ban Chỉ đạo phụ trách:", first_line=True, keep=True)
    rows = [
        [str(n), member.get_full_name() if member else "Chưa phân công", num(len(group))]
        for n, (member, group) in enumerate(groups, start=1)
    ]
    _table(document, ["TT", "Thành viên phụ trách", "Số đơn vị"], rows, [1.0, 11.5, 4.0], right={0, 2})
    if len(ordered) > LAGGARD_ROWS:
        intro = (
            f"{num(LAGGARD_ROWS)} đơn vị chậm tiến độ nhiều nhất (danh sách đầy đủ {num(len(ordered))} đơn vị "
            "tại Phụ lục):"
        )
    else:
        intro = "Danh sách các đơn vị chậm tiến độ:"
    _paragraph(document, intro, first_line=True, keep=True)
    rows = [
        [str(n), f.unit.name, _sentence(f.reason_text), "; ".join(members.get(f.pk, [])) or "Chưa phân công"]
        for n, f in enumerate(ordered[:LAGGARD_ROWS], start=1)
    ]
    _table(document, ["TT", "Đơn vị", "Lý do", "Thành viên phụ trách"], rows, [1.0, 3.8, 8.4, 3.3], right={0})


def quarterly_docx(period: Period, progress: Callable[[int], None] = lambda _p: None) -> bytes:
    """Build the report; `progress` is told how far it has got, in percent."""
    with translation.override("vi"):
        issuer = province_issuer()
        document = Document()
        _setup(document)
        _heading_block(document, issuer, timezone.localdate())
        _paragraph(document, "BÁO CÁO", bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, before=18, after=0)
        subtitle = f"Kết quả thực hiện các chỉ tiêu cải cách hành chính {period.label}"
        _paragraph(document, subtitle, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, after=0)
        _short_line(document, indent=Cm(6.0))
        _paragraph(document, after=0)
        data = overview(period)
        _reporting(document, data["completeness"])
        progress(10)
        _targets(document, data["areas"], issuer, lambda p: progress(10 + p), 60)
        progress(70)
        _ranking(document, period)
        progress(85)
        _laggards(document, period)
        annex = (
            "Số liệu chi tiết của từng chỉ tiêu theo cấp, bảng xếp hạng đầy đủ và danh sách đơn vị chậm "
            f"tiến độ theo thành viên phụ trách tại Phụ lục kèm theo (tệp bao-cao-cchc-{period.key}.xlsx)."
        )
        _paragraph(document, annex, first_line=True, before=6)
        closing = f"Sở Nội vụ kính báo cáo Ban Chỉ đạo CCHC {issuer.scope}, UBND {issuer.scope}./."
        _paragraph(document, closing, first_line=True, keep=True)
        _signature_block(document, issuer)
        out = io.BytesIO()
        document.save(out)
    progress(100)
    return out.getvalue()
