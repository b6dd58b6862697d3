"""Evidence documents: only real PDF, Word, Excel and image files, checked inside, under random names,
within a budget per report; the files of removed documents leave the disk after a grace period."""

from __future__ import annotations

import datetime as dt
import io
import logging
import re
import unicodedata
import zlib
from pathlib import PurePosixPath, PureWindowsPath

from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.db import transaction
from django.db.models import Count, Q, Sum
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _

from cchc_portal.xlsx import office_zip_problem
from units.models import User

from .models import EventAction, Evidence, Submission
from .services import ReportError, check_editable, record_event

logger = logging.getLogger(__name__)

# Defaults of the settings of the same names, read at the moment of use.
EVIDENCE_MAX_FILES_PER_REPORT = 30
EVIDENCE_MAX_BYTES_PER_REPORT = 200 * 2**20
# What a report may keep on disk counting removed documents whose grace period is not over:
# attaching and removing in a loop cannot fill the disk before the files are deleted.
EVIDENCE_MAX_HELD_BYTES_PER_REPORT = 400 * 2**20
# What a .docx or .xlsx may inflate to, and a PDF's object streams altogether.
EVIDENCE_MAX_UNZIPPED_BYTES = 200 * 2**20
EVIDENCE_PURGE_AFTER_DAYS = 30


def _setting(name: str, default: int) -> int:
    return getattr(settings, name, default)


# Extension -> (content type, the bytes such a file starts with).
ALLOWED = {
    ".pdf": ("application/pdf", b"%PDF-"),
    ".docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", b"PK\x03\x04"),
    ".xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", b"PK\x03\x04"),
    ".jpg": ("image/jpeg", b"\xff\xd8\xff"),
    ".jpeg": ("image/jpeg", b"\xff\xd8\xff"),
    ".png": ("image/png", b"\x89PNG\r\n\x1a\n"),
}
OFFICE_MAIN_PART = {".docx": "word/document.xml", ".xlsx": "xl/workbook.xml"}
# Word 97-2003 and Excel 97-2003 compound files: refused whatever they hold (see _inspect).
LEGACY_OFFICE = {".doc", ".xls"}
# Web page and server script code: a file holding it may be meant for a server or a browser, not a reader.
MARKUP = re.compile(rb"<\?php|<script|<html|<!doctype\s+html|<iframe", re.IGNORECASE)
EDGE = 1024  # how much of a file's start and end is searched for MARKUP


def safe_display_name(name: str) -> str:
    """The file name to show: no folders, no control characters, at most 200 characters."""
    name = PureWindowsPath(PurePosixPath(name).name).name
    name = "".join(ch for ch in unicodedata.normalize("NFC", name) if unicodedata.category(ch)[0] != "C")
    name = re.sub(r"\s+", " ", name).strip(" .") or "tai-lieu"
    if len(name) > 200:
        stem, dot, suffix = name.rpartition(".")
        name = (stem[: 200 - len(suffix) - 1] + dot + suffix) if dot and len(suffix) <= 10 else name[:200]
    return name


@transaction.atomic
def evidence_add(*, submission: Submission, upload, by: User) -> Evidence:
    """Attach a document after checking its size, the report's budget, its extension and what is
    inside it (see _inspect)."""
    # One upload at a time per report, so that two at once cannot both fit in the last place.
    submission = Submission.objects.select_for_update(of=("self",)).select_related("period").get(pk=submission.pk)
    check_editable(submission)
    name = safe_display_name(upload.name or "")
    suffix = PurePosixPath(name.lower()).suffix
    if upload.size > settings.EVIDENCE_MAX_BYTES:
        raise ReportError(_("The file is larger than %s.") % filesizeformat(settings.EVIDENCE_MAX_BYTES))
    if suffix in LEGACY_OFFICE:
        raise ReportError(
            _("Word and Excel 97-2003 files (.doc, .xls) are not accepted: save it as .docx, .xlsx or PDF.")
        )
    if suffix not in ALLOWED:
        raise ReportError(_("Only PDF, Word, Excel, JPEG and PNG files are accepted."))
    _check_budget(submission, upload.size)
    content_type, _signature = ALLOWED[suffix]
    upload.seek(0)
    data = upload.read(settings.EVIDENCE_MAX_BYTES + 1)
    upload.seek(0)
    _inspect(suffix, data)
    evidence = Evidence(
        submission=submission, original_name=name, content_type=content_type, size=upload.size, uploaded_by=by
    )
    evidence.file.save(name, upload, save=False)
    evidence.save()
    record_event(submission, EventAction.EVIDENCE_ADDED, by, changes={"file": [None, name]})
    return evidence


