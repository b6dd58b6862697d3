import pytest
from django.contrib.auth.models import Group

pytestmark = pytest.mark.django_db


def change_form(user):
    return {
        "username": user.username,
        "full_name": user.full_name,
        "position": "",
        "email": "",
        "phone": "",
        "is_active": "on",
        "is_staff": "on",
        "is_superuser": "on",
        "groups": [Group.objects.get_or_create(name="Quản trị")[0].pk],
        "last_login_0": "",
        "last_login_1": "",
        "date_joined_0": "01/01/2025",
        "date_joined_1": "08:00:00",
        "role_assignments-TOTAL_FORMS": "0",
        "role_assignments-INITIAL_FORMS": "0",
        "role_assignments-MIN_NUM_FORMS": "0",
        "role_assignments-MAX_NUM_FORMS": "1000",
    }


def test_a_staff_account_cannot_make_itself_a_superuser(secretariat, login, django_user_model):
    from django.contrib.auth.models import Permission

    django_user_model.objects.filter(pk=secretariat.pk).update(is_staff=True)
    secretariat.user_permissions.add(*Permission.objects.filter(codename__in=["change_user", "view_user"]))
    client = login(secretariat)
    page = client.get(f"/admin/units/user/{secretariat.pk}/change/")
    assert page.status_code == 200 and 'name="is_superuser"' not in page.content.decode()
    client.post(f"/admin/units/user/{secretariat.pk}/change/", change_form(secretariat))
    secretariat.refresh_from_db()
    assert (secretariat.is_superuser, secretariat.groups.count()) == (False, 0)


def test_a_superuser_still_grants_administration(secretariat, login, django_user_model):
    admin = django_user_model.objects.create_superuser("quantri", password="Mat-khau-thu-2025")
    client = login(admin)
    page = client.get(f"/admin/units/user/{secretariat.pk}/change/")
    assert 'name="is_superuser"' in page.content.decode()
    response = client.post(f"/admin/units/user/{secretariat.pk}/change/", change_form(secretariat))
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    secretariat.refresh_from_db()
    assert secretariat.is_superuser and secretariat.groups.count() == 1
