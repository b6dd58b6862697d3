"""Evidence documents: only real PDF, Word, Excel and image files, under random names."""

from __future__ import annotations

import re
import unicodedata
from pathlib import PurePosixPath, PureWindowsPath

from django.conf import settings
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _

from units.models import User

from .models import EventAction, Evidence, Submission
from .services import ReportError, check_editable, record_event

# Extension -> (content type, the bytes such a file starts with).
ALLOWED = {
    ".pdf": ("application/pdf", (b"%PDF-",)),
    ".doc": ("application/msword", (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",)),
    ".xls": ("application/vnd.ms-excel", (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",)),
    ".docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", (b"PK\x03\x04",)),
    ".xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (b"PK\x03\x04",)),
    ".jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
}


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
    """Attach a document after checking its size, its extension and that its content matches."""
    check_editable(submission)
    name = safe_display_name(upload.name or "")
    suffix = PurePosixPath(name.lower()).suffix
    if upload.size > settings.EVIDENCE_MAX_BYTES:
        raise ReportError(_("The file is larger than %s.") % filesizeformat(settings.EVIDENCE_MAX_BYTES))
    if suffix not in ALLOWED:
        raise ReportError(_("Only PDF, Word, Excel, JPEG and PNG files are accepted."))
    content_type, signatures = ALLOWED[suffix]
    head = upload.read(16)
    upload.seek(0)
    if not head.startswith(signatures):
        raise ReportError(_("The file's content does not match its extension %s.") % suffix)
    evidence = Evidence(
        submission=submission, original_name=name, content_type=content_type, size=upload.size, uploaded_by=by
    )
    evidence.file.save(name, upload, save=False)
    evidence.save()
    record_event(submission, EventAction.EVIDENCE_ADDED, by, changes={"file": [None, name]})
    return evidence


@transaction.atomic
def evidence_remove(*, evidence: Evidence, by: User) -> None:
    submission = evidence.submission
    check_editable(submission)
    evidence.removed_at, evidence.removed_by = timezone.now(), by
    evidence.save(update_fields=["removed_at", "removed_by"])
    record_event(submission, EventAction.EVIDENCE_REMOVED, by, changes={"file": [evidence.original_name, None]})
