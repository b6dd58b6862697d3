"""Sign-in security: the client address used to throttle logins, and the password length rule."""

from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


def client_ip(request) -> str:
    """REMOTE_ADDR, or behind the portal's own TLS proxy the address that proxy appended last
    to X-Forwarded-For (entries before it are whatever the client chose to send)."""
    if settings.BEHIND_TLS_PROXY:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[-1].strip()
    return request.META.get("REMOTE_ADDR", "")


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
