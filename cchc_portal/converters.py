"""URL parts the portal accepts: anything else is a 404 before it reaches the database."""

import re

from django.core.validators import RegexValidator
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext_lazy as _

# Unit, area, programme and target codes are stored in 20 characters; the URLs carry no more.
CODE_MAX_LENGTH = 20
CODE = rf"[A-Za-z0-9][A-Za-z0-9._-]{{0,{CODE_MAX_LENGTH - 1}}}"
PERIOD_KEY = r"\d{4}-(?:Q[1-4]|H1|9M|Y)"


@deconstructible(path="cchc_portal.converters.CodeValidator")
class CodeValidator(RegexValidator):
    """A code the URLs can carry: a model field that takes codes validates with it, so that the
    admin, the forms and the imports refuse what a page could not link to."""

    regex = rf"\A{CODE}\Z"
    message = _(
        "Use only letters without diacritics (A-Z, a-z), digits, dots (.), dashes (-) and underscores (_), "
        "at most 20 characters, starting with a letter or a digit, e.g. TTHC-05 or 40-SNV."
    )
    code = "invalid_code"


def is_code(value) -> bool:
    """True when `value` can stand in a URL where a code goes."""
    return isinstance(value, str | int) and re.fullmatch(CODE, str(value)) is not None


class CodeConverter:
    """A unit or target code: 429, 40-SKHDT, TTHC-05."""

    regex = CODE

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


class PeriodKeyConverter(CodeConverter):
    """A period key: 2024-Q1, 2024-H1, 2024-9M, 2024-Y."""

    regex = PERIOD_KEY
