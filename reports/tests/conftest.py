import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from reports.periods import period_create
from reports.services import FigureInput, submission_for, submission_save_figures, submission_submit
from targets.models import Measure
from targets.tests.factories import AreaFactory, TargetFactory, threshold


@pytest.fixture(autouse=True)
def private_media(tmp_path, settings):
    """Evidence files of a test go to its own temporary folder."""
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def catalogue(db):
    """Three targets every level reports: a ratio (80%), a satisfaction percent (90%), a reduction (10%)."""
    area = AreaFactory(code="TTHC", name="Cải cách thủ tục hành chính", order=2)
    online = TargetFactory(code="TTHC-08", area=area, title="Hồ sơ giải quyết trực tuyến", order=1)
    threshold(online, "80")
    satisfaction = TargetFactory(code="TTHC-09", area=area, title="Mức độ hài lòng", measure=Measure.PERCENT, order=2)
    threshold(satisfaction, "90")
    units = TargetFactory(
        code="TCBM-02",
        area=AreaFactory(code="TCBM", name="Cải cách tổ chức bộ máy", order=3),
        title="Giảm số đơn vị sự nghiệp",
        measure=Measure.REDUCTION,
        numerator_label="Số đơn vị hiện có",
        denominator_label="Số đơn vị năm 2021",
        for_commune=False,
    )
    threshold(units, "10")
    return {"online": online, "satisfaction": satisfaction, "reduction": units}


@pytest.fixture
def period(db):
    period = period_create(key="2025-Q1")
    period.deadline = timezone.localdate() + dt.timedelta(days=5)
    period.save()
    return period


COMPLETE = {
    "TTHC-08": FigureInput(numerator=1234, denominator=2000),
    "TTHC-09": FigureInput(value=Decimal("92.5")),
    "TCBM-02": FigureInput(numerator=90, denominator=100),
}


@pytest.fixture
def draft_a(catalogue, period, district_a, reporter_a):
    return submission_for(unit=district_a, period=period, by=reporter_a)


@pytest.fixture
def submitted_a(draft_a, reporter_a):
    submission_save_figures(submission=draft_a, figures=COMPLETE, by=reporter_a)
    return submission_submit(submission=draft_a, by=reporter_a)
