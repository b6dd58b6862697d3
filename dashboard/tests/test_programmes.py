"""The dashboard and the unit page show a programme (giai đoạn) or compare it with the previous one.

A target continued from 2021-2025 into 2026-2030 keeps one series; a continuing unit's earlier
quarters add the counts of the units it absorbed. Figures worked out by hand."""

import datetime as dt
import io

import pytest
from openpyxl import load_workbook

from attainment.engine import period_recompute
from attainment.tests.test_engine import report
from reports.periods import period_create
from targets.models import Programme
from targets.tests.factories import TargetFactory, threshold
from units.models import Kind, Role
from units.tests.factories import RoleAssignmentFactory, SuccessionEventFactory, UnitFactory, UserFactory, link

pytestmark = pytest.mark.django_db


@pytest.fixture
def programmes(db):
    old = Programme.objects.get_or_create(
        code="2021-2025", defaults={"name": "Giai đoạn 2021-2025", "first_year": 2021, "last_year": 2025}
    )[0]
    new = Programme.objects.get_or_create(
        code="2026-2030", defaults={"name": "Giai đoạn 2026-2030", "first_year": 2026, "last_year": 2030}
    )[0]
    return old, new


@pytest.fixture
def story(province, programmes):
    """Sở Tài chính absorbs Sở Kế hoạch và Đầu tư on 1/3/2025. Online dossiers (TTHC-08, 80% to
    2025) continue as TTHC-26 (90% from 2026); a new 2026 target (CDS-01) continues nothing."""
    old, new = programmes
    finance = UnitFactory(code="40-STC", name="Sở Tài chính", kind=Kind.DEPARTMENT, parent=province)
    planning = UnitFactory(
        code="40-SKHDT", name="Sở Kế hoạch và Đầu tư", kind=Kind.DEPARTMENT, parent=province,
        valid_to=dt.date(2025, 2, 28),
    )  # fmt: skip
    link(SuccessionEventFactory(code="2025-03-01-stc", effective_date=dt.date(2025, 3, 1)), planning, finance)
    online = TargetFactory(code="TTHC-08", programme=old, first_year=2021, last_year=2025)
    threshold(online, "80")
    carried = TargetFactory(code="TTHC-26", programme=new, continues=online, first_year=2026, last_year=2030)
    threshold(carried, "90")
    fresh = TargetFactory(code="CDS-01", programme=new, first_year=2026, last_year=2030)
    threshold(fresh, "100")
    periods = {key: period_create(key=key) for key in ("2024-Q4", "2025-Q4", "2026-Q1")}
    report(finance, periods["2024-Q4"], TTHC_08=(300, 400))  # 75%; with planning's 900/1.000: 85,7143%
    report(planning, periods["2024-Q4"], TTHC_08=(900, 1000))
    report(finance, periods["2025-Q4"], TTHC_08=(1300, 1600))  # 81,25%
    report(finance, periods["2026-Q1"], TTHC_26=(1500, 1700), CDS_01=(9, 10))  # 88,2353%; 90%
    for period in periods.values():
        period_recompute(period)
    user = UserFactory(username="sonv")
    RoleAssignmentFactory(user=user, role=Role.SECRETARIAT, unit=province)
    return {"finance": finance, "secretariat": user, **periods}


def _row(page: str, code: str) -> str:
    """The unit page's table row of a target."""
    body = page[page.index('data-testid="unit-trend"') :]
    return next(row for row in body.split("</tr>") if f'fw-semibold">{code}<' in row)


def test_the_unit_page_runs_a_continued_target_from_2024_into_2026_with_what_it_absorbed(story, login):
    client = login(story["secretariat"])
    page = client.get("/dashboard/units/40-STC/").content.decode()
    # The open programme by default; its targets with their whole series.
    assert "Giai đoạn 2026-2030" in page
    row = _row(page, "TTHC-26")
    assert "85,7%* → 81,3% → 88,2%" in row  # 2024-Q4 combined, 2025-Q4, 2026-Q1
    assert "TTHC-08" in row  # "continues TTHC-08"
    assert '81,3% <span class="small text-muted">(Quý IV/2025)' in row  # where 2021-2025 ended
    assert "Sở Kế hoạch và Đầu tư" in page  # the note on what the starred quarter adds
    fresh = _row(page, "CDS-01")
    assert "90%" in fresh and "→" not in fresh and "*" not in fresh


def test_the_unit_page_shows_the_closed_programme_on_request(story, login):
    client = login(story["secretariat"])
    page = client.get("/dashboard/units/40-STC/", {"programme": "2021-2025"}).content.decode()
    assert "TTHC-08" in page and "CDS-01" not in page
    assert "85,7%* → 81,3%" in page
    unknown = client.get("/dashboard/units/40-STC/", {"programme": "1999-2000"}).content.decode()
    assert "CDS-01" in unknown  # an unknown programme falls back to the latest one


def test_the_unit_workbook_keeps_the_official_value_beside_the_combined_one(story, login):
    client = login(story["secretariat"])
    response = client.get("/dashboard/units/40-STC/", {"format": "xlsx", "programme": "2026-2030"})
    sheet = load_workbook(filename=io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    combined = next(r for r in rows if r[:3] == ("TTHC-26", "TTHC-08", "Quý IV/2024"))
    assert combined[3] == pytest.approx(85.7143) and combined[4] == pytest.approx(75)
    assert combined[6] == "Đạt"  # the status of the combined 85,7% against 80%, not the official 75%
    assert "Sở Kế hoạch và Đầu tư" in combined[7]


def test_the_overview_compares_a_continued_target_with_the_end_of_the_previous_programme(story, login):
    client = login(story["secretariat"])
    page = client.get("/dashboard/", {"period": "2026-Q1"}).content.decode()
    assert "Giai đoạn 2026-2030" in page or "2026-2030" in page
    section = page[page.index('data-testid="programme-comparison"') :]
    # The province ended 2021-2025 at 1.300 / 1.600 = 81,25% (2025-Q4) and stands at
    # 1.500 / 1.700 = 88,24% in 2026-Q1: up 6,99 points.
    assert "81,3%" in section and "88,2%" in section and "6,99" in section
    assert "CDS-01" not in section  # continues nothing
    before = client.get("/dashboard/", {"period": "2025-Q4"}).content.decode()
    assert 'data-testid="programme-comparison"' not in before


def test_the_period_list_is_grouped_by_programme(story, login):
    page = login(story["secretariat"]).get("/dashboard/", {"period": "2025-Q4"}).content.decode()
    assert "2021-2025" in page[page.index('data-testid="period-programme"') :][:200]
    page = page[page.index('id="id_period"') :]
    assert page.index("2026-2030") < page.index("Quý I/2026") < page.index("2021-2025") < page.index("Quý IV/2025")
