"""Scheduled reporting jobs. Thin: they call the services, which are idempotent."""

from celery import shared_task

from .exports import export_build
from .notices import reminders_send
from .periods import periods_open_due


@shared_task
def open_due_periods() -> str:
    """Make sure the quarter under way exists and is open for reporting."""
    return periods_open_due().key


@shared_task
def send_reminders() -> int:
    """Deadline reminders; safe to run any number of times a day."""
    return reminders_send()


@shared_task(acks_late=True)
def build_quarterly_report(export_id: int) -> str:
    """Build the quarterly report workbook of an export request, reporting progress as it goes."""
    return export_build(export_id)