def _check_budget(submission: Submission, size: int) -> None:
    max_files = _setting("EVIDENCE_MAX_FILES_PER_REPORT", EVIDENCE_MAX_FILES_PER_REPORT)
    max_bytes = _setting("EVIDENCE_MAX_BYTES_PER_REPORT", EVIDENCE_MAX_BYTES_PER_REPORT)
    max_held = _setting("EVIDENCE_MAX_HELD_BYTES_PER_REPORT", EVIDENCE_MAX_HELD_BYTES_PER_REPORT)
    attached = Q(removed_at__isnull=True)
    used = Evidence.objects.filter(submission=submission).aggregate(
        files=Count("pk", filter=attached),
        bytes=Sum("size", filter=attached, default=0),
        held=Sum("size", filter=~Q(file=""), default=0),  # the rows whose bytes are still on disk
    )
    if used["files"] + 1 > max_files:
        raise ReportError(
            _("A report can have at most %(limit)d documents. Remove one before attaching another.")
            % {"limit": max_files}
        )
    if used["bytes"] + size > max_bytes:
        raise ReportError(
            _("The documents of a report can total at most %(limit)s; this report already has %(used)s.")
            % {"limit": filesizeformat(max_bytes), "used": filesizeformat(used["bytes"])}
        )
    if used["held"] + size > max_held:
        days = _setting("EVIDENCE_PURGE_AFTER_DAYS", EVIDENCE_PURGE_AFTER_DAYS)
        raise ReportError(
            _(
                "A report can keep at most %(limit)s of documents, counting removed ones, which are kept for "
                "%(days)d days; this report keeps %(held)s. Try again when older removed documents are deleted."
            )
            % {"limit": filesizeformat(max_held), "days": days, "held": filesizeformat(used["held"])}
        )


def _inspect(suffix: str, data: bytes) -> None:
    """Refuse a file whose inside is not the plain document its extension promises.

    Word and Excel files must be Office Open XML without macros, ActiveX or parts fetched from
    elsewhere, and must not inflate abnormally (as the Excel import checks them). PDFs must not
    carry JavaScript or launch actions, also hidden behind #-escaped names or in compressed object
    streams. Images must be whole, well-formed JPEG or PNG files, ending where the image ends.
    No file may carry web page or server script code in its first or last kilobyte, nor an image
    in its metadata segments (where EXIF and comments hide it).
    """
    mismatch = _("The file's content does not match its extension %s.") % suffix
    if not data.startswith(ALLOWED[suffix][1]):
        raise ReportError(mismatch)
    if MARKUP.search(data[:EDGE]) or MARKUP.search(data[-EDGE:]):
        raise ReportError(_("The file contains web page or script code and was refused."))
    if suffix in OFFICE_MAIN_PART:
        _inspect_office(suffix, data, mismatch)
    elif suffix == ".pdf":
        _inspect_pdf(data, mismatch)
    else:
        metadata = _jpeg_metadata(data) if suffix in (".jpg", ".jpeg") else _png_metadata(data)
        if metadata is None:
            raise ReportError(mismatch)
        if any(MARKUP.search(part) for part in metadata):
            raise ReportError(_("The file contains web page or script code and was refused."))


def _inspect_office(suffix: str, data: bytes, mismatch: str) -> None:
    problem = office_zip_problem(
        io.BytesIO(data),
        main_part=OFFICE_MAIN_PART[suffix],
        max_unzipped=_setting("EVIDENCE_MAX_UNZIPPED_BYTES", EVIDENCE_MAX_UNZIPPED_BYTES),
    )
    if problem == "not-office":
        raise ReportError(mismatch)
    if problem == "damaged":
        raise ReportError(_("The file is damaged and cannot be opened."))
    if problem == "too-large":
        raise ReportError(_("The document expands to an abnormal size and was refused."))
    if problem == "macros":
        raise ReportError(
            _("Documents with macros or active content are not accepted. Save it as a plain .docx or .xlsx file.")
        )


