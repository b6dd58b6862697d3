"""Quarterly report exports: requested on a page, built by a worker, followed by the page."""

from __future__ import annotations

from collections.abc import Callable

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from attainment.models import PeriodComputation
from cchc_portal.tasks import enqueue
from reports.models import Period
from units.models import User

from .documents import quarterly_docx
from .models import ExportFormat, ExportStatus, ReportExport
from .quarterly import quarterly_report

BUILDERS: dict[str, Callable[[Period, Callable[[int], None]], bytes]] = {
    ExportFormat.XLSX: quarterly_report,
    ExportFormat.DOCX: quarterly_docx,
}


@transaction.atomic
def export_request(*, period: Period, by: User, format: str = ExportFormat.XLSX) -> ReportExport:
    """Record the request for the workbook or the Word document and hand it to a worker once it is
    committed."""
    from .tasks import build_quarterly_report  # the task module imports this one

    # One build per person, period and format at a time; and a document built since the period's
    # results last changed is handed out again rather than built anew.
    same = ReportExport.objects.select_for_update().filter(period=period, requested_by=by, format=format)
    waiting = same.filter(status__in=[ExportStatus.PENDING, ExportStatus.RUNNING]).first()
    if waiting is not None:
        return waiting
    computed = PeriodComputation.objects.filter(period=period).values_list("computed_at", flat=True).first()
    done = same.filter(status=ExportStatus.DONE).order_by("-finished_at").first()
    if done is not None and computed is not None and done.finished_at >= computed:
        return done
    export = ReportExport(period=period, requested_by=by, format=format)
    export.full_clean()
    export.save()

    def hand_over() -> None:
        # A broker failure: say so on the page instead of letting it wait forever.
        if not enqueue(build_quarterly_report, export.pk):
            ReportExport.objects.filter(pk=export.pk, status=ExportStatus.PENDING).update(status=ExportStatus.FAILED)

    transaction.on_commit(hand_over)
    return export


def export_build(export_id: int) -> str:
    """Build (or rebuild, if the message came twice) the document of an export."""
    export = ReportExport.objects.select_related("period").get(pk=export_id)
    if export.status == ExportStatus.DONE:
        return export.file.name
    ReportExport.objects.filter(pk=export.pk).update(status=ExportStatus.RUNNING, progress=0)

    def progress(percent: int) -> None:
        ReportExport.objects.filter(pk=export.pk).update(progress=percent)

    try:
        content = BUILDERS[export.format](export.period, progress)
    except Exception:
        ReportExport.objects.filter(pk=export.pk).update(status=ExportStatus.FAILED)
        raise
    export.file.save(export.file_name, ContentFile(content), save=False)
    export.status, export.progress, export.finished_at = ExportStatus.DONE, 100, timezone.now()
    export.save(update_fields=["file", "status", "progress", "finished_at"])
    return export.file.name
