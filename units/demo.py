"""Demo people for `seed_demo`: one account per role, on units of the demo province."""

from django.contrib.auth.models import Group, Permission
from django.db import transaction

from .models import Role, RoleAssignment, Unit, User

DEMO_PASSWORD = "Cchc@2025demo"

# (username, full name, position, [(role, unit code), ...], is_staff)
DEMO_USERS = [
    ("sonv", "Nguyễn Thị Hạnh", "Chuyên viên Phòng CCHC, Sở Nội vụ", [(Role.SECRETARIAT, "40")], True),
    (
        "baocao.nghiloc",
        "Trần Văn Minh",
        "Chuyên viên Văn phòng HĐND và UBND huyện Nghi Lộc",
        [(Role.REPORTER, "429")],
        False,
    ),
    (
        "baocao.dienchau",
        "Lê Thị Thu",
        "Chuyên viên Văn phòng HĐND và UBND huyện Diễn Châu",
        [(Role.REPORTER, "425")],
        False,
    ),
    ("lanhdao.nghiloc", "Hồ Sỹ Nam", "Chủ tịch UBND huyện Nghi Lộc", [(Role.UNIT_HEAD, "429")], False),
    (
        "bcd.thanhvien",
        "Bùi Thanh An",
        "Phó Chủ tịch UBND tỉnh, Thành viên Ban Chỉ đạo CCHC tỉnh",
        [(Role.STEERING, "429"), (Role.STEERING, "425"), (Role.STEERING, "412")],
        False,
    ),
]

SECRETARIAT_GROUP = "Sở Nội vụ"


@transaction.atomic
def demo_users_create() -> list[tuple[str, str]]:
    """Create or refresh the demo accounts; returns (username, role labels) for printing."""
    group, _ = Group.objects.get_or_create(name=SECRETARIAT_GROUP)
    group.permissions.set(Permission.objects.filter(content_type__app_label__in=["units", "targets", "reports"]))
    units = Unit.objects.in_bulk([code for *_, roles, _s in DEMO_USERS for _r, code in roles], field_name="code")
    printed = []
    for username, full_name, position, roles, is_staff in DEMO_USERS:
        user, _ = User.objects.update_or_create(
            username=username, defaults={"full_name": full_name, "position": position, "is_staff": is_staff}
        )
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
        if is_staff:
            user.groups.add(group)
        for role, code in roles:
            RoleAssignment.objects.get_or_create(user=user, role=role, unit=units[code])
        labels = sorted({str(Role(role).label) for role, _c in roles})
        printed.append((username, ", ".join(labels)))
    return printed
