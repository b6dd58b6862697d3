from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.contrib.auth.models import AbstractUser, UserManager
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from cchc_portal.converters import CODE_MAX_LENGTH, CodeValidator
from cchc_portal.text import fold


class Level(models.TextChoices):
    """Administrative level (cấp): thresholds and target applicability depend on it."""

    PROVINCE = "province", pgettext_lazy("unit level", "Province")
    DEPARTMENT = "department", pgettext_lazy("unit level", "Provincial department")
    DISTRICT = "district", pgettext_lazy("unit level", "District")
    COMMUNE = "commune", pgettext_lazy("unit level", "Commune")


class Kind(models.TextChoices):
    PROVINCE = "province", _("Province")
    DEPARTMENT = "department", _("Department (Sở)")
    AGENCY = "agency", _("Provincial agency (ban, ngành)")
    DISTRICT = "district", _("Rural district (huyện)")
    TOWN = "town", _("District-level town (thị xã)")
    CITY = "city", _("Provincial city (thành phố)")
    COMMUNE = "commune", _("Commune (xã)")
    WARD = "ward", _("Ward (phường)")
    TOWNSHIP = "township", _("Township (thị trấn)")
    SPECIAL_ZONE = "special_zone", _("Special zone (đặc khu)")


KIND_LEVEL: dict[str, str] = {
    Kind.PROVINCE: Level.PROVINCE,
    Kind.DEPARTMENT: Level.DEPARTMENT,
    Kind.AGENCY: Level.DEPARTMENT,
    Kind.DISTRICT: Level.DISTRICT,
    Kind.TOWN: Level.DISTRICT,
    Kind.CITY: Level.DISTRICT,
    Kind.COMMUNE: Level.COMMUNE,
    Kind.WARD: Level.COMMUNE,
    Kind.TOWNSHIP: Level.COMMUNE,
    Kind.SPECIAL_ZONE: Level.COMMUNE,
}


def kinds_of_level(level: str) -> list[str]:
    return [kind for kind, kind_level in KIND_LEVEL.items() if kind_level == level]


class UnitQuerySet(models.QuerySet):
    def current_on(self, day: dt.date) -> UnitQuerySet:
        """Units in force on `day` (valid_to is the last day a unit exists)."""
        return self.filter(Q(valid_to__isnull=True) | Q(valid_to__gte=day), valid_from__lte=day)

    def open(self) -> UnitQuerySet:
        return self.filter(valid_to__isnull=True)

    def at_level(self, level: str) -> UnitQuerySet:
        return self.filter(kind__in=kinds_of_level(level))

    def below_province(self) -> UnitQuerySet:
        """Units that report: every unit but the province itself."""
        return self.exclude(kind__in=kinds_of_level(Level.PROVINCE))

    def provinces(self) -> UnitQuerySet:
        return self.filter(kind__in=kinds_of_level(Level.PROVINCE))

    def subtree(self, unit: Unit) -> UnitQuerySet:
        """`unit` and every unit below it, in one query through the materialised path."""
        return self.filter(path__startswith=unit.path)

    def within(self, units: Iterable[Unit]) -> UnitQuerySet:
        """Units in the subtree of any of `units` (none when `units` is empty)."""
        condition = Q(pk__in=[])
        for unit in units:
            condition |= Q(path__startswith=unit.path)
        return self.filter(condition)

    def search(self, text: str) -> UnitQuerySet:
        """Match code or name, ignoring case and diacritics: "nghi loc" finds "Nghi Lộc"."""
        folded = fold(text)
        return self.filter(Q(search_name__contains=folded) | Q(code__iexact=text.strip()))


class UnitManager(models.Manager.from_queryset(UnitQuerySet)):
    def get_by_natural_key(self, code: str) -> Unit:
        return self.get(code=code)


