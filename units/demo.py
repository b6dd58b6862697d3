"""Demo people for `seed_demo`: one account per role, on units of the demo province."""

from django.contrib.auth.models import Group, Permission
from django.db import transaction

from .models import Role, RoleAssignment, Unit, User

DEMO_PASSWORD = "Cchc@2025demo"

# The units the accounts work on, all in force today: the commune that took over the centre of
# the former Huyện Nghi Lộc on 1/7/2025 (a pilot), Sở Tài chính (which took in Sở Kế hoạch và Đầu
# tư on 1/3/2025), and, for the steering member, the communes that took over Diễn Châu's centre
# and Vinh's.
COMMUNE, DEPARTMENT = "17827", "40-STC"
STEERING_UNITS = (COMMUNE, "17464", "16690", DEPARTMENT)

# (username, full name, position, [(role, unit code), ...], is_staff)
DEMO_USERS = [
    ("sonv", "Nguyễn Thị Hạnh", "Chuyên viên Phòng CCHC, Sở Nội vụ", [(Role.SECRETARIAT, "40")], True),
    (
        "baocao.nghiloc",
        "Trần Văn Minh",
        "Công chức Văn phòng HĐND và UBND xã Nghi Lộc",
        [(Role.REPORTER, COMMUNE)],
        False,
    ),
    (
        "baocao.taichinh",
        "Lê Thị Thu",
        "Chuyên viên Văn phòng Sở Tài chính",
        [(Role.REPORTER, DEPARTMENT)],
        False,
    ),
    ("lanhdao.nghiloc", "Hồ Sỹ Nam", "Chủ tịch UBND xã Nghi Lộc", [(Role.UNIT_HEAD, COMMUNE)], False),
    (
        "bcd.thanhvien",
        "Bùi Thanh An",
        "Phó Chủ tịch UBND tỉnh, Thành viên Ban Chỉ đạo CCHC tỉnh",
        [(Role.STEERING, code) for code in STEERING_UNITS],
        False,
    ),
]

SECRETARIAT_GROUP = "Sở Nội vụ"


def _roles_text(roles: list[tuple[str, str]], units: dict[str, Unit]) -> str:
    """Each role with the units it is held on, for printing (e.g. "Người báo cáo: Xã Nghi Lộc")."""
    held: dict[str, list[str]] = {}
    for role, code in roles:
        held.setdefault(str(Role(role).label), []).append(units[code].name)
    return "; ".join(f"{label}: {', '.join(names)}" for label, names in held.items())


@transaction.atomic
def demo_users_create() -> list[tuple[str, str]]:
    """Create or refresh the demo accounts; returns (username, roles and their units) for printing."""
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
        printed.append((username, _roles_text(roles, units)))
    return printed
