"""Sign-in security: the client address, the sign-in throttle and the password rules."""

import datetime as dt
import ipaddress
import math
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_failure_limit
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.db.models import Max, Sum
from django.shortcuts import render
from django.utils.translation import gettext as _

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# --- The client's address ---


@lru_cache(maxsize=8)
def _trusted_networks(entries: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    # settings.py has refused mistyped entries already.
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def _address(text: str) -> IPAddress | None:
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if address.version == 6 and address.ipv4_mapped:  # gunicorn on [::] sees 127.0.0.1 as ::ffff:127.0.0.1
        return address.ipv4_mapped
    return address


def _is_trusted_proxy(address: IPAddress | None) -> bool:
    return address is not None and any(
        address in network for network in _trusted_networks(tuple(settings.TRUSTED_PROXIES))
    )


def client_ip(request) -> str:
    """The address a request came from, as the sign-in throttle counts it.

    REMOTE_ADDR, unless that is one of settings.TRUSTED_PROXIES (the portal's own TLS proxy):
    then the address that proxy appended to X-Forwarded-For, walking left past further trusted
    proxies. Entries left of the first untrusted one are whatever the client chose to send, and a
    client reaching gunicorn directly is not a trusted proxy, so its header is not read at all.
    """
    remote = request.META.get("REMOTE_ADDR", "")
    if not settings.BEHIND_TLS_PROXY:
        return remote
    address = _address(remote)
    hops = [hop for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    while hops and _is_trusted_proxy(address):
        hop = _address(hops.pop())
        if hop is None:  # not written by a proxy of ours: the last trusted one is all we know
            break
        address = hop
    return str(address) if address is not None else remote


# --- The sign-in throttle ---
#
# django-axes records every wrong password (per user name, address and browser) and refuses a
# sign-in when one count reaches one limit. The portal needs three counts with limits of their own,
# so LoginThrottleHandler replaces axes' count with `login_pause`; axes still records the
# failures, cleans them up after AXES_COOLOFF_TIME and answers with the lockout page.


@dataclass(frozen=True)
class LoginRule:
    """Wrong passwords sharing `fields`, counted over the last AXES_COOLOFF_TIME: from
    `slow_down_from` on, each try waits LOGIN_SLOW_DOWN_SECONDS after the previous failure;
    at `lock_at` every try waits until the count drops (AXES_COOLOFF_TIME at most)."""

    name: str
    fields: tuple[str, ...]
    slow_down_from: int | None
    lock_at: int


def login_rules() -> tuple[LoginRule, ...]:
    return (
        LoginRule("desk", ("username", "ip_address"), None, settings.AXES_FAILURE_LIMIT),
        LoginRule(
            "username", ("username",), settings.LOGIN_USERNAME_SLOW_DOWN_FROM, settings.LOGIN_USERNAME_FAILURE_LIMIT
        ),
        LoginRule(
            "address", ("ip_address",), settings.LOGIN_ADDRESS_SLOW_DOWN_FROM, settings.LOGIN_ADDRESS_FAILURE_LIMIT
        ),
    )


@dataclass(frozen=True)
class LoginPause:
    rule: LoginRule
    failures: int
    locked: bool  # reached the rule's limit, rather than slowed down
    wait: dt.timedelta  # how long until the next try is let through, at most


def login_pause(*, username: str | None, ip_address: str | None, at: dt.datetime) -> LoginPause | None:
    """What holds back a sign-in for `username` from `ip_address` at `at`: of the rules reached,
    the one with the longest wait; None lets the password be checked."""
    values = {"username": username, "ip_address": ip_address}
    cool_off = settings.AXES_COOLOFF_TIME
    slow_down = dt.timedelta(seconds=settings.LOGIN_SLOW_DOWN_SECONDS)
    recent = AccessAttempt.objects.filter(attempt_time__gte=at - cool_off)
    pauses = []
    for rule in login_rules():
        if not all(values[field] for field in rule.fields):
            continue
        counted = recent.filter(**{field: values[field] for field in rule.fields}).aggregate(
            failures=Sum("failures_since_start"), last=Max("attempt_time")
        )
        failures = counted["failures"] or 0
        if failures >= rule.lock_at:
            pauses.append(LoginPause(rule, failures, locked=True, wait=cool_off))
        elif rule.slow_down_from is not None and failures >= rule.slow_down_from:
            # A record created by this very request is dated a moment after `at`.
            wait = min(counted["last"] + slow_down - at, slow_down)
            if wait > dt.timedelta(0):
                pauses.append(LoginPause(rule, failures, locked=False, wait=wait))
    return max(pauses, key=lambda pause: pause.wait, default=None)


class LoginThrottleHandler(AxesDatabaseHandler):
    """axes' database handler counting by `login_rules` instead of one limit for every count.

    A success clears only that user name at that address (AXES_LOCKOUT_PARAMETERS): signing in to
    one's own account must not clear what an address did to the others, nor what other
    addresses did to this account.
    """

    def get_failures(self, request, credentials: dict | None = None) -> int:
        # axes refuses a sign-in when this reaches its failure limit; the pause says why.
        pause = login_pause(
            username=get_client_username(request, credentials),
            ip_address=request.axes_ip_address,
            at=request.axes_attempt_time,
        )
        request.login_pause = pause
        return get_failure_limit(request, credentials) if pause else 0


def lockout_response(request, original_response=None, credentials: dict | None = None):
    """The "sign-in paused" page, saying which limit was reached and how long to wait."""
    pause = getattr(request, "login_pause", None)
    rule = pause.rule if pause else login_rules()[0]
    wait = pause.wait if pause else settings.AXES_COOLOFF_TIME
    context = {
        "failure_limit": pause.failures if pause else rule.lock_at,  # the page says "there were N wrong passwords"
        "pause_reason": rule.name,  # desk, username or address
        "slowed_down": bool(pause and not pause.locked),
        "cooloff_timedelta": dt.timedelta(minutes=math.ceil(wait.total_seconds() / 60)),
        "username": get_client_username(request, credentials) or "",
    }
    return render(request, settings.AXES_LOCKOUT_TEMPLATE, context, status=settings.AXES_HTTP_RESPONSE_CODE)


# --- Password rules ---


class MinimumLengthValidator(password_validation.MinimumLengthValidator):
    """Django's rule with a message that has a Vietnamese translation (Django's own has none)."""

    def validate(self, password, user=None):
        if len(password) < self.min_length:
            raise ValidationError(self.get_error_message(), code="password_too_short")

    def get_error_message(self):
        return _("This password is too short: it needs at least %(min_length)d characters.") % {
            "min_length": self.min_length
        }

    def get_help_text(self):
        return _("Your password needs at least %(min_length)d characters.") % {"min_length": self.min_length}


class NotBlankValidator:
    """Ten spaces pass the length rule and are in no list of common passwords: refuse a password
    made only of white space (including non-breaking and ideographic spaces) or invisible marks.
    Spaces inside a passphrase are fine."""

    def validate(self, password, user=None):
        if all(character.isspace() or unicodedata.category(character) in {"Cc", "Cf"} for character in password):
            raise ValidationError(self.get_error_message(), code="password_blank")

    def get_error_message(self):
        return _("This password is only spaces: it needs letters, digits or symbols.")

    def get_help_text(self):
        return _("Your password cannot be only spaces.")