class Unit(models.Model):
    """An administrative unit or agency (đơn vị). Never deleted: closed by setting valid_to."""

    code = models.CharField(_("code"), max_length=CODE_MAX_LENGTH, unique=True, validators=[CodeValidator()])
    name = models.CharField(_("name"), max_length=255)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    parent = models.ForeignKey(
        "self", verbose_name=_("parent unit"), null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid to"), null=True, blank=True, help_text=_("Last day the unit exists."))
    is_pilot = models.BooleanField(_("pilot unit"), default=False, help_text=_("Chosen by the steering committee."))
    note = models.TextField(
        _("note"), blank=True, help_text=_("Where the code or name comes from, when it is not the official one.")
    )
    # Derived from code/parent and name; kept as columns so subtree and search are single queries.
    path = models.CharField(_("path"), max_length=255, editable=False, db_index=True, default="")
    search_name = models.CharField(_("search name"), max_length=255, editable=False, db_index=True, default="")

    objects = UnitManager()

    class Meta:
        verbose_name = _("unit")
        verbose_name_plural = _("units")
        ordering = ["path"]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=models.F("valid_from")),
                name="unit_valid_range",
                violation_error_message=_("The last day cannot be before the first day."),
            ),
            models.CheckConstraint(
                condition=~Q(code=""), name="unit_code_not_empty", violation_error_message=_("The code is required.")
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def natural_key(self) -> tuple[str]:
        return (self.code,)

    def clean(self) -> None:
        node, seen = self.parent, set()
        while node is not None and node.pk not in seen:
            if self.pk is not None and node.pk == self.pk:
                raise ValidationError({"parent": _("A unit cannot be placed under itself or one of its own units.")})
            seen.add(node.pk)
            node = node.parent

    @property
    def level(self) -> str:
        return KIND_LEVEL[self.kind]

    def get_level_display(self) -> str:
        return Level(self.level).label

    def is_current_on(self, day: dt.date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or self.valid_to >= day)

    @property
    def is_closed(self) -> bool:
        return self.valid_to is not None

    def ancestor_paths(self) -> list[str]:
        """The paths of the unit and of every unit above it: "/40/429/17700/" ->
        ["/40/", "/40/429/", "/40/429/17700/"]."""
        parts = self.path.strip("/").split("/")
        return ["/" + "/".join(parts[: i + 1]) + "/" for i in range(len(parts))]

    def derived_path(self, parent_path: str) -> str:
        return f"{parent_path}{self.code}/"


class SuccessionKind(models.TextChoices):
    MERGE = "merge", _("Merger")
    SPLIT = "split", _("Split")
    RENAME = "rename", _("Rename")


class SuccessionEventManager(models.Manager):
    def get_by_natural_key(self, code: str) -> SuccessionEvent:
        return self.get(code=code)


class SuccessionEvent(models.Model):
    """A reorganisation: predecessors hand over to successors on `effective_date`."""

    code = models.SlugField(_("code"), max_length=60, unique=True)
    kind = models.CharField(_("kind"), max_length=10, choices=SuccessionKind.choices)
    effective_date = models.DateField(_("effective date"))
    legal_basis = models.CharField(_("legal basis"), max_length=255)
    note = models.TextField(_("note"), blank=True)

    objects = SuccessionEventManager()

    class Meta:
        verbose_name = _("succession event")
        verbose_name_plural = _("succession events")
        ordering = ["effective_date", "code"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.effective_date:%d/%m/%Y}: {self.legal_basis}"

    def natural_key(self) -> tuple[str]:
        return (self.code,)


class SuccessionLinkManager(models.Manager):
    def get_by_natural_key(self, event_code: str, predecessor_code: str, successor_code: str) -> SuccessionLink:
        return self.get(event__code=event_code, predecessor__code=predecessor_code, successor__code=successor_code)


class SuccessionLink(models.Model):
    """One predecessor -> successor edge of an event; `weight` is the share handed over (splits)."""

    event = models.ForeignKey(SuccessionEvent, verbose_name=_("event"), on_delete=models.CASCADE, related_name="links")
    predecessor = models.ForeignKey(
        Unit, verbose_name=_("predecessor"), on_delete=models.PROTECT, related_name="successor_links"
    )
    successor = models.ForeignKey(
        Unit, verbose_name=_("successor"), on_delete=models.PROTECT, related_name="predecessor_links"
    )
    weight = models.DecimalField(
        _("weight"), max_digits=5, decimal_places=4, default=1, help_text=_("Share of the predecessor (0-1].")
    )

    objects = SuccessionLinkManager()

    class Meta:
        verbose_name = _("succession link")
        verbose_name_plural = _("succession links")
        constraints = [
            models.UniqueConstraint(
                fields=["event", "predecessor", "successor"],
                name="succession_link_unique",
                violation_error_message=_("This link is already recorded for the event."),
            ),
            models.CheckConstraint(
                condition=~Q(predecessor=models.F("successor")),
                name="succession_link_distinct",
                violation_error_message=_("A unit cannot succeed itself."),
            ),
            models.CheckConstraint(
                condition=Q(weight__gt=0, weight__lte=1),
                name="succession_link_weight",
                violation_error_message=_("The share must be more than 0 and at most 1."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.predecessor} → {self.successor}"

    def natural_key(self) -> tuple[str, str, str]:
        return (self.event.code, self.predecessor.code, self.successor.code)

    natural_key.dependencies = ["units.successionevent", "units.unit"]


class Role(models.TextChoices):
    SECRETARIAT = "secretariat", _("Secretariat (Department of Home Affairs)")
    REPORTER = "reporter", _("Reporter")
    UNIT_HEAD = "unit_head", _("Unit head")
    STEERING = "steering", _("Steering committee member")


class User(AbstractUser):
    """A person using the portal. What they may see and do comes from their role assignments."""

    full_name = models.CharField(_("full name"), max_length=150, blank=True)
    position = models.CharField(_("position"), max_length=255, blank=True)
    phone = models.CharField(_("phone"), max_length=30, blank=True)

    objects = UserManager()

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.full_name or self.username

    def get_full_name(self) -> str:
        return self.full_name or self.username

    @cached_property
    def role_pairs(self) -> frozenset[tuple[str, int]]:
        """(role, unit id) pairs held by this person, loaded once per request."""
        return frozenset(self.role_assignments.values_list("role", "unit_id"))

    def has_role(self, role: str, unit: Unit | None = None) -> bool:
        return any(r == role and (unit is None or u == unit.pk) for r, u in self.role_pairs)

    def unit_ids_for(self, role: str) -> set[int]:
        return {u for r, u in self.role_pairs if r == role}

    @property
    def is_secretariat(self) -> bool:
        return self.has_role(Role.SECRETARIAT)

    @property
    def is_steering(self) -> bool:
        return self.has_role(Role.STEERING)


class RoleAssignment(models.Model):
    """A role a person holds on a unit: reporter of a commune, steering member responsible for it..."""

    user = models.ForeignKey(User, verbose_name=_("user"), on_delete=models.CASCADE, related_name="role_assignments")
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    unit = models.ForeignKey(Unit, verbose_name=_("unit"), on_delete=models.PROTECT, related_name="role_assignments")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("role assignment")
        verbose_name_plural = _("role assignments")
        ordering = ["user__username", "role", "unit__path"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "role", "unit"],
                name="role_assignment_unique",
                violation_error_message=_("This person already has this role on this unit."),
            ),
        ]
        indexes = [models.Index(fields=["unit", "role"])]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()} · {self.unit}"


