"""The dashboard's pages on a province too big for one page: a default scope that fits, pages of
rows, the .xlsx with every row, bad page numbers, and a number of queries that does not grow."""

import io

import pytest
from openpyxl import load_workbook

from attainment.engine import period_recompute
from attainment.models import LaggardFlag
from dashboard import selectors
from dashboard.selectors import laggards_by_member
from reports.models import Figure, Submission, SubmissionStatus
from targets.models import Target
from units.models import Kind, Level, Role, Unit
from units.services import units_rebuild_derived
from units.tests.factories import RoleAssignmentFactory, UserFactory

pytestmark = pytest.mark.django_db

Q = {"period": "2025-Q1"}


def _communes(period, district, count: int, approved: int, start: int = 0) -> None:
    """`count` communes under `district`; the first `approved` of them with an approved report:
    the i-th reports i % 40 of 40 on every ratio target (0%, 2,5%, ... 97,5%)."""
    since = district.valid_from
    Unit.objects.bulk_create(
        Unit(code=f"G{i:05d}", name=f"Xã Sinh {i:03d}", kind=Kind.COMMUNE, parent=district, valid_from=since)
        for i in range(start, start + count)
    )
    units_rebuild_derived()
    units = list(Unit.objects.filter(code__startswith="G", submissions__isnull=True).order_by("code")[:approved])
    submissions = Submission.objects.bulk_create(
        Submission(unit=u, period=period, status=SubmissionStatus.APPROVED) for u in units
    )
    targets = list(Target.objects.filter(measure="ratio", for_commune=True))
    Figure.objects.bulk_create(
        Figure(submission=s, target=t, measure=t.measure, numerator=i % 40, denominator=40)
        for i, s in enumerate(submissions)
        for t in targets
    )
    period_recompute(period)


@pytest.fixture
def big(catalogue, period, tree, district_a, secretariat, steering):
    """156 units due: the tree's 6 and 150 communes under Nghi Lộc, 120 of them approved (the
    other 30 sent nothing, as did the tree's units). A second member is responsible for the
    whole province, so every flagged unit sits in two groups."""
    RoleAssignmentFactory(user=UserFactory(username="an", full_name="An Ai Đó"), role=Role.STEERING, unit=tree)
    _communes(period, district_a, 150, approved=120)
    return period


def _names(response):
    return [unit.name for unit, _cells in response.context["rows"]]


def test_the_heatmap_of_a_big_province_opens_on_one_level_a_page_at_a_time(big, login, secretariat):
    client = login(secretariat)
    first = client.get("/dashboard/heatmap/", Q)
    # The communes are the level with the most units ranked: 150 + Nghi Phong, Quán Hành, Diễn Kỷ.
    assert (first.context["scope"].kind, first.context["filters"].level) == ("level", Level.COMMUNE)
    assert first.context["page"].paginator.count == 153 and len(first.context["rows"]) == 100
    body = first.content.decode()
    assert 'data-testid="scope"' in body and "156" in body  # says what is shown, of how many
    assert "page=2" in body and 'data-testid="page-asked"' not in body
    second = client.get("/dashboard/heatmap/", {**Q, "page": "2"})
    assert len(second.context["rows"]) == 53
    assert set(_names(first)).isdisjoint(_names(second))
    # "All levels", chosen in the form: every unit, still a page at a time.
    everything = client.get("/dashboard/heatmap/", {**Q, "level": "", "area": ""})
    assert everything.context["scope"].kind is None and everything.context["page"].paginator.count == 156


