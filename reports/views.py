from __future__ import annotations

import re
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cchc_portal.converters import CODE, is_code
from cchc_portal.imports import import_page
from cchc_portal.xlsx import XLSX_CONTENT_TYPE
from targets.selectors import ThresholdResolver
from units.access import secretariat_required

from .access import (
    ReportAccess,
    evidence_for_user,
    imports_for,
    report_for_user,
    template_units_for_user,
)
from .evidence import evidence_add, evidence_remove
from .excel import figures_import, template_workbook
from .forms import EvidenceForm, FiguresForm, FiguresImportForm, ReasonForm, ReviewFilterForm, VersionForm
from .models import Figure, Period, Submission, SubmissionStatus
from .selectors import applicable_targets, next_to_review, previous_figures, review_hint
from .selectors import review_queue as review_queue_of
from .services import (
    Conflict,
    FigureErrors,
    ReportError,
    submission_approve,
    submission_for,
    submission_reopen,
    submission_return,
    submission_save_figures,
    submission_submit,
)


def _figures(access: ReportAccess) -> list[Figure]:
    """The report's figures (unsaved ones before it exists), each with its threshold."""
    period, unit, submission = access.period, access.unit, access.submission
    if submission is not None:
        figures = list(submission.figures.select_related("target"))
    else:
        figures = [Figure(target=t, measure=t.measure) for t in applicable_targets(unit, period)]
    resolver = ThresholdResolver.load(as_of=period.locked_at)
    before = previous_figures(unit, period)
    for figure in figures:
        figure.threshold = resolver.resolve(figure.target_id, unit.level, period.year)
        figure.previous = before.get(figure.target_id)
        figure.hint = review_hint(figure, figure.previous)
    return figures


def _page_context(access: ReportAccess, form=None) -> dict:
    submission = access.submission
    if form is None:
        form = FiguresForm(figures=_figures(access), initial={"version": submission.version if submission else 0})
    return {
        "period": access.period,
        "unit": access.unit,
        "submission": submission,
        "form": form,
        "editable": access.may_edit,
        "reviewer": access.may_review,
        "evidence": submission.evidence.filter(removed_at__isnull=True) if submission else [],
        "events": submission.events.select_related("by") if submission else [],
        "evidence_form": EvidenceForm(),
    }


@login_required
@require_GET
def submission_page(request, period_key: str, unit_code: str):
    access = report_for_user(request.user, period_key, unit_code)
    return render(request, "reports/submission.html", _page_context(access))


def _back(access: ReportAccess) -> str:
    return reverse("reports:submission", args=[access.period.key, access.unit.code])


@login_required
@require_POST
def submission_save(request, period_key: str, unit_code: str):
    """Save the figures (htmx: answers with the form alone); with "submit", send them too."""
    access = report_for_user(request.user, period_key, unit_code)
    if not access.fills:
        raise PermissionDenied
    form = FiguresForm(request.POST, figures=_figures(access))
    saved = False
    if form.is_valid():
        try:
            with transaction.atomic():  # a first save that is refused leaves no empty draft behind
                submission = access.submission or submission_for(
                    unit=access.unit, period=access.period, by=request.user
                )
                submission = submission_save_figures(
                    submission=submission,
                    figures=form.figure_inputs(),
                    by=request.user,
                    expected_version=form.cleaned_data["version"] or 1,
                )
            # The figures are saved: whatever happens next, the form must carry the new version.
            form.data["version"] = submission.version
            if "submit" in request.POST:
                submission_submit(submission=submission, by=request.user)
                messages.success(request, _("The report was sent for review."))
                return _redirect(request, _back(access))
        except FigureErrors as exc:
            for code, fields in exc.errors.items():
                for field, problems in fields.items():
                    name = f"{code}__{field}"
                    for problem in problems:
                        form.add_error(name if name in form.fields else None, problem)
        except Conflict:
            # Keep what the person typed; saving again knowingly replaces the newer figures.
            current = Submission.objects.filter(unit=access.unit, period=access.period).first()
            form.data["version"] = current.version if current else 0
            form.add_error(
                None,
                _(
                    "Someone else saved this report while you were typing. Your figures are still on the page: "
                    "save again to keep them, or reload the page to see the other version."
                ),
            )
        except ReportError as exc:
            form.add_error(None, str(exc))
        else:
            if not request.htmx:
                messages.success(request, _("Draft saved."))
                return redirect(_back(access))
            saved = True
    access = report_for_user(request.user, period_key, unit_code)  # as it is now, after the save
    if saved:
        form = None  # a fresh form with the saved figures and the new version
    context = {**_page_context(access, form), "saved": saved}
    template = "reports/_figures_form.html" if request.htmx else "reports/submission.html"
    return render(request, template, context)


QUEUE_PAGE_SIZE = 50  # a page a reviewer reads without scrolling for long; 500 units make ten


def _redirect(request, url: str) -> HttpResponse:
    """A redirect that htmx follows with a full page load."""
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return redirect(url)


