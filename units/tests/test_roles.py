import pytest

from units.models import Role

pytestmark = pytest.mark.django_db


def test_reporter_of_unit_a_is_not_reporter_of_unit_b(reporter_a, district_a, district_b):
    assert reporter_a.has_role(Role.REPORTER, district_a)
    assert not reporter_a.has_role(Role.REPORTER, district_b)
    assert not reporter_a.has_role(Role.SECRETARIAT)
    assert reporter_a.unit_ids_for(Role.REPORTER) == {district_a.pk}


def test_steering_member_is_responsible_for_assigned_units_only(steering, district_a, district_b, commune_a1):
    assert steering.unit_ids_for(Role.STEERING) == {district_a.pk, district_b.pk}
    assert not steering.has_role(Role.STEERING, commune_a1)
    assert not steering.has_role(Role.REPORTER)


def test_secretariat_role(secretariat, reporter_a):
    assert secretariat.is_secretariat
    assert not reporter_a.is_secretariat


def test_roles_are_read_once_per_user_object(reporter_a, district_a, district_b, django_assert_num_queries):
    with django_assert_num_queries(1):
        for _ in range(5):
            reporter_a.has_role(Role.REPORTER, district_a)
            reporter_a.has_role(Role.REPORTER, district_b)
