"""The database refusing a write half-way through a request: a clear message, nothing half-saved.

A trigger makes PostgreSQL refuse the audit row that every change writes last ("disk full"), so
the figures or the status were already written inside the same transaction when it fails.
"""

import pytest
from django.db import connection

from reports.models import Submission, SubmissionEvent, SubmissionStatus
from reports.tests.test_views import FULL, URL

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL (DATABASE_URL)"),
    pytest.mark.django_db,
]

REFUSE_EVENTS = """
CREATE FUNCTION refuse_write() RETURNS trigger AS $$
BEGIN RAISE EXCEPTION 'could not extend file: No space left on device' USING ERRCODE = '53100'; END
$$ LANGUAGE plpgsql;
CREATE TRIGGER refuse_events BEFORE INSERT ON reports_submissionevent FOR EACH ROW EXECUTE FUNCTION refuse_write();
"""
MESSAGE = "Cơ sở dữ liệu chưa ghi được yêu cầu của bạn"


@pytest.fixture
def disk_full():
    with connection.cursor() as cursor:
        cursor.execute(REFUSE_EVENTS)  # undone with the test's transaction


def snapshot(submission):
    submission.refresh_from_db()
    figures = sorted(submission.figures.values_list("target__code", "numerator", "denominator", "value", "note"))
    return submission.status, submission.version, figures, submission.events.count()


def test_saving_figures_when_the_database_refuses(draft_a, login, reporter_a, disk_full):
    before = snapshot(draft_a)
    response = login(reporter_a).post(URL + "save/", {**FULL, "submit": "1"})
    assert response.status_code == 503
    assert MESSAGE in response.content.decode() and "Không có dữ liệu nào của yêu cầu này được lưu" in (
        response.content.decode()
    )
    assert snapshot(draft_a) == before


def test_approving_when_the_database_refuses(submitted_a, login, secretariat, disk_full):
    before = snapshot(submitted_a)
    response = login(secretariat).post(URL + "approve/", {"version": submitted_a.version})
    assert response.status_code == 503 and MESSAGE in response.content.decode()
    assert snapshot(submitted_a) == before
    assert Submission.objects.get(pk=submitted_a.pk).status == SubmissionStatus.SUBMITTED


def test_the_portal_works_again_once_the_database_accepts_writes(draft_a, login, reporter_a, disk_full):
    client = login(reporter_a)
    assert client.post(URL + "save/", FULL).status_code == 503
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER refuse_events ON reports_submissionevent")
    assert client.post(URL + "save/", FULL).status_code == 302
    assert draft_a.figures.get(target__code="TTHC-08").numerator == 1234
    assert SubmissionEvent.objects.filter(submission=draft_a).count() == 2