def test_a_steering_member_opens_on_their_own_units_and_can_see_the_rest(big, login, steering):
    client = login(steering)
    response = client.get("/dashboard/heatmap/", Q)
    assert response.context["scope"].kind == "mine" and response.context["filters"].mine
    # Nghi Lộc and Diễn Châu with their 153 communes; not Sở Nội vụ.
    assert response.context["page"].paginator.count == 155
    assert 'id="id_mine" value="on" checked' in response.content.decode()
    page_two = client.get("/dashboard/heatmap/", {**Q, "page": "2"})
    assert "Sở Nội vụ" not in _names(response) + _names(page_two) and len(_names(page_two)) == 55
    unticked = client.get("/dashboard/heatmap/", {**Q, "level": "", "area": "", "district": ""})
    assert unticked.context["page"].paginator.count == 156 and "Sở Nội vụ" in _names(unticked)
    ranking = client.get("/dashboard/ranking/", {**Q, "level": "commune"})
    assert ranking.context["scope"].kind == "mine" and ranking.context["page"].paginator.count == 120


def test_the_xlsx_holds_the_whole_filtered_list_not_a_page(big, login, secretariat, monkeypatch):
    monkeypatch.setattr(selectors, "LIST_PAGE", 40)
    client = login(secretariat)

    def rows(url, query):
        sheet = load_workbook(io.BytesIO(client.get(url, {**query, "format": "xlsx", "page": "2"}).content)).active
        header = next(r for r in range(1, 10) if sheet.cell(row=r, column=2).value in ("Đơn vị", "Mã đơn vị"))
        return sheet.max_row - header

    assert rows("/dashboard/heatmap/", Q) == 153  # the default scope, every page of it
    assert rows("/dashboard/heatmap/", {**Q, "level": ""}) == 156
    assert rows("/dashboard/ranking/", {**Q, "level": "commune"}) == 120 + 33  # ranked, then no data
    flagged = LaggardFlag.objects.filter(period=big).count()
    # Every flagged unit sits in An's group and in the steering member's, but Sở Nội vụ only in An's.
    assert rows("/dashboard/laggards/", {**Q, "tier": "all"}) == 2 * flagged - 1
    # 96 communes miss TTHC-08: 0% to 77,5%, three of each.
    assert rows("/dashboard/targets/TTHC-08/", Q) == 96


def test_the_ranking_pages_keep_the_sort_and_name_the_first_units_without_data(big, login, secretariat, monkeypatch):
    from dashboard import views

    monkeypatch.setattr(views, "UNRANKED_SHOWN", 10)
    client = login(secretariat)
    first = client.get("/dashboard/ranking/", {**Q, "level": "commune", "sort": "name"})
    assert first.context["scope"].kind is None  # a secretariat has no units of its own: the whole level
    assert len(first.context["scores"]) == 100 and first.context["page"].paginator.count == 120
    assert "sort=name&amp;page=2" in first.content.decode()
    second = client.get("/dashboard/ranking/", {**Q, "level": "commune", "sort": "name", "page": "2"})
    names = [s.unit.search_name for s in first.context["scores"] + second.context["scores"]]
    assert len(names) == 120 and names == sorted(names)
    assert (second.context["unranked_count"], len(second.context["unranked"])) == (33, 10)
    assert 'data-testid="unranked"' in second.content.decode()


def test_the_laggard_pages_cut_the_same_groups_in_the_same_order(big, login, secretariat, monkeypatch):
    monkeypatch.setattr(selectors, "LIST_PAGE", 25)
    client = login(secretariat)
    whole = laggards_by_member(big, first=secretariat, tier=None)
    expected = [(member, flag.pk) for member, flags in whole for flag in flags]
    flagged = LaggardFlag.objects.filter(period=big).count()
    # Flagged: every unit but the 24 communes at 80% or more (8 values, three units each); all in
    # An's group, all but Sở Nội vụ in the steering member's.
    assert flagged == 156 - 24 and len(expected) == 2 * flagged - 1
    seen, totals, number = [], {}, 1
    while True:
        response = client.get("/dashboard/laggards/", {**Q, "tier": "all", "page": str(number)})
        page = response.context["page"]
        for member, flags in response.context["groups"]:
            assert len(flags) <= 25
            totals[member] = flags.total
            seen += [(member, flag.pk) for flag in flags]
        if not page.has_next():
            break
        number += 1
    assert number == 11  # 263 rows, 25 a page
    assert seen == expected
    assert totals == {member: len(flags) for member, flags in whole}


