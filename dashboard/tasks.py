"""Dashboard jobs. Thin: they take ids and call the services."""

from celery import shared_task

from .services import export_build


@shared_task(acks_late=True)
def build_quarterly_report(export_id: int) -> str:
    """Build the quarterly report workbook of an export request, reporting progress as it goes."""
    return export_build(export_id)
