import datetime as dt
from smtplib import SMTPServerDisconnected

import pytest
from celery.exceptions import Retry
from django.core import mail

from cchc_portal.celery import app
from reports.models import EventAction, Reminder, ReminderKind, SubmissionStatus
from reports.notices import reminders_send
from reports.services import submission_approve, submission_return
from reports.tasks import notify_reviewed, send_reminders

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def notices_run_in_process(monkeypatch):
    # The notice task runs in this process here, also on Redis; the worker path is test_jobs.py's.
    monkeypatch.setitem(app.conf, "task_always_eager", True)


@pytest.fixture
def emails(reporter_a, reporter_b):
    reporter_a.email, reporter_b.email = "baocao@nghiloc.gov.vn", "baocao@dienchau.gov.vn"
    reporter_a.save()
    reporter_b.save()


def test_reporters_are_told_when_returned(submitted_a, secretariat, emails, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        submission_return(submission=submitted_a, by=secretariat, reason="Thiếu tài liệu kiểm chứng")
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["baocao@nghiloc.gov.vn"]
    assert message.subject == "[CCHC] Báo cáo Quý I/2025 của Huyện Nghi Lộc bị trả lại"
    assert "Lý do: Thiếu tài liệu kiểm chứng" in message.body and "/reports/2025-Q1/429/" in message.body


def test_reporters_are_told_when_approved_only_after_commit(
    submitted_a, secretariat, emails, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        submission_approve(submission=submitted_a, by=secretariat)
    assert mail.outbox == []  # nothing leaves before the approval is committed
    for callback in callbacks:
        callback()
    assert mail.outbox[0].subject == "[CCHC] Báo cáo Quý I/2025 của Huyện Nghi Lộc đã được duyệt"


def test_reminders_before_the_deadline_go_once_to_units_with_nothing_sent(
    catalogue, period, submitted_a, district_b, commune_a1, emails
):
    today = period.deadline - dt.timedelta(days=2)
    assert reminders_send(today) == 1  # Diễn Châu; Nghi Lộc has sent; Nghi Phong has no reporter e-mail
    assert mail.outbox[0].to == ["baocao@dienchau.gov.vn"]
    assert "hạn gửi báo cáo Quý I/2025 là ngày" in mail.outbox[0].subject
    assert reminders_send(today) == 0
    assert send_reminders.apply().get() == 0  # the scheduled task, redelivered: still nothing
    assert len(mail.outbox) == 1
    reminded = set(Reminder.objects.values_list("unit__code", "kind"))
    assert ("425", ReminderKind.BEFORE_DEADLINE) in reminded and ("429", ReminderKind.BEFORE_DEADLINE) not in reminded


def test_no_reminder_too_early(catalogue, period, district_b, emails):
    assert reminders_send(period.deadline - dt.timedelta(days=10)) == 0
    assert not Reminder.objects.exists()


def test_overdue_reminder_once_after_the_deadline(catalogue, period, district_a, district_b, emails):
    assert reminders_send(period.deadline - dt.timedelta(days=1)) == 2
    assert reminders_send(period.deadline + dt.timedelta(days=1)) == 2
    assert all("đã quá hạn" in m.subject for m in mail.outbox[2:])
    assert reminders_send(period.deadline + dt.timedelta(days=2)) == 0
    assert len(mail.outbox) == 4


class MailServerDown:
    """An e-mail backend whose server refuses every connection, counting the attempts."""

    attempts = 0

    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        type(self).attempts += 1
        raise SMTPServerDisconnected("Connection unexpectedly closed")


def test_a_mail_server_that_is_down_never_fails_an_approval(
    submitted_a, secretariat, emails, login, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = f"{__name__}.MailServerDown"
    MailServerDown.attempts = 0
    client = login(secretariat)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/reports/2025-Q1/429/approve/", {"version": submitted_a.version})
    assert response.status_code == 302
    submitted_a.refresh_from_db()
    assert submitted_a.status == SubmissionStatus.APPROVED
    assert submitted_a.events.filter(action=EventAction.APPROVED, by=secretariat).count() == 1
    assert MailServerDown.attempts == 1  # the notice was tried, after the approval was committed
    assert client.get("/reports/2025-Q1/429/").status_code == 200


def test_the_notice_is_sent_once_the_mail_server_is_back(submitted_a, secretariat, emails, settings):
    settings.EMAIL_BACKEND = f"{__name__}.MailServerDown"
    submission_approve(submission=submitted_a, by=secretariat)
    # The worker schedules another try, with back-off, instead of dropping the notice.
    with pytest.raises(Retry):
        notify_reviewed.apply(args=[submitted_a.pk])
    assert mail.outbox == []
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert notify_reviewed.apply(args=[submitted_a.pk]).get() == 1
    assert mail.outbox[0].subject == "[CCHC] Báo cáo Quý I/2025 của Huyện Nghi Lộc đã được duyệt"
