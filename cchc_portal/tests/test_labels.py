"""Words and numbers a reader could misread: each as the reader expects it."""

import datetime as dt
from decimal import Decimal

import pytest

from attainment.engine import period_recompute
from reports.models import PeriodState
from reports.services import FigureInput, submission_approve, submission_for, submission_save_figures, submission_submit
from targets.models import Measure
from targets.tests.factories import TargetFactory, threshold
from units.services import unit_close

pytestmark = pytest.mark.django_db


def test_a_closed_period_is_not_a_dissolved_unit(client, secretariat, login, period):
    from django.contrib.auth import get_user_model

    assert str(PeriodState.CLOSED.label) == "Đã đóng"
    get_user_model().objects.filter(pk=secretariat.pk).update(is_staff=True, is_superuser=True)
    page = login(secretariat).get("/admin/units/unit/")
    assert "Đã giải thể" in page.content.decode()  # the unit list's filter keeps its own word


def test_a_missing_page_is_the_portals_vietnamese_page_in_development_too(client, settings):
    settings.DEBUG = True
    response = client.get("/khong-co-trang-nay/")
    assert response.status_code == 404
    body = response.content.decode()
    assert "Không tìm thấy trang" in body and "URLconf" not in body


def test_admin_shows_years_without_a_thousands_separator(client, login, secretariat, catalogue):
    from django.contrib.auth import get_user_model

    get_user_model().objects.filter(pk=secretariat.pk).update(is_staff=True, is_superuser=True)
    body = login(secretariat).get("/admin/targets/target/").content.decode()
    assert ">2021<" in body and "2.021" not in body
    body = login(secretariat).get("/admin/targets/target/?_facets=True").content.decode()
    assert "Ẩn số lượng" in body  # Django's own "Hide counts", which its Vietnamese catalogue lacks


def test_the_directory_finds_a_district_closed_by_the_reorganisation(client, login, reporter_a, district_a):
    unit_close(unit=district_a, last_day=dt.date(2025, 6, 30))
    client = login(reporter_a)
    found = client.get("/units/", {"q": "nghi loc"}).context["units"]
    assert [u.code for u in found] == ["429"]
    browse = client.get("/units/")
    assert browse.context["closed_hidden"] == 1
    assert "không được hiển thị" in browse.content.decode()
    assert client.get("/units/", {"closed": "on"}).context["closed_hidden"] == 0


def test_done_or_not_done_is_said_in_words(tree, district_a, reporter_a, secretariat, period, login, steering):
    done = TargetFactory(code="TCBM-01", title="Sắp xếp đơn vị hành chính", measure=Measure.BOOLEAN)
    threshold(done, "1")
    submission = submission_for(unit=district_a, period=period, by=reporter_a)
    form = login(reporter_a).get("/reports/2025-Q1/429/").content.decode()
    assert '<option value="1"' in form and "Đã hoàn thành" in form and "Chưa hoàn thành" in form
    submission_save_figures(submission=submission, figures={"TCBM-01": FigureInput(value=Decimal(1))}, by=reporter_a)
    submission_approve(submission=submission_submit(submission=submission, by=reporter_a), by=secretariat)
    period_recompute(period)
    heatmap = login(steering).get("/dashboard/heatmap/", {"period": "2025-Q1", "level": "district"})
    cells = dict(heatmap.context["rows"])[district_a]
    assert [c.text for c in cells] == ["Đã hoàn thành"]
    catalogue = login(steering).get("/targets/", {"year": 2025}).content.decode()
    assert "Đã hoàn thành" in catalogue