def _pdf_name(word: str) -> str:
    """A pattern for the PDF name /word, any of its characters possibly written #xx."""
    parts = []
    for char in word:
        hexed = "".join(f"[{d.lower()}{d.upper()}]" if d.isalpha() else d for d in f"{ord(char):02x}")
        parts.append(f"(?:{re.escape(char)}|#{hexed})")
    # A name ends at white space or a delimiter; "/JSON" is not "/JS".
    return "/" + "".join(parts) + r"(?![^\s\x00()<>\[\]{}/%])"


PDF_ACTIVE = re.compile("|".join(_pdf_name(word) for word in ("JavaScript", "JS", "Launch")).encode())
PDF_OBJECT_STREAM = re.compile(_pdf_name("ObjStm").encode())
PDF_STREAM = re.compile(rb"(?<!end)stream(?:\r\n|\n|\r)")
# Far more than any real document holds; bounds the work a crafted file can cause.
PDF_MAX_OBJECT_STREAMS = 10_000


def _inspect_pdf(data: bytes, mismatch: str) -> None:
    if b"%%EOF" not in data[-EDGE:]:
        raise ReportError(mismatch)
    refused = _("PDF files with JavaScript or launch actions are not accepted. Print it to a new PDF and attach that.")
    if PDF_ACTIVE.search(data):
        raise ReportError(refused)
    # Dictionaries, actions among them, may also sit compressed in object streams (PDF 1.5 and later).
    damaged = _("The file is damaged and cannot be opened.")
    budget = _setting("EVIDENCE_MAX_UNZIPPED_BYTES", EVIDENCE_MAX_UNZIPPED_BYTES)
    for number, name in enumerate(PDF_OBJECT_STREAM.finditer(data), start=1):
        if number > PDF_MAX_OBJECT_STREAMS:
            raise ReportError(_("The document expands to an abnormal size and was refused."))
        object_end = data.find(b"endobj", name.end())
        stream = PDF_STREAM.search(data, name.end(), object_end if object_end >= 0 else len(data))
        if not stream:  # an object stream without its data: nothing a reader would accept either
            raise ReportError(damaged)
        end = data.find(b"endstream", stream.end())
        raw = data[stream.end() : end if end >= 0 else len(data)]
        # Every writer compresses object streams with Flate; one that does not inflate cannot be vouched for.
        try:
            content = zlib.decompressobj().decompress(raw, budget + 1)
        except zlib.error:
            raise ReportError(damaged) from None
        budget -= len(content)
        if budget < 0:
            raise ReportError(_("The document expands to an abnormal size and was refused."))
        if PDF_ACTIVE.search(content):
            raise ReportError(refused)


