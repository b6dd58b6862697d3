"""The dashboard's own records: quarterly report builds requested by readers."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from reports.models import Period, private_storage


class ExportStatus(models.TextChoices):
    PENDING = "pending", _("Waiting")
    RUNNING = "running", _("Being built")
    DONE = "done", _("Ready")
    FAILED = "failed", _("Failed")


class ExportFormat(models.TextChoices):
    XLSX = "xlsx", _("Excel workbook (.xlsx)")
    DOCX = "docx", _("Word document (.docx)")


class ReportExport(models.Model):
    """The quarterly report (the workbook, or the Word document to send), built by a worker; the
    page follows its progress."""

    period = models.ForeignKey(Period, verbose_name=_("period"), on_delete=models.CASCADE, related_name="exports")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("requested by"), on_delete=models.PROTECT)
    requested_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    status = models.CharField(_("status"), max_length=10, choices=ExportStatus.choices, default=ExportStatus.PENDING)
    format = models.CharField(_("format"), max_length=4, choices=ExportFormat.choices, default=ExportFormat.XLSX)
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    file = models.FileField(_("file"), storage=private_storage, upload_to="exports/%Y/%m/", blank=True, max_length=255)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("report export")
        verbose_name_plural = _("report exports")
        ordering = ["-requested_at"]

    def __str__(self) -> str:
        return f"{self.period} · {self.get_format_display()} · {self.get_status_display()}"

    @property
    def file_name(self) -> str:
        """The name the file is saved and downloaded under: bao-cao-cchc-2026-Q4.docx."""
        return f"bao-cao-cchc-{self.period.key}.{self.format}"