# --- The record of who set up units and accounts (the catalogue keeps CatalogueChange the same way) ---


class UnitChangeAction(models.TextChoices):
    CREATED = "created", _("Created")
    UPDATED = "updated", _("Updated")


class UnitChange(models.Model):
    """Who created or changed a unit, when, through which door, and each field's [old, new]."""

    unit = models.ForeignKey(Unit, verbose_name=_("unit"), on_delete=models.CASCADE, related_name="changes")
    action = models.CharField(_("action"), max_length=20, choices=UnitChangeAction.choices)
    changes = models.JSONField(_("changes"), default=dict, help_text=_("Field: [old, new]."))
    source = models.CharField(_("source"), max_length=255, blank=True, help_text=_("e.g. the imported file."))
    changed_by = models.ForeignKey(
        User, verbose_name=_("changed by"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    changed_at = models.DateTimeField(_("changed at"))

    class Meta:
        verbose_name = _("unit change")
        verbose_name_plural = _("unit changes")
        ordering = ["-changed_at", "-id"]
        indexes = [models.Index(fields=["unit", "changed_at"])]

    def __str__(self) -> str:
        return f"{self.unit.code} · {self.get_action_display()} · {self.changed_at:%d/%m/%Y %H:%M}"


class AccountAction(models.TextChoices):
    CREATED = "created", _("Created")
    UPDATED = "updated", _("Updated")
    ROLE_ADDED = "role_added", _("Role added")
    ACTIVATED = "activated", _("Password set from the invitation")
    RESET_REQUESTED = "reset_requested", _("Password reset asked for")
    RESET_DONE = "reset_done", _("Password reset")


class AccountChange(models.Model):
    """Who created or changed an account or its roles, and what the person did with their
    invitation or a forgotten password, when, and each field's [old, new]."""

    user = models.ForeignKey(User, verbose_name=_("user"), on_delete=models.CASCADE, related_name="account_changes")
    action = models.CharField(_("action"), max_length=20, choices=AccountAction.choices)
    changes = models.JSONField(_("changes"), default=dict, help_text=_("Field: [old, new]."))
    source = models.CharField(_("source"), max_length=255, blank=True, help_text=_("e.g. the imported file."))
    changed_by = models.ForeignKey(
        User, verbose_name=_("changed by"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    changed_at = models.DateTimeField(_("changed at"))

    class Meta:
        verbose_name = _("account change")
        verbose_name_plural = _("account changes")
        ordering = ["-changed_at", "-id"]
        indexes = [models.Index(fields=["user", "action", "changed_at"])]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_action_display()} · {self.changed_at:%d/%m/%Y %H:%M}"


class Invitation(models.Model):
    """An invitation e-mail: who asked for it and when, and when the worker sent it."""

    user = models.ForeignKey(User, verbose_name=_("user"), on_delete=models.CASCADE, related_name="invitations")
    requested_by = models.ForeignKey(
        User, verbose_name=_("requested by"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(_("requested at"))
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        ordering = ["-requested_at", "-id"]
        indexes = [models.Index(fields=["user", "requested_at"])]

    def __str__(self) -> str:
        return f"{self.user} · {self.requested_at:%d/%m/%Y %H:%M}"
