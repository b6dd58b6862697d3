import datetime as dt
from decimal import Decimal

import factory
from django.utils import timezone

from targets.models import Aggregation, Area, Measure, Target, Threshold


class AreaFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Area
        django_get_or_create = ["code"]

    code = "CQS"
    name = "Xây dựng, phát triển Chính quyền điện tử, Chính quyền số"
    order = 6


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


RECORDED = timezone.make_aware(dt.datetime(2021, 1, 1))


def threshold(target, value, *, level="", from_year=2021, at=RECORDED) -> Threshold:
    return Threshold.objects.create(
        target=target, level=level, from_year=from_year, value=Decimal(value), recorded_at=at
    )
