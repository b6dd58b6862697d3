"""URL parts the portal accepts: anything else is a 404 before it reaches the database."""

CODE = r"[A-Za-z0-9][A-Za-z0-9._-]{0,29}"
PERIOD_KEY = r"\d{4}-(?:Q[1-4]|H1|9M|Y)"


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
