"""From 1/7/2025 a province has two tiers: departments and commune-level units, no districts.

The pages, the roll-ups, the rankings, the filters and the quarterly report show the levels a
period had: three tiers before 1/7/2025, two after, and no empty district section."""

import datetime as dt
import io
from decimal import Decimal

import pytest
from docx import Document

from attainment.engine import period_recompute
from attainment.models import Rollup, ScopeKind, UnitScore
from attainment.tests.test_engine import report
from dashboard.documents import quarterly_docx
from reports.periods import period_create
from targets.tests.factories import TargetFactory, threshold
from units.models import Kind, Level, Role
from units.tests.factories import RoleAssignmentFactory, SuccessionEventFactory, UnitFactory, UserFactory, link

pytestmark = pytest.mark.django_db

AFTER = dt.date(2025, 7, 1)


@pytest.fixture
def two_tier(province, dept, district_a, commune_a1, commune_a2):
    """Nghi Lộc's district closes on 30/06/2025; its two communes merge into a commune directly
    under the province. The department carries on."""
    for unit in (district_a, commune_a1, commune_a2):
        unit.valid_to = AFTER - dt.timedelta(days=1)
        unit.save()
    new = UnitFactory(code="17827", name="Xã Nghi Lộc", kind=Kind.COMMUNE, parent=province, valid_from=AFTER)
    event = SuccessionEventFactory(code="2025-07-01-nghi-loc", effective_date=AFTER)
    link(event, commune_a1, new)
    link(event, commune_a2, new)
    online = TargetFactory(code="CQS-05", first_year=2025, last_year=2026)
    threshold(online, "90", level=Level.DEPARTMENT)
    threshold(online, "80", level=Level.DISTRICT)
    threshold(online, "60", level=Level.COMMUNE)
    before, after = period_create(key="2025-Q1"), period_create(key="2026-Q1")
    report(dept, before, CQS_05=(95, 100))
    report(district_a, before, CQS_05=(70, 100))
    report(commune_a1, before, CQS_05=(50, 100))
    report(commune_a2, before, CQS_05=(30, 50))
    report(dept, after, CQS_05=(92, 100))
    report(new, after, CQS_05=(130, 200))
    period_recompute(before)
    period_recompute(after)
    user = UserFactory(username="sonv")
    RoleAssignmentFactory(user=user, role=Role.SECRETARIAT, unit=province)
    return {"before": before, "after": after, "new": new, "secretariat": user}


def test_roll_ups_after_the_reform_have_no_district_and_add_up_the_two_tiers(two_tier):
    after = two_tier["after"]
    scopes = set(Rollup.objects.filter(period=after).values_list("scope", "scope_key"))
    assert (ScopeKind.LEVEL, Level.DISTRICT) not in scopes
    assert not any(scope == ScopeKind.DISTRICT for scope, _key in scopes)
    province = Rollup.objects.get(period=after, scope=ScopeKind.PROVINCE, target__code="CQS-05")
    # (92 + 130) / (100 + 200) = 222 / 300 = 74%.
    assert (province.numerator, province.denominator, province.value) == (Decimal(222), Decimal(300), Decimal(74))
    assert set(UnitScore.objects.filter(period=after).values_list("level", flat=True)) == {
        Level.DEPARTMENT,
        Level.COMMUNE,
    }
    before = Rollup.objects.filter(period=two_tier["before"], scope=ScopeKind.LEVEL)
    assert set(before.values_list("scope_key", flat=True)) == {Level.DEPARTMENT, Level.DISTRICT, Level.COMMUNE}


@pytest.mark.parametrize("page", ["/dashboard/heatmap/", "/dashboard/ranking/"])
def test_pages_after_the_reform_offer_no_district_level_or_filter(two_tier, login, page):
    client = login(two_tier["secretariat"])
    after = client.get(page, {"period": "2026-Q1"}).content.decode()
    before = client.get(page, {"period": "2025-Q1"}).content.decode()
    assert "Cấp huyện" not in after and 'name="district"' not in after
    assert "Cấp xã" in after
    assert "Cấp huyện" in before
    if page.endswith("heatmap/"):
        assert 'name="district"' in before


def test_the_quarterly_report_after_the_reform_has_no_district_section(two_tier):
    after = "\n".join(p.text for p in Document(io.BytesIO(quarterly_docx(two_tier["after"]))).paragraphs)
    before = "\n".join(p.text for p in Document(io.BytesIO(quarterly_docx(two_tier["before"]))).paragraphs)
    assert "Cấp huyện" not in after and "Cấp xã" in after
    assert "Cấp huyện" in before
