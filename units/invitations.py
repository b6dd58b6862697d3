"""Invitations and forgotten passwords: one-time links by e-mail, so that nobody types or passes on
a password for someone else.

A new account has no usable password. Its invitation carries a link made by Django's token
machinery with a salt of its own (an invitation link is no password-reset link, and the other
way round) and a longer life (INVITATION_TIMEOUT_DAYS). A token hashes the account's password,
so the link dies the moment a password is set. Mails are sent by the worker once the request
that asked for them has committed (`transaction.on_commit`), and retried while the mail server
is down.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django import forms
from django.conf import settings
from django.contrib.auth.forms import PasswordResetForm
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.contrib.auth.tokens import PasswordResetTokenGenerator, default_token_generator
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.db.models import Max, Prefetch, Q, QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.crypto import constant_time_compare
from django.utils.encoding import force_bytes
from django.utils.http import base36_to_int, urlsafe_base64_encode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cchc_portal.tasks import enqueue

from .models import AccountAction, AccountChange, Invitation, RoleAssignment, User

logger = logging.getLogger(__name__)
DAY = 24 * 3600
RESET_WINDOW = dt.timedelta(hours=1)
# One UPDATE for this many invitations sent, not one per mail (SQLite commits each to disk).
MARK_EVERY = 50


class InvitationTokenGenerator(PasswordResetTokenGenerator):
    """Django's password-reset tokens with their own salt and INVITATION_TIMEOUT_DAYS of life."""

    key_salt = "units.invitations.InvitationTokenGenerator"

    @property
    def timeout(self) -> int:
        return settings.INVITATION_TIMEOUT_DAYS * DAY

    def check_token(self, user, token) -> bool:
        # Django's check with this generator's own timeout instead of PASSWORD_RESET_TIMEOUT.
        if not (user and token):
            return False
        try:
            ts_b36, _hash = token.split("-")
            timestamp = base36_to_int(ts_b36)
        except ValueError:
            return False
        for secret in [self.secret, *self.secret_fallbacks]:
            if constant_time_compare(self._make_token_with_timestamp(user, timestamp, secret), token):
                break
        else:
            return False
        return self._num_seconds(self._now()) - timestamp <= self.timeout


invitation_token_generator = InvitationTokenGenerator()


class InvitationRefused(Exception):
    """Why an invitation cannot be sent, in words for the person who asked (translated)."""


def is_activated(user: User) -> bool:
    """The person has set a password of their own."""
    return user.has_usable_password()


def _portal_link(name: str, user: User, token: str) -> str:
    path = reverse(name, kwargs={"uidb64": urlsafe_base64_encode(force_bytes(user.pk)), "token": token})
    return settings.PORTAL_URL.rstrip("/") + path


# --- Asking for invitations (in the request or the import, before it commits) ---


@transaction.atomic
def invitations_request(*, users: list[User], by: User | None, at: dt.datetime | None = None) -> list[Invitation]:
    """Record an invitation for each of `users` and have the worker send them once this
    transaction commits (never inside it: an import that fails sends nothing)."""
    from .tasks import send_invitations  # here: the tasks call this module

    at = at or timezone.now()
    rows = [Invitation(user=user, requested_by=by, requested_at=at) for user in users]
    Invitation.objects.bulk_create(rows, batch_size=500)
    ids = [row.pk for row in rows]
    if ids:
        transaction.on_commit(lambda: enqueue(send_invitations, ids))
    return rows


def invitation_resend(*, user: User, by: User | None) -> Invitation:
    """A new invitation for one account that has not set its password yet."""
    if not user.is_active:
        raise InvitationRefused(_("The account %s is disabled: no invitation is sent.") % user.username)
    if not user.email:
        raise InvitationRefused(
            _("The account %s has no e-mail address: add one in the administration pages first.") % user.username
        )
    if is_activated(user):
        raise InvitationRefused(
            _(
                "%s has already set a password. If it is forgotten, “Forgot your password?” on the sign-in page "
                "sends a link to set a new one."
            )
            % user.get_full_name()
        )
    return invitations_request(users=[user], by=by)[0]


