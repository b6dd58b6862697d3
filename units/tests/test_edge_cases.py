from urllib.parse import unquote

import pytest
from django.core.exceptions import ValidationError
from django.urls import Resolver404, resolve

from units.services import unit_save
from units.tests.factories import SuccessionEventFactory

pytestmark = pytest.mark.django_db


def test_a_unit_cannot_be_placed_under_its_own_commune(tree, district_a, commune_a1):
    district_a.parent = commune_a1
    with pytest.raises(ValidationError) as error:
        unit_save(unit=district_a)
    assert error.value.message_dict["parent"] == [
        "Không thể đặt đơn vị vào dưới chính nó hoặc đơn vị trực thuộc của nó."
    ]


def test_constraint_messages_are_vietnamese(tree, commune_b1):
    import datetime as dt

    commune_b1.valid_to = dt.date(2000, 1, 1)
    with pytest.raises(ValidationError) as error:
        commune_b1.full_clean()
    assert "Ngày cuối không được trước ngày đầu." in str(error.value)


def test_succession_events_cannot_be_deleted_in_the_admin(tree, client, django_user_model):
    admin = django_user_model.objects.create_superuser("quantri", password="Mat-khau-thu-2025")
    event = SuccessionEventFactory()
    client.force_login(admin)
    response = client.post(f"/admin/units/successionevent/{event.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    assert type(event).objects.filter(pk=event.pk).exists()


@pytest.mark.parametrize(
    "url",
    ["/units/%00/", "/targets/%00/", "/dashboard/units/%00/", "/reports/2025-Q1/%00/", "/reports/2025-Q%00/429/"],
)
def test_nul_bytes_in_urls_are_404(tree, client, reporter_a, login, url):
    # Refused by the URL's converter, before any view or query sees the byte (PostgreSQL would
    # refuse a NUL in a query with an error, SQLite would quietly find nothing).
    with pytest.raises(Resolver404):
        resolve(unquote(url))
    assert login(reporter_a).get(url).status_code == 404
