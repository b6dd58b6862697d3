"""Reporting jobs. Thin: they take ids and call the services, which are idempotent."""

from smtplib import SMTPException

from celery import shared_task

from .notices import reminders_send, review_notice_send
from .periods import periods_open_due

# A mail server that is down or refuses for a while: try again, waiting longer each time.
MAIL_RETRY = {
    "autoretry_for": (SMTPException, OSError),
    "retry_backoff": 30,
    "retry_backoff_max": 1800,
    "max_retries": 8,
}


@shared_task
def open_due_periods() -> str:
    """Make sure the quarter under way exists and is open for reporting."""
    return periods_open_due().key


@shared_task
def send_reminders() -> int:
    """Deadline reminders; safe to run any number of times a day."""
    return reminders_send()


@shared_task(**MAIL_RETRY)
def notify_reviewed(submission_id: int) -> int:
    """Tell the unit's reporters that their report was approved or returned."""
    return review_notice_send(submission_id)


@shared_task
def purge_removed_evidence() -> int:
    """Delete the files of evidence documents removed more than the grace period ago (the rows and
    their audit stay); any number of runs a day give the same result."""
    from .evidence import evidence_purge_removed  # here: evidence needs services, which import this module

    return evidence_purge_removed()
