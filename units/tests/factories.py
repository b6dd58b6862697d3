import datetime as dt

import factory

from units.models import Kind, Role, RoleAssignment, SuccessionEvent, SuccessionKind, SuccessionLink, Unit, User
from units.services import unit_save


class UnitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Unit

    code = factory.Sequence(lambda n: f"U{n:05d}")
    name = factory.Sequence(lambda n: f"Xã Thử Nghiệm {n}")
    kind = Kind.COMMUNE
    valid_from = dt.date(2008, 1, 1)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return unit_save(unit=model_class(*args, **kwargs))


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ["username"]

    username = factory.Sequence(lambda n: f"user{n}")
    full_name = factory.Sequence(lambda n: f"Nguyễn Văn {n}")
    password = factory.django.Password("Mat-khau-thu-2025")


class RoleAssignmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RoleAssignment

    user = factory.SubFactory(UserFactory)
    role = Role.REPORTER
    unit = factory.SubFactory(UnitFactory)


class SuccessionEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SuccessionEvent

    code = factory.Sequence(lambda n: f"event-{n}")
    kind = SuccessionKind.MERGE
    effective_date = dt.date(2025, 7, 1)
    legal_basis = "Nghị quyết 1678/NQ-UBTVQH15"


def link(event: SuccessionEvent, predecessor: Unit, successor: Unit, weight: str = "1") -> SuccessionLink:
    return SuccessionLink.objects.create(event=event, predecessor=predecessor, successor=successor, weight=weight)
