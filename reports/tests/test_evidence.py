import base64
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from reports.evidence import safe_display_name
from reports.models import EventAction, Evidence, SubmissionEvent

pytestmark = pytest.mark.django_db

URL = "/reports/2025-Q1/429/evidence/"
PDF = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = base64.b64decode(  # a real 2 x 2 picture: a bare signature is refused now
    "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAEUlEQVR4nGP4z8AARAxg8j8AG/ID/fPnS7EAAAAASUVORK5CYII="
)


def upload(client, name, content):
    return client.post(URL, {"file": SimpleUploadedFile(name, content)}, follow=True)


def test_reporter_attaches_and_downloads_a_pdf(draft_a, login, reporter_a, private_media):
    client = login(reporter_a)
    response = upload(client, "Báo cáo quý I.pdf", PDF)
    assert "Đã đính kèm tài liệu." in response.content.decode()
    evidence = Evidence.objects.get()
    assert evidence.original_name == "Báo cáo quý I.pdf" and evidence.content_type == "application/pdf"
    stored = Path(evidence.file.path)
    assert stored.is_relative_to(private_media) and "Báo cáo" not in stored.name and stored.suffix == ".pdf"
    assert not stored.is_relative_to(Path(settings.BASE_DIR) / "static")
    download = client.get(f"{URL}{evidence.pk}/")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PDF
    assert "attachment" in download["Content-Disposition"] and download["X-Content-Type-Options"] == "nosniff"
    assert SubmissionEvent.objects.filter(action=EventAction.EVIDENCE_ADDED).exists()


def test_other_units_cannot_download(draft_a, login, reporter_a, reporter_b, secretariat):
    upload(login(reporter_a), "kiem-chung.png", PNG)
    evidence = Evidence.objects.get()
    assert login(reporter_b).get(f"{URL}{evidence.pk}/").status_code == 404
    assert login(reporter_b).post(f"{URL}{evidence.pk}/remove/").status_code == 404
    assert login(secretariat).get(f"{URL}{evidence.pk}/").status_code == 200
    assert login(reporter_b).post(URL, {"file": SimpleUploadedFile("x.pdf", PDF)}).status_code == 404
    # The same evidence through another unit's URL is not found either.
    assert login(secretariat).get(f"/reports/2025-Q1/425/evidence/{evidence.pk}/").status_code == 404


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("virus.pdf", b"MZ\x90\x00" + b"\0" * 60, "Nội dung tệp không khớp với đuôi .pdf"),
        ("script.exe", b"MZ\x90\x00", "Chỉ chấp nhận tệp PDF, Word, Excel, JPEG và PNG."),
        ("trang.html", b"<script>alert(1)</script>", "Chỉ chấp nhận tệp PDF, Word, Excel, JPEG và PNG."),
        ("anh.png", PDF, "Nội dung tệp không khớp với đuôi .png"),
    ],
)
def test_disguised_or_wrong_files_are_refused(draft_a, login, reporter_a, name, content, message):
    response = upload(login(reporter_a), name, content)
    assert message in response.content.decode()
    assert not Evidence.objects.exists()


def test_oversized_file_is_refused(draft_a, login, reporter_a, settings):
    settings.EVIDENCE_MAX_BYTES = 100
    response = upload(login(reporter_a), "lon.pdf", PDF + b"0" * 200)
    assert "Tệp lớn hơn 100" in response.content.decode()
    assert not Evidence.objects.exists()


@pytest.mark.parametrize(
    "name, expected",
    [
        ("../../etc/passwd.pdf", "passwd.pdf"),
        ("..\\..\\windows\\win.ini.pdf", "win.ini.pdf"),
        ("bao\x00cao\x1b[31m.pdf", "baocao[31m.pdf"),
        ("a" * 300 + ".pdf", "a" * 196 + ".pdf"),
        ("   .pdf", "pdf"),
        ("", "tai-lieu"),
    ],
)
def test_hostile_names_are_made_safe(name, expected):
    assert safe_display_name(name) == expected


def test_hostile_name_is_stored_safely(draft_a, login, reporter_a, private_media):
    upload(login(reporter_a), "../../../../tmp/evil.pdf", PDF)
    evidence = Evidence.objects.get()
    assert evidence.original_name == "evil.pdf"
    assert Path(evidence.file.path).is_relative_to(private_media)


def test_removal_hides_but_keeps_the_document(draft_a, login, reporter_a):
    client = login(reporter_a)
    upload(client, "a.pdf", PDF)
    evidence = Evidence.objects.get()
    client.post(f"{URL}{evidence.pk}/remove/")
    evidence.refresh_from_db()
    assert evidence.removed_at is not None and evidence.removed_by == reporter_a
    assert Path(evidence.file.path).exists()
    assert client.get(f"{URL}{evidence.pk}/").status_code == 404
    assert SubmissionEvent.objects.filter(action=EventAction.EVIDENCE_REMOVED).exists()


def test_no_attachment_once_sent(submitted_a, login, reporter_a):
    response = upload(login(reporter_a), "a.pdf", PDF)
    assert "Chỉ sửa được báo cáo nháp hoặc báo cáo bị trả lại." in response.content.decode()
