"""Quarterly report exports: requested on a page, built by a worker, followed by the page."""

from __future__ import annotations

import logging

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from units.models import User

from .models import ExportStatus, Period, ReportExport
from .quarterly import quarterly_report

logger = logging.getLogger(__name__)


def export_request(*, period: Period, by: User) -> ReportExport:
    """Record the request and hand it to a worker once it is committed."""
    from .tasks import build_quarterly_report  # the task module imports this one

    export = ReportExport.objects.create(period=period, requested_by=by)

    def enqueue() -> None:
        try:
            build_quarterly_report.delay(export.pk)
        except Exception:  # noqa: BLE001 - a broker failure: say so on the page instead of waiting forever
            logger.warning("Could not enqueue the quarterly report", exc_info=True)
            ReportExport.objects.filter(pk=export.pk).update(status=ExportStatus.FAILED)

    transaction.on_commit(enqueue)
    return export


def export_build(export_id: int) -> str:
    """Build (or rebuild, if the message came twice) the workbook of an export."""
    export = ReportExport.objects.select_related("period").get(pk=export_id)
    if export.status == ExportStatus.DONE:
        return export.file.name
    ReportExport.objects.filter(pk=export.pk).update(status=ExportStatus.RUNNING, progress=0)

    def progress(percent: int) -> None:
        ReportExport.objects.filter(pk=export.pk).update(progress=percent)

    try:
        content = quarterly_report(export.period, progress)
    except Exception:
        ReportExport.objects.filter(pk=export.pk).update(status=ExportStatus.FAILED)
        raise
    export.file.save(f"bao-cao-cchc-{export.period.key}.xlsx", ContentFile(content), save=False)
    export.status, export.progress, export.finished_at = ExportStatus.DONE, 100, timezone.now()
    export.save(update_fields=["file", "status", "progress", "finished_at"])
    return export.file.name
