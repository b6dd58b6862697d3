import pytest
from django.utils import timezone

from attainment.engine import period_recompute
from cchc_portal.celery import app
from dashboard import services
from dashboard.models import ExportStatus, ReportExport
from dashboard.services import export_request

pytestmark = pytest.mark.django_db


@pytest.fixture
def computed(catalogue, period, submitted_a, secretariat):
    from reports.services import submission_approve

    submission_approve(submission=submitted_a, by=secretariat)
    period_recompute(period)
    return period


def test_ten_requests_build_the_report_once(computed, steering, login, monkeypatch, django_capture_on_commit_callbacks):
    monkeypatch.setitem(app.conf, "task_always_eager", True)
    builds = []
    real = services.BUILDERS["xlsx"]
    monkeypatch.setitem(services.BUILDERS, "xlsx", lambda *args: builds.append(1) or real(*args))
    client = login(steering)
    for _ in range(10):
        with django_capture_on_commit_callbacks(execute=True):
            client.post("/dashboard/report/", {"period": "2025-Q1"})
    assert len(builds) == 1 and ReportExport.objects.count() == 1


def test_a_request_while_one_is_waiting_gets_that_one(computed, steering, secretariat):
    first = export_request(period=computed, by=steering)  # not built: nothing runs the commit hooks here
    assert export_request(period=computed, by=steering) == first
    assert export_request(period=computed, by=secretariat) != first  # another person's build is theirs
    assert export_request(period=computed, by=steering, format="docx") != first


def test_new_results_make_a_new_build(computed, steering):
    first = export_request(period=computed, by=steering)
    ReportExport.objects.filter(pk=first.pk).update(status=ExportStatus.DONE, finished_at=timezone.now())
    assert export_request(period=computed, by=steering) == first  # the results have not changed since
    period_recompute(computed)
    assert export_request(period=computed, by=steering) != first
