import datetime as dt
from decimal import Decimal

import factory
from django.utils import timezone

from targets.models import Aggregation, Area, Measure, Programme, Target, Threshold


class AreaFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Area
        django_get_or_create = ["code"]

    code = "CQS"
    name = "Xây dựng, phát triển Chính quyền điện tử, Chính quyền số"
    order = 6


class ProgrammeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Programme
        django_get_or_create = ["code"]

    code = "2021-2025"
    name = "Chương trình tổng thể cải cách hành chính nhà nước giai đoạn 2021-2030, giai đoạn 2021-2025"
    first_year = 2021
    last_year = 2025


def programme_for(first_year: int, last_year: int | None = None) -> Programme:
    """The programme holding these years: the one there, else a five-year one like the national
    programmes (2021-2025, 2026-2030, ...)."""
    found = Programme.objects.filter(first_year__lte=first_year, last_year__gte=last_year or first_year).first()
    if found:
        return found
    start = first_year - (first_year - 2021) % 5
    end = max(start + 4, last_year or start)
    return ProgrammeFactory(code=f"{start}-{end}", name=f"Giai đoạn {start}-{end}", first_year=start, last_year=end)


class TargetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Target

    code = factory.Sequence(lambda n: f"CQS-{n:02d}")
    title = "Tỷ lệ hồ sơ công việc được xử lý trên môi trường mạng"
    area = factory.SubFactory(AreaFactory)
    measure = Measure.RATIO
    aggregation = Aggregation.SUM
    numerator_label = "Số hồ sơ công việc xử lý trên môi trường mạng"
    denominator_label = "Tổng số hồ sơ công việc"
    for_province = True
    for_department = True
    for_district = True
    for_commune = True
    weight = Decimal("5")
    legal_source = "Quyết định 942/QĐ-TTg"
    first_year = 2021
    last_year = 2025
    programme = factory.LazyAttribute(lambda target: programme_for(target.first_year, target.last_year))


RECORDED = timezone.make_aware(dt.datetime(2021, 1, 1))


def threshold(target, value, *, level="", from_year=2021, at=RECORDED) -> Threshold:
    return Threshold.objects.create(
        target=target, level=level, from_year=from_year, value=Decimal(value), recorded_at=at
    )
