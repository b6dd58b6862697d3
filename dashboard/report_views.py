"""The quarterly report: requested on a page, built by the worker, downloaded when ready."""

from __future__ import annotations

from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from cchc_portal.xlsx import XLSX_CONTENT_TYPE
from units.access import province_reader_required

from .documents import DOCX_CONTENT_TYPE
from .models import ExportFormat, ExportStatus, ReportExport
from .selectors import dashboard_period
from .services import export_request
from .views import dashboard_access

CONTENT_TYPES = {ExportFormat.XLSX: XLSX_CONTENT_TYPE, ExportFormat.DOCX: DOCX_CONTENT_TYPE}


@dashboard_access
def report_page(request, pk: int):
    """The quarterly report's progress, until the file is ready (htmx polls the status part)."""
    export = get_object_or_404(ReportExport.objects.select_related("period"), pk=pk)
    template = "dashboard/_export_status.html" if request.htmx else "dashboard/export.html"
    return render(request, template, {"export": export})


@province_reader_required
@require_POST
def report_request(request):
    """Ask for the workbook (the default) or the Word document of a period."""
    period = dashboard_period(request.POST.get("period", ""))
    format = request.POST.get("format", ExportFormat.XLSX)
    if period is None or format not in ExportFormat.values:
        raise Http404
    export = export_request(period=period, by=request.user, format=format)
    return redirect("dashboard:report", pk=export.pk)


@dashboard_access
def report_download(request, pk: int):
    export = get_object_or_404(ReportExport.objects.select_related("period"), pk=pk, status=ExportStatus.DONE)
    return FileResponse(
        export.file.open("rb"),
        as_attachment=True,
        filename=export.file_name,
        content_type=CONTENT_TYPES[export.format],
    )
