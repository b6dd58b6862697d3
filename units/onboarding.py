"""The province's units and people from one workbook (`units.workbook`): an import that saves all
of it or nothing.

Units are matched by code, people by e-mail address (ignoring case; a new account's user name is
its address in lower case). An import creates and updates, never deletes: a unit or a role absent
from the file stays as it is, and a unit is closed by filling its last day. New accounts get no
password: they are sent an invitation to set their own once the import has committed. Every
change is recorded (UnitChange, AccountChange). The rows are checked together in memory and
saved in bulk: a few queries for each 500 rows, never one per row.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _

from cchc_portal.text import fold
from cchc_portal.xlsx import CellError, ImportResult, open_workbook

from .audit import account_values, diff, unit_values
from .invitations import invitations_request
from .models import AccountAction, AccountChange, Kind, RoleAssignment, Unit, UnitChange, UnitChangeAction, User
from .services import units_rebuild_derived
from .workbook import PEOPLE_SHEET, UNIT_SHEET, cell_error, read_sheet

# Words the portal's own pages use where a unit code goes (/units/setup/): no unit may take them.
RESERVED_CODES = {"setup"}


# --- Checking the rows against each other and the portal ---


@dataclass
class Person:
    row: int
    email: str
    full_name: str | None
    phone: str = ""
    position: str = ""
    roles: list[tuple[int, str, str]] = field(default_factory=list)  # (row, unit code, role)
    user: User | None = None


@dataclass
class Plan:
    """What an import will write: built and checked in memory before anything is saved."""

    new_units: list[Unit] = field(default_factory=list)
    changed_units: list[tuple[Unit, dict]] = field(default_factory=list)
    parents: dict[str, str | None] = field(default_factory=dict)  # unit code -> parent code, for the file's units
    new_users: list[User] = field(default_factory=list)
    changed_users: list[tuple[User, dict]] = field(default_factory=list)
    new_roles: list[tuple[Person, str, str]] = field(default_factory=list)  # (person, unit code, role)


def _stored_parent(unit: Unit, by_id: dict[int, Unit]) -> str | None:
    parent = by_id.get(unit.parent_id) if unit.parent_id else None
    return parent.code if parent else None


def _plan_units(rows, existing: dict[str, Unit], errors: list[CellError], plan: Plan) -> dict[str, tuple[int, dict]]:
    by_id = {unit.pk: unit for unit in existing.values()}
    in_file: dict[str, tuple[int, dict]] = {}
    for number, values in rows:
        code = values.get("code")
        if code is None:
            continue
        if code in in_file:
            message = _("Duplicate %(what)s; first on row %(row)d.") % {"what": _("unit code"), "row": in_file[code][0]}
            cell_error(errors, UNIT_SHEET, number, "code", message)
            continue
        if code.lower() in RESERVED_CODES:
            cell_error(
                errors, UNIT_SHEET, number, "code", _("This code is the name of a page of the portal; choose another.")
            )
        in_file[code] = (number, values)

    for code, (number, values) in in_file.items():
        parent, kind = values.get("parent"), values.get("kind")
        if parent is None or kind is None:
            continue
        if kind == Kind.PROVINCE and parent:
            cell_error(
                errors, UNIT_SHEET, number, "parent", _("A province has no unit above it; leave this cell empty.")
            )
        elif kind != Kind.PROVINCE and not parent:
            message = _("Enter the code of the unit above this one (every unit but the province has one).")
            cell_error(errors, UNIT_SHEET, number, "parent", message)
        elif parent == code:
            cell_error(errors, UNIT_SHEET, number, "parent", _("A unit cannot be placed under itself."))
        elif parent and parent not in in_file and parent not in existing:
            message = _("No unit has the code %(code)s in the file or in the portal.") % {"code": parent}
            cell_error(errors, UNIT_SHEET, number, "parent", message)
        start, end = values.get("valid_from"), values.get("valid_to")
        if start and end and end < start:
            cell_error(errors, UNIT_SHEET, number, "valid_to", _("The last day cannot be before the first day."))

    def parent_of(code: str) -> str | None:
        if code in in_file:
            return in_file[code][1].get("parent") or None
        unit = existing.get(code)
        return _stored_parent(unit, by_id) if unit else None

    reported: set[frozenset] = set()
    for code, (number, _values) in in_file.items():
        chain, node = [code], parent_of(code)
        while node is not None and node not in chain:
            chain.append(node)
            node = parent_of(node)
        if node is None:
            continue
        loop = chain[chain.index(node) :]
        if len(loop) == 1 or frozenset(loop) in reported or code not in loop:
            continue  # a unit under itself is said above; a loop this unit only leads into, by its members
        reported.add(frozenset(loop))
        message = _("The units above this one lead back to it: %s.") % " → ".join([*loop, node])
        cell_error(errors, UNIT_SHEET, number, "parent", message)

    for code, (number, values) in in_file.items():
        if len(values) != len(UNIT_SHEET.columns):
            continue  # a cell of the row is already wrong
        unit = existing.get(code)
        before = unit_values(unit, _stored_parent(unit, by_id)) if unit else {}
        candidate = unit or Unit(code=code)
        for key in ("name", "kind", "valid_from", "valid_to", "is_pilot"):
            setattr(candidate, key, values[key])
        try:
            candidate.clean_fields(exclude=["parent", "path", "search_name", "note"])
        except ValidationError as exc:
            for key, messages in exc.message_dict.items():
                column = key if any(c.key == key for c in UNIT_SHEET.columns) else None
                for message in messages:
                    cell_error(errors, UNIT_SHEET, number, column, message)
            continue
        plan.parents[code] = values["parent"] or None
        changes = diff(before, unit_values(candidate, values["parent"] or None))
        if unit is None:
            plan.new_units.append(candidate)
        elif changes:
            plan.changed_units.append((candidate, changes))
    return in_file


def _plan_people(
    rows, existing: dict[str, Unit], in_file: dict[str, tuple[int, dict]], errors: list[CellError], plan: Plan
) -> None:
    today = timezone.localdate()
    people: dict[str, Person] = {}
    for number, values in rows:
        email = values.get("email")
        if email is None:
            continue
        person = people.get(email)
        if person is None:
            person = people[email] = Person(row=number, email=email, full_name=values.get("full_name"))
        elif None not in (values.get("full_name"), person.full_name) and values["full_name"] != person.full_name:
            message = _("Another name is given for this e-mail address on row %(row)d: %(name)s.") % {
                "row": person.row,
                "name": person.full_name,
            }
            cell_error(errors, PEOPLE_SHEET, number, "full_name", message)
        for key in ("phone", "position"):
            value = values.get(key) or ""
            if value and getattr(person, key) and getattr(person, key) != value:
                message = _("Another value is given for this person on an earlier row: %s.") % getattr(person, key)
                cell_error(errors, PEOPLE_SHEET, number, key, message)
            elif value:
                setattr(person, key, value)
        code, role = values.get("unit"), values.get("role")
        if code is None or role is None:
            continue
        if code not in in_file and code not in existing:
            message = _("No unit has the code %(code)s in the file or in the portal.") % {"code": code}
            cell_error(errors, PEOPLE_SHEET, number, "unit", message)
            continue
        earlier = next((r for r, c, k in person.roles if (c, k) == (code, role)), None)
        if earlier is not None:
            message = _("This person already has this role on this unit on row %d.") % earlier
            cell_error(errors, PEOPLE_SHEET, number, "role", message)
            continue
        person.roles.append((number, code, role))

    emails = list(people)
    found = User.objects.annotate(email_lower=Lower("email")).filter(Q(email_lower__in=emails) | Q(username__in=emails))
    by_email: dict[str, list[User]] = {}
    by_username: dict[str, User] = {}
    for user in found:
        if user.email_lower:
            by_email.setdefault(user.email_lower, []).append(user)
        by_username[user.username] = user
    held = set(
        RoleAssignment.objects.filter(user__in=[u for users in by_email.values() for u in users]).values_list(
            "user_id", "unit__code", "role"
        )
    )
    for email, person in people.items():
        matches = by_email.get(email, [])
        if len(matches) > 1:
            message = _(
                "Several accounts in the portal have this e-mail address (%s); keep it on one of them in the "
                "administration pages."
            ) % ", ".join(sorted(u.username for u in matches))
            cell_error(errors, PEOPLE_SHEET, person.row, "email", message)
            continue
        if person.full_name is None:
            continue  # the name cell is wrong: already said
        user = matches[0] if matches else None
        if user is None:
            taken = by_username.get(email)
            if taken is not None:
                message = _("The user name %s is taken by an account with another e-mail address.") % email
                cell_error(errors, PEOPLE_SHEET, person.row, "email", message)
                continue
            user = User(username=email, email=email, full_name=person.full_name, phone=person.phone)
            user.position = person.position
            user.set_unusable_password()
            try:
                user.clean_fields(exclude=["password", "last_login", "date_joined"])
            except ValidationError as exc:
                for key, messages in exc.message_dict.items():
                    column = {"username": "email"}.get(key, key)
                    column = column if any(c.key == column for c in PEOPLE_SHEET.columns) else None
                    for message in messages:
                        cell_error(errors, PEOPLE_SHEET, person.row, column, message)
                continue
            plan.new_users.append(user)
        else:
            before = account_values(user)
            user.full_name = person.full_name
            user.phone = person.phone or user.phone
            user.position = person.position or user.position
            changes = diff(before, account_values(user))
            if changes:
                plan.changed_users.append((user, changes))
        person.user = user
        for number, code, role in person.roles:
            if user.pk is not None and (user.pk, code, role) in held:
                continue
            last_day = in_file[code][1].get("valid_to") if code in in_file else existing[code].valid_to
            if last_day is not None and last_day < today:
                message = _("The unit closed on %s: no new role can be given on it.") % last_day.strftime("%d/%m/%Y")
                cell_error(errors, PEOPLE_SHEET, number, "unit", message)
                continue
            plan.new_roles.append((person, code, role))


# --- The import ---


def province_import(
    *, upload, by: User | None, invite: bool = True, dry_run: bool = False, source: str = ""
) -> ImportResult:
    """Read a units-and-people workbook; save all of it, or nothing when any row is wrong.

    Saved counts: units_created, units_updated, people_created, people_updated, roles_added and
    invitations (new accounts to invite, when `invite`). Every change is recorded (UnitChange,
    AccountChange) with `by` and `source`. The invitations are sent by the worker once the import
    has committed, never inside it. `dry_run` checks and counts, then saves nothing.
    """
    result = ImportResult()
    workbook = open_workbook(upload)
    try:
        unit_rows = read_sheet(workbook, UNIT_SHEET, result.errors)
        people_rows = read_sheet(workbook, PEOPLE_SHEET, result.errors)
    finally:
        workbook.close()
    if unit_rows is None or people_rows is None:
        return result
    source = source or getattr(upload, "name", "") or ""
    with transaction.atomic():
        plan = Plan()
        existing = {unit.code: unit for unit in Unit.objects.all()}
        in_file = _plan_units(unit_rows, existing, result.errors, plan)
        _plan_people(people_rows, existing, in_file, result.errors, plan)
        if result.errors:
            result.errors.sort(key=_error_order)
            return result
        _apply(plan, existing, by=by, invite=invite, source=source, result=result)
        if dry_run:
            transaction.set_rollback(True)
    return result


def _error_order(error: CellError) -> tuple:
    """Errors as the file reads: sheet by sheet, row by row, column by column."""
    sheets = [str(UNIT_SHEET.title), str(PEOPLE_SHEET.title)]
    for sheet in (UNIT_SHEET, PEOPLE_SHEET):
        if str(sheet.title) == error.sheet:
            columns = [str(c.label) for c in sheet.columns]
            column = columns.index(error.column) if error.column in columns else -1
            return sheets.index(error.sheet), error.row or 0, column
    return len(sheets), error.row or 0, -1


def _apply(plan: Plan, existing: dict[str, Unit], *, by, invite: bool, source: str, result: ImportResult) -> None:
    at = timezone.now()
    by_code = dict(existing)
    # New units are created parents first, a layer at a time, each with its parent, path and search
    # name already right: a province's first import is two or three inserts, not a row-by-row walk.
    waiting = list(plan.new_units)
    while waiting:
        layer = [u for u in waiting if plan.parents[u.code] is None or plan.parents[u.code] in by_code]
        if not layer:  # cannot happen: loops were refused above
            raise RuntimeError("Unit hierarchy has a cycle")
        for unit in layer:
            parent = by_code[plan.parents[unit.code]] if plan.parents[unit.code] else None
            unit.parent_id = parent.pk if parent else None
            unit.path = unit.derived_path(parent.path if parent else "/")
            unit.search_name = fold(f"{unit.name} {unit.code}")
        Unit.objects.bulk_create(layer, batch_size=500)
        by_code.update({unit.code: unit for unit in layer})
        waiting = [u for u in waiting if u.pk is None]
    ids = {code: unit.pk for code, unit in by_code.items()}
    changed = [unit for unit, _changes in plan.changed_units]
    for unit in changed:
        parent = plan.parents.get(unit.code)
        unit.parent_id = ids[parent] if parent else None
    fields = ["name", "kind", "parent", "valid_from", "valid_to", "is_pilot"]
    Unit.objects.bulk_update(changed, fields, batch_size=500)
    if changed:  # a moved or renamed unit: its subtree's paths and its search name follow
        units_rebuild_derived()
    records = [
        UnitChange(
            unit=unit,
            action=UnitChangeAction.CREATED,
            changes=diff({}, unit_values(unit, plan.parents.get(unit.code))),
            source=source,
            changed_by=by,
            changed_at=at,
        )
        for unit in plan.new_units
    ] + [
        UnitChange(
            unit=unit, action=UnitChangeAction.UPDATED, changes=changes, source=source, changed_by=by, changed_at=at
        )
        for unit, changes in plan.changed_units
    ]
    UnitChange.objects.bulk_create(records, batch_size=500)

    User.objects.bulk_create(plan.new_users, batch_size=500)
    User.objects.bulk_update([u for u, _c in plan.changed_users], ["full_name", "phone", "position"], batch_size=500)
    roles = [RoleAssignment(user=p.user, unit_id=ids[code], role=role) for p, code, role in plan.new_roles]
    RoleAssignment.objects.bulk_create(roles, batch_size=500)
    account_records = (
        [
            AccountChange(
                user=user,
                action=AccountAction.CREATED,
                changes=diff({}, account_values(user)),
                source=source,
                changed_by=by,
                changed_at=at,
            )
            for user in plan.new_users
        ]
        + [
            AccountChange(
                user=user, action=AccountAction.UPDATED, changes=changes, source=source, changed_by=by, changed_at=at
            )
            for user, changes in plan.changed_users
        ]
        + [
            AccountChange(
                user=p.user,
                action=AccountAction.ROLE_ADDED,
                changes={"role": [None, role], "unit": [None, code]},
                source=source,
                changed_by=by,
                changed_at=at,
            )
            for p, code, role in plan.new_roles
        ]
    )
    AccountChange.objects.bulk_create(account_records, batch_size=500)
    for what, number in (
        ("units_created", len(plan.new_units)),
        ("units_updated", len(plan.changed_units)),
        ("people_created", len(plan.new_users)),
        ("people_updated", len(plan.changed_users)),
        ("roles_added", len(roles)),
    ):
        if number:
            result.count(what, number)
    if invite and plan.new_users:
        invitations = invitations_request(users=plan.new_users, by=by, at=at)
        result.count("invitations", len(invitations))


def import_summary(result: ImportResult) -> str:
    """What an import did, in one sentence for the page or the command line."""
    if not result.saved:
        return _("No changes: the portal already holds everything in the file.")
    counts = {
        key: result.saved.get(key, 0)
        for key in ("units_created", "units_updated", "people_created", "people_updated", "roles_added", "invitations")
    }
    return (
        _(
            "Imported: %(units_created)d units created and %(units_updated)d updated; %(people_created)d accounts "
            "created and %(people_updated)d updated; %(roles_added)d roles given; %(invitations)d invitations to send."
        )
        % counts
    )