def test_the_target_page_counts_the_distribution_in_sql_and_pages_who_misses(big, login, steering, monkeypatch):
    monkeypatch.setattr(selectors, "LIST_PAGE", 40)
    client = login(steering)
    first = client.get("/dashboard/targets/TTHC-08/", Q)
    # 120 values from 0% to 97,5% by 2,5: four values (three units each) in every ten points.
    assert first.context["buckets"] == [12] * 10
    assert first.context["page"].paginator.count == 96 and len(first.context["missing"]) == 40
    assert "96" in first.content.decode()
    last = client.get("/dashboard/targets/TTHC-08/", {**Q, "page": "3"})
    values = [float(r.value) for r in first.context["missing"]] + [float(r.value) for r in last.context["missing"]]
    assert len(last.context["missing"]) == 16 and values[0] == 0 and values[-1] == 77.5


PAGES = ["/dashboard/heatmap/", "/dashboard/ranking/", "/dashboard/laggards/", "/dashboard/targets/TTHC-08/"]


@pytest.mark.parametrize("page", ["999", "0", "-3", "abc", "\x00", "9" * 50, "2.5", ""])
def test_a_bad_page_number_shows_a_page_and_says_so(big, login, steering, page):
    client = login(steering)
    for url in PAGES:
        response = client.get(url, {**Q, "page": page})
        assert response.status_code == 200, (url, page)
        shown = response.context["page"]
        if page == "999":
            assert shown.number == shown.paginator.num_pages
        elif page:
            assert shown.number in (1, shown.paginator.num_pages)
        body = response.content.decode()
        assert ('data-testid="page-asked"' in body) == bool(page), (url, page)
        assert "\x00" not in body


def _count(client, url, query, django_assert_max_num_queries, limit=40) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        assert client.get(url, query).status_code == 200
    with django_assert_max_num_queries(len(captured)):
        client.get(url, query)
    assert len(captured) <= limit, (url, query, len(captured))
    return len(captured)


QUERIES = [
    ("/dashboard/heatmap/", {}),
    ("/dashboard/heatmap/", {"page": "2"}),
    ("/dashboard/heatmap/", {"level": "", "mine": "on"}),
    ("/dashboard/ranking/", {}),
    ("/dashboard/ranking/", {"page": "2", "sort": "name"}),
    ("/dashboard/laggards/", {"tier": "all"}),
    ("/dashboard/laggards/", {"tier": "all", "page": "2"}),
    ("/dashboard/targets/TTHC-08/", {}),
    ("/dashboard/targets/TTHC-08/", {"page": "2"}),
]


def test_every_page_runs_the_same_number_of_queries_on_30_and_on_530_units(
    catalogue, period, tree, district_a, login, secretariat, steering, django_assert_max_num_queries
):
    """Small: everything fits on one page, no default scope. Large: a default scope and pages."""
    RoleAssignmentFactory(user=steering, role=Role.STEERING, unit=tree)
    _communes(period, district_a, 24, approved=20)
    counts = {}
    for size in ("small", "large"):
        if size == "large":
            _communes(period, district_a, 500, approved=470, start=24)
        for user in (secretariat, steering):
            client = login(user)
            for url, query in QUERIES:
                key = (user.username, url, tuple(query.items()))
                counts.setdefault(key, []).append(_count(client, url, {**Q, **query}, django_assert_max_num_queries))
    assert Unit.objects.count() == 7 + 524
    assert LaggardFlag.objects.filter(period=period).count() > 200  # the lists run to several pages
    different = {key: pair for key, pair in counts.items() if pair[0] != pair[1]}
    assert not different, different