# Frame headers (SOFn): every marker from 0xC0 to 0xCF but DHT, JPG and DAC.
SOF_MARKERS = set(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
# Inside a scan, 0xFF is followed by 0x00 (a stuffed byte), RSTn or more 0xFF (fill): the next other
# marker ends the scan.
JPEG_MARKER_AFTER_SCAN = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")


def _jpeg_metadata(data: bytes) -> list[bytes] | None:
    """The APPn and comment segments of one or more JPEG images one after the other (a camera's
    MPF pictures), or None unless the file is exactly that, optionally padded with zero bytes.

    Each image: SOI, segments of valid length, a frame header before the first scan, scans whose
    data is followed by a marker, and EOI.
    """
    end = len(data.rstrip(b"\0"))
    metadata: list[bytes] = []
    pos = 0
    while pos < end:
        if data[pos : pos + 2] != b"\xff\xd8":
            return None
        pos, frame, scanned = pos + 2, False, False
        while True:
            if pos >= end or data[pos] != 0xFF:
                return None
            while pos < end and data[pos] == 0xFF:  # fill bytes
                pos += 1
            if pos >= end:
                return None
            marker = data[pos]
            pos += 1
            if marker == 0xD9:  # EOI
                if not scanned:
                    return None
                break
            if marker == 0x01:
                continue
            if marker in (0x00, 0xD8) or 0xD0 <= marker <= 0xD7:
                return None
            if pos + 2 > end:
                return None
            length = int.from_bytes(data[pos : pos + 2], "big")
            if length < 2 or pos + length > end:
                return None
            segment = data[pos + 2 : pos + length]
            if 0xE0 <= marker <= 0xEF or marker == 0xFE:
                metadata.append(segment)
            elif marker in SOF_MARKERS:
                components = segment[5] if len(segment) >= 6 else 0
                width = int.from_bytes(segment[3:5], "big") if len(segment) >= 5 else 0
                if not components or not width or len(segment) != 6 + 3 * components:
                    return None
                frame = True
            pos += length
            if marker == 0xDA:  # SOS: entropy-coded data up to the next marker other than RSTn
                if not frame:
                    return None
                found = JPEG_MARKER_AFTER_SCAN.search(data, pos, end)
                if not found:
                    return None
                pos, scanned = found.start(), True
    return metadata


PNG_DEPTHS = {0: {1, 2, 4, 8, 16}, 2: {8, 16}, 3: {1, 2, 4, 8}, 4: {8, 16}, 6: {8, 16}}
# Encoders write image data in chunks of 8 KB or more: a 20 MB image has a few thousand.
PNG_MAX_CHUNKS = 100_000


def _png_metadata(data: bytes) -> list[bytes] | None:
    """The text chunks of a PNG, or None unless the file is exactly a PNG: the signature, IHDR first
    and valid, chunks with good checksums, image data, and IEND as the very end."""
    view, pos, end = memoryview(data), 8, len(data)
    metadata: list[bytes] = []
    first, image_data, chunks = True, False, 0
    while pos + 12 <= end and chunks < PNG_MAX_CHUNKS:
        chunks += 1
        length = int.from_bytes(view[pos : pos + 4], "big")
        kind = bytes(view[pos + 4 : pos + 8])
        stop = pos + 12 + length
        if length > 2**31 - 1 or not kind.isalpha() or stop > end:
            return None
        body = view[pos + 8 : stop - 4]
        if zlib.crc32(body, zlib.crc32(kind)) != int.from_bytes(view[stop - 4 : stop], "big"):
            return None
        if first:
            if kind != b"IHDR" or length != 13:
                return None
            width, height = int.from_bytes(body[0:4], "big"), int.from_bytes(body[4:8], "big")
            depth, colour, compression, filtering, interlace = body[8:13]
            if not (0 < width < 2**31 and 0 < height < 2**31) or depth not in PNG_DEPTHS.get(colour, ()):
                return None
            if compression or filtering or interlace > 1:
                return None
            first = False
        elif kind == b"IHDR":
            return None
        if kind == b"IDAT":
            image_data = True
        elif kind in (b"tEXt", b"iTXt"):
            metadata.append(bytes(body))
        elif kind == b"IEND":
            return metadata if image_data and stop == end else None
        pos = stop
    return None


@transaction.atomic
def evidence_remove(*, evidence: Evidence, by: User) -> None:
    """Hide a document from the report. Its file stays on disk for EVIDENCE_PURGE_AFTER_DAYS days
    (evidence_purge_removed), its row and the audit record for good."""
    submission = evidence.submission
    check_editable(submission)
    evidence.removed_at, evidence.removed_by = timezone.now(), by
    evidence.save(update_fields=["removed_at", "removed_by"])
    record_event(submission, EventAction.EVIDENCE_REMOVED, by, changes={"file": [evidence.original_name, None]})


def evidence_purge_removed(*, now: dt.datetime | None = None) -> int:
    """Delete from disk the files of documents removed more than EVIDENCE_PURGE_AFTER_DAYS days
    ago; returns how many. The rows (name, size, who removed it when) and the audit stay; the
    stored name is cleared, so a second run finds nothing left to do.

    A file is deleted before its row is cleared: if the run stops between the two, the next run
    deletes nothing (the file is already gone) and clears the row.
    """
    days = _setting("EVIDENCE_PURGE_AFTER_DAYS", EVIDENCE_PURGE_AFTER_DAYS)
    cutoff = (now or timezone.now()) - dt.timedelta(days=days)
    due = list(Evidence.objects.filter(removed_at__lt=cutoff).exclude(file="").values_list("pk", "file"))
    storage = Evidence._meta.get_field("file").storage
    purged = []
    for pk, name in due:
        try:
            storage.delete(name)  # a file already missing is not an error
        except (OSError, SuspiciousOperation):
            logger.exception("Could not delete the file of removed evidence %s", pk)
            continue
        purged.append(pk)
    Evidence.objects.filter(pk__in=purged).update(file="")
    return len(purged)