def users_to_invite(now: dt.datetime | None = None) -> QuerySet[User]:
    """Active accounts with an e-mail address and no password of their own, whose last invitation
    (if any) has expired or was never sent: `manage.py invite --pending`."""
    now = now or timezone.now()
    recent = Invitation.objects.filter(requested_at__gt=now - dt.timedelta(days=settings.INVITATION_TIMEOUT_DAYS))
    return (
        User.objects.filter(is_active=True, password__startswith=UNUSABLE_PASSWORD_PREFIX)
        .exclude(email="")
        .exclude(pk__in=recent.filter(sent_at__isnull=False).values("user_id"))
        .order_by("username")
    )


# --- Sending (the worker) ---


def invitations_send(invitation_ids: list[int]) -> int:
    """Send the invitations of `invitation_ids` not sent yet; returns how many were sent.

    The mails that went are marked sent every MARK_EVERY mails and whenever sending stops (the
    mail server failing half-way), so a retry sends only the rest. An account that set its
    password meanwhile is skipped.
    """
    pending = list(
        Invitation.objects.filter(pk__in=invitation_ids, sent_at__isnull=True).select_related("user").order_by("pk")
    )
    roles: dict[int, list[RoleAssignment]] = {}
    assignments = RoleAssignment.objects.filter(user__in=[i.user_id for i in pending]).select_related("unit")
    for assignment in assignments.order_by("unit__path", "role"):
        roles.setdefault(assignment.user_id, []).append(assignment)
    sent, unmarked = 0, []
    connection = None

    def mark() -> None:
        Invitation.objects.filter(pk__in=unmarked).update(sent_at=timezone.now())
        unmarked.clear()

    try:
        with translation.override(settings.LANGUAGE_CODE):
            for invitation in pending:
                user = invitation.user
                if not (user.is_active and user.email) or is_activated(user):
                    continue
                connection = connection or get_connection()
                _invitation_message(user, roles.get(user.pk, []), connection).send()
                unmarked.append(invitation.pk)
                sent += 1
                if len(unmarked) >= MARK_EVERY:
                    mark()
    finally:
        if unmarked:
            mark()
    return sent


def _invitation_message(user: User, roles: list[RoleAssignment], connection) -> EmailMessage:
    expires = timezone.localdate() + dt.timedelta(days=settings.INVITATION_TIMEOUT_DAYS)
    context = {
        "user": user,
        "username": user.username,
        "link": _portal_link("accounts:invitation", user, invitation_token_generator.make_token(user)),
        "days": settings.INVITATION_TIMEOUT_DAYS,
        "expires": expires,
        "portal_url": settings.PORTAL_URL,
        "roles": roles,
    }
    subject = "".join(render_to_string("registration/invitation_subject.txt", context).splitlines())
    body = render_to_string("registration/invitation_email.txt", context)
    return EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email], connection=connection)


# --- Forgotten passwords ---


def password_reset_request(*, email: str, now: dt.datetime | None = None) -> int:
    """Have the worker mail a reset link to each active account of `email`, at most
    PASSWORD_RESET_MAILS_PER_HOUR to one address in any hour; returns how many were asked for.

    The page answers the same whatever happens here, so nobody learns whether an address has an
    account. An account still waiting for its invitation may use this too: setting a password
    from the link is the same as accepting the invitation.
    """
    now = now or timezone.now()
    with transaction.atomic():
        users = list(User.objects.filter(email__iexact=email, is_active=True).order_by("pk"))
        recent = AccountChange.objects.filter(
            action=AccountAction.RESET_REQUESTED, changed_at__gt=now - RESET_WINDOW, user__email__iexact=email
        ).count()
        allowed = max(0, settings.PASSWORD_RESET_MAILS_PER_HOUR - recent)
        if len(users) > allowed:
            logger.warning("Password reset mails to one address held back: %d in the last hour.", recent)
        chosen = users[:allowed]
        AccountChange.objects.bulk_create(
            [AccountChange(user=user, action=AccountAction.RESET_REQUESTED, changed_at=now) for user in chosen]
        )
        if chosen:
            from .tasks import send_password_reset

            for user in chosen:
                transaction.on_commit(lambda pk=user.pk: enqueue(send_password_reset, pk))
    return len(chosen)


