"""The one pattern of an Excel import page, shared by every import (catalogue, figures, ...)."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render

from .xlsx import ImportResult, WorkbookRejected


def import_page(
    request,
    *,
    form,
    run: Callable[..., ImportResult],
    done: Callable[[ImportResult], str],
    success_url: str,
    template: str,
    context: dict | None = None,
) -> HttpResponse:
    """GET shows the form. A valid POST calls `run(**form.cleaned_data)`: a workbook refused whole
    shows why on the file field; row errors are listed and nothing is saved (400); success shows
    `done(result)` as a message and goes to `success_url`."""
    errors = []
    if request.method == "POST" and form.is_valid():
        try:
            result = run(**form.cleaned_data)
        except WorkbookRejected as exc:
            form.add_error("file", str(exc))
        else:
            if result.ok:
                messages.success(request, done(result))
                return redirect(success_url)
            errors = result.errors
    context = {**(context or {}), "form": form, "errors": errors}
    return render(request, template, context, status=400 if errors else 200)
