"""The quarterly report: requested on a page, built by the worker, downloaded when ready."""

from __future__ import annotations

from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from units.access import province_reader_required

from .models import ExportStatus, ReportExport
from .selectors import dashboard_period
from .services import export_request
from .views import dashboard_access


@dashboard_access
def report_page(request, pk: int):
    """The quarterly report's progress, until the file is ready (htmx polls the status part)."""
    export = get_object_or_404(ReportExport.objects.select_related("period"), pk=pk)
    template = "dashboard/_export_status.html" if request.htmx else "dashboard/export.html"
    return render(request, template, {"export": export})


@province_reader_required
@require_POST
def report_request(request):
    period = dashboard_period(request.POST.get("period", ""))
    if period is None:
        raise Http404
    export = export_request(period=period, by=request.user)
    return redirect("dashboard:report", pk=export.pk)


@dashboard_access
def report_download(request, pk: int):
    export = get_object_or_404(ReportExport, pk=pk, status=ExportStatus.DONE)
    return FileResponse(export.file.open("rb"), as_attachment=True, filename=f"bao-cao-cchc-{export.period.key}.xlsx")