def password_reset_send(user_id: int) -> int:
    """Mail one account its password-reset link (the worker)."""
    user = User.objects.filter(pk=user_id, is_active=True).exclude(email="").first()
    if user is None:
        return 0
    with translation.override(settings.LANGUAGE_CODE):
        context = {
            "user": user,
            "username": user.username,
            "link": _portal_link("accounts:password-reset-confirm", user, default_token_generator.make_token(user)),
            "hours": settings.PASSWORD_RESET_TIMEOUT // 3600,
            "portal_url": settings.PORTAL_URL,
        }
        subject = "".join(render_to_string("registration/password_reset_subject.txt", context).splitlines())
        body = render_to_string("registration/password_reset_email.txt", context)
    return EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email]).send()


class PortalPasswordResetForm(PasswordResetForm):
    """Django's form, handing the request to `password_reset_request` (after commit, throttled)."""

    email = forms.EmailField(
        label=gettext_lazy("Your e-mail address"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )

    def save(self, **kwargs) -> None:
        password_reset_request(email=self.cleaned_data["email"])


def account_record(*, user: User, action: str, by: User | None = None) -> AccountChange:
    return AccountChange.objects.create(user=user, action=action, changed_by=by, changed_at=timezone.now())


# --- Where each account stands ---


@dataclass(frozen=True)
class AccountStatus:
    code: str  # activated, invited, sending, expired, not_invited, no_email, disabled
    text: str


def account_status(user: User, now: dt.datetime | None = None) -> AccountStatus:
    """ "Activated", "invited on dd/mm/yyyy"... for a user loaded by `people_list` (which
    annotates the last invitation asked for and sent)."""
    now = now or timezone.now()
    last_requested = getattr(user, "last_invited", None)
    last_sent = getattr(user, "last_sent", None)
    if not user.is_active:
        return AccountStatus("disabled", _("Disabled"))
    if is_activated(user):
        return AccountStatus("activated", _("Activated"))
    if not user.email:
        return AccountStatus("no_email", _("No e-mail address"))
    if last_requested is None:
        return AccountStatus("not_invited", _("Not invited yet"))
    if last_sent is None or last_sent < last_requested:
        return AccountStatus("sending", _("Invitation being sent"))
    day = timezone.localtime(last_sent).strftime("%d/%m/%Y")
    if now - last_sent > dt.timedelta(days=settings.INVITATION_TIMEOUT_DAYS):
        return AccountStatus("expired", _("Invitation of %s expired") % day)
    return AccountStatus("invited", _("Invited on %s") % day)


def people_list(*, query: str = "", pending: bool = False) -> QuerySet[User]:
    """Accounts with their roles and last invitation, for the people page."""
    users = User.objects.annotate(last_invited=Max("invitations__requested_at"), last_sent=Max("invitations__sent_at"))
    if query.strip():
        text = query.strip()
        users = users.filter(
            Q(full_name__icontains=text)
            | Q(email__icontains=text)
            | Q(username__icontains=text)
            | Q(role_assignments__unit__code__iexact=text)
        ).distinct()
    if pending:
        users = users.filter(is_active=True, password__startswith=UNUSABLE_PASSWORD_PREFIX)
    roles = RoleAssignment.objects.select_related("unit").order_by("unit__path", "role")
    return users.prefetch_related(Prefetch("role_assignments", queryset=roles)).order_by("full_name", "username")


def invited_not_activated() -> int:
    """How many active accounts were invited and have not set their password yet."""
    return (
        User.objects.filter(is_active=True, password__startswith=UNUSABLE_PASSWORD_PREFIX, invitations__isnull=False)
        .distinct()
        .count()
    )