def _review_action(request, period_key, unit_code, action, form_class):
    access = report_for_user(request.user, period_key, unit_code)
    if not access.may_review:
        raise PermissionDenied
    if access.submission is None:
        raise Http404
    submission = access.submission
    form = form_class(request.POST)
    if "version" in form.errors:
        messages.error(request, _("This page is out of date: reload it and decide again."))
    elif not form.is_valid():
        messages.error(request, _("A reason is required."))
    else:
        try:
            extra = {"reason": form.cleaned_data["reason"]} if "reason" in form.cleaned_data else {}
            action(submission=submission, by=request.user, expected_version=form.cleaned_data.get("version"), **extra)
            messages.success(
                request,
                _("%(unit)s: the report is now “%(status)s”.")
                % {"unit": access.unit.name, "status": submission.get_status_display()},
            )
        except ReportError as exc:
            messages.error(request, str(exc))
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = _back(access)
        waiting = next_to_review(submission) if action is not submission_reopen else None
        if waiting is not None and is_code(waiting.unit.code) and submission.status != SubmissionStatus.SUBMITTED:
            target = reverse("reports:submission", args=[waiting.period.key, waiting.unit.code])
            messages.info(request, _("Next report waiting for review: %s.") % waiting.unit.name)
    return redirect(target)


@login_required
@require_POST
def submission_approve_view(request, period_key: str, unit_code: str):
    return _review_action(request, period_key, unit_code, submission_approve, VersionForm)


@login_required
@require_POST
def submission_return_view(request, period_key: str, unit_code: str):
    return _review_action(request, period_key, unit_code, submission_return, ReasonForm)


@login_required
@require_POST
def submission_reopen_view(request, period_key: str, unit_code: str):
    return _review_action(request, period_key, unit_code, submission_reopen, ReasonForm)


@login_required
@require_POST
def evidence_upload(request, period_key: str, unit_code: str):
    access = report_for_user(request.user, period_key, unit_code)
    if not access.fills:
        raise PermissionDenied
    form = EvidenceForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            submission = access.submission or submission_for(unit=access.unit, period=access.period, by=request.user)
            evidence_add(submission=submission, upload=form.cleaned_data["file"], by=request.user)
            messages.success(request, _("Document attached."))
        except ReportError as exc:
            messages.error(request, str(exc))
    else:
        messages.error(request, _("Choose a file to attach."))
    return redirect(_back(access))


@login_required
@require_GET
def evidence_download(request, period_key: str, unit_code: str, pk: int):
    evidence, _access = evidence_for_user(request.user, period_key, unit_code, pk)
    response = FileResponse(evidence.file.open("rb"), as_attachment=True, filename=evidence.original_name)
    response["Content-Type"] = evidence.content_type
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
@require_POST
def evidence_delete(request, period_key: str, unit_code: str, pk: int):
    evidence, access = evidence_for_user(request.user, period_key, unit_code, pk)
    if not access.fills:
        raise PermissionDenied
    try:
        evidence_remove(evidence=evidence, by=request.user)
        messages.success(request, _("Document removed."))
    except ReportError as exc:
        messages.error(request, str(exc))
    return redirect(_back(access))


@login_required
@require_GET
def figures_template(request, period_key: str):
    """The Excel template: a reporter's own unit, or for the secretariat a unit and all below it."""
    period = get_object_or_404(Period, key=period_key)
    code = request.GET.get("unit", "")
    if not re.fullmatch(CODE, code):
        raise Http404
    units = template_units_for_user(request.user, period, code)
    response = HttpResponse(template_workbook(period=period, units=units), content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="bao-cao-{period.key}-{code}.xlsx"'
    return response


@login_required
@require_http_methods(["GET", "POST"])
def figures_upload(request, period_key: str):
    period = get_object_or_404(Period, key=period_key)
    if not imports_for(request.user):
        raise PermissionDenied
    return import_page(
        request,
        form=FiguresImportForm(request.POST or None, request.FILES or None),
        run=lambda file: figures_import(upload=file, period=period, by=request.user),
        done=lambda result: (
            _("Imported %(figures)d figures of %(units)d units, saved as drafts: check and send them.")
            % {"figures": result.saved.get("figures", 0), "units": result.saved.get("units", 0)}
        ),
        success_url=reverse("home"),
        template="reports/import.html",
        context={"period": period},
    )


@secretariat_required
@require_GET
def review_queue(request):
    form = ReviewFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    periods = Period.objects.order_by("-end")
    period = (
        periods.filter(key=filters.get("period")).first() or periods.filter(state="open").first() or periods.first()
    )
    status = filters.get("status", "") if "status" in request.GET else SubmissionStatus.SUBMITTED
    order = request.GET.get("sort", "sent")
    page = None
    if period:
        submissions = review_queue_of(
            period, status=status, kind=filters.get("kind", ""), late=bool(filters.get("late")),
            query=filters.get("q", ""), order=order,
        )  # fmt: skip
        page = Paginator(submissions, QUEUE_PAGE_SIZE).get_page(request.GET.get("page"))
    query = urlencode({k: v for k, v in request.GET.items() if v})
    base = urlencode({k: v for k, v in request.GET.items() if v and k not in ("page", "sort")})
    context = {
        "form": form,
        "period": period,
        "periods": periods,
        "page": page,
        "order": order,
        "base_query": base,
        "next": f"{reverse('reports:review')}?{query}" if query else reverse("reports:review"),
        "status": status,
    }
    return render(request, "reports/review.html", context)
