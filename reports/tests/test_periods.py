import datetime as dt

import pytest
from django.core.management import call_command

from reports.models import Period, PeriodKind, PeriodState
from reports.periods import (
    PeriodKeyError,
    parse_key,
    period_create,
    period_window,
    periods_open_due,
    quarter_containing,
)

D = dt.date


@pytest.mark.parametrize(
    "key, start, end",
    [
        ("2024-Q1", D(2023, 12, 15), D(2024, 3, 14)),
        ("2024-Q2", D(2024, 3, 15), D(2024, 6, 14)),
        ("2024-H1", D(2023, 12, 15), D(2024, 6, 14)),
        ("2024-Q3", D(2024, 6, 15), D(2024, 9, 14)),
        ("2024-9M", D(2023, 12, 15), D(2024, 9, 14)),
        ("2024-Q4", D(2024, 9, 15), D(2024, 12, 14)),
        ("2024-Y", D(2023, 12, 15), D(2024, 12, 14)),
    ],
)
def test_cchc_windows_run_from_the_15th_to_the_14th(key, start, end):
    assert period_window(key) == (start, end)


@pytest.mark.parametrize(
    "key, start, end",
    [
        ("2024-Q1", D(2024, 1, 1), D(2024, 3, 31)),
        ("2024-Q4", D(2024, 10, 1), D(2024, 12, 31)),
        ("2024-H1", D(2024, 1, 1), D(2024, 6, 30)),
    ],
)
def test_calendar_windows_for_portal_figures(key, start, end):
    assert period_window(key, calendar=True) == (start, end)


@pytest.mark.parametrize("key", ["2024-Q5", "24-Q1", "2024Q1", "2024-H2", ""])
def test_bad_keys_are_refused_in_vietnamese(key):
    with pytest.raises(PeriodKeyError, match="không phải là mã kỳ báo cáo"):
        parse_key(key)


@pytest.mark.django_db
def test_period_has_the_default_deadline_on_the_17th(settings):
    period = period_create(key="2024-q3")
    assert (period.key, period.kind, period.quarter, period.deadline) == (
        "2024-Q3",
        PeriodKind.QUARTER,
        3,
        D(2024, 9, 17),
    )
    assert period.label == "Quý III/2024"
    settings.REPORT_DEADLINE_DAY = 20
    assert period_create(key="2024-Y").deadline == D(2024, 12, 20)


@pytest.mark.parametrize(
    "day, key",
    [
        (D(2024, 12, 14), "2024-Q4"),
        (D(2024, 12, 15), "2025-Q1"),
        (D(2025, 3, 14), "2025-Q1"),
        (D(2025, 3, 15), "2025-Q2"),
        (D(2025, 9, 14), "2025-Q3"),
    ],
)
def test_quarter_under_way(day, key):
    assert quarter_containing(day) == key


@pytest.mark.django_db
def test_scheduled_job_opens_the_next_quarter_once():
    first = periods_open_due(D(2025, 12, 16))
    again = periods_open_due(D(2025, 12, 20))
    assert first.pk == again.pk
    assert (first.key, first.state, first.start, first.end) == (
        "2026-Q1",
        PeriodState.OPEN,
        D(2025, 12, 15),
        D(2026, 3, 14),
    )
    assert Period.objects.count() == 1


@pytest.mark.django_db
def test_period_command_creates_and_locks(capsys):
    call_command("period", "2025-Q2")
    call_command("period", "2025-Q2", "--state", "locked")
    out = capsys.readouterr().out
    assert "2025-Q2: số liệu từ 15/03/2025 đến 14/06/2025, hạn 17/06/2025, Đang mở" in out
    period = Period.objects.get(key="2025-Q2")
    assert period.state == PeriodState.LOCKED and period.locked_at is not None
