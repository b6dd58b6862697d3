"""The reporting deadline under load: reporters log in, fill and send their unit's quarter while
the Steering Committee watches the dashboards, against gunicorn and PostgreSQL on loopback.

    .venv/bin/python bench/load.py [--reporters 300] [--steering 20] [--minutes 3]
        [--database-url postgres://postgres@127.0.0.1:5432/cchc_load] [--json bench/results/load.json]

Standard library only on the client side (threads and http.client). What it does:

1. Prepares its own database: created when missing, an empty one is taken (as bench/run.py
   does), one holding anything but its own data is refused before any migration, and so are the
   server's maintenance databases. In it: the catalogue fixture, `--reporters` synthetic units
   BENCH-* (bench.run's builder: a province, ~5% departments, ~5% districts, the rest communes),
   one reporter per unit and `--steering` committee members (users `load-*`), `--history` locked
   and computed quarters of approved figures for the dashboards, and the open quarter 2026-Q4
   (reported on the 2026-2030 targets) whose deadline is in three days. A rerun reuses the data and deletes the open
   quarter's submissions, sessions and login-throttling records; another size rebuilds it.
   Passwords use the production hasher (PBKDF2): checking it is part of every login's cost, so
   the password is hashed once and the hash copied to every user.
2. Starts gunicorn (`--workers`, default 2 x CPUs + 1, `--threads 2`) in production mode:
   DJANGO_DEBUG=false with a random 64-character SECRET_KEY, ALLOWED_HOSTS=127.0.0.1 and the
   static files collected into a temporary STATIC_ROOT (the manifest storage needs them).
   There is no TLS proxy in front, so BEHIND_TLS_PROXY=false and SECURE_SSL_REDIRECT=false:
   nothing trusts X-Forwarded-* (the login throttle sees 127.0.0.1 and locks per user name and
   address, so 300 reporters on one address do not lock each other), no redirect to https, and
   the CSRF check takes the plain-http path (token and Origin, no strict Referer). That is the
   simplest setting that is still correct; sending X-Forwarded-Proto with the proxy setting on
   would add nothing but a header. The session and CSRF cookies stay Secure: that flag only tells
   browsers not to send them over http (http.cookiejar obeys it too), so the client keeps its own
   small cookie store. CELERY_TASK_ALWAYS_EAGER=true and no REDIS_URL: sending a report queues
   no task, the portal caches nothing in Redis, and eager mode leaves no messages in a shared
   Redis without a worker to consume them.
3. Each reporter starts at a random moment of the `--minutes` window and, like a browser with
   htmx, opens the login page, logs in (following the redirect home), opens its submission page,
   saves every figure (htmx POST of the form with the "save" button, figures typed the
   Vietnamese way: 1.234 and 87,35; some notes in decomposed Unicode as Windows keyboards send
   them), then sends it ("submit" button: 204 with HX-Redirect, then the page again). Pauses of
   0 to 2 x `--think` seconds separate the steps. A failed step is retried after reloading the
   page, as a person would. Committee members log in once and cycle through the overview (of the
   open quarter), the heatmap and the ranking with the same pauses until the reporters are done.
4. Per request type: count, errors (status >= 400, transport errors, or an unexpected answer such
   as a login or save that did not succeed), p50, p95 and max latency in ms.
5. Checks against the database: every unit has exactly one submission, sent, not late, with every
   figure equal to what was typed, and exactly one 'submitted' event; every reporter finished; no
   request failed; the server log has no traceback, 500 or worker timeout. Prints a table, writes
   JSON (`--json`) and exits 1 when a check fails. gunicorn is stopped at the end, also on error.

Timings depend on the machine and on whatever else runs on it (see `machine.loadavg_*`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import importlib.util
import json
import math
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from html.parser import HTMLParser
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"

# Run with the project's virtualenv even when started as `python bench/load.py`.
if importlib.util.find_spec("django") is None and VENV_PYTHON.exists() and Path(sys.executable) != VENV_PYTHON:
    os.execv(str(VENV_PYTHON), [str(VENV_PYTHON), str(Path(__file__).resolve()), *sys.argv[1:]])  # noqa: S606
sys.path.insert(0, str(ROOT))

OPEN_KEY = "2026-Q4"
HISTORY_KEYS = ["2026-Q1", "2026-Q2", "2026-Q3"]
USER_PREFIX = "load-"
PASSWORD = "Tai-thu-han-bao-cao-2025"
ATTEMPTS = 3
SERVER_LOG_MARKERS = ("Traceback", "Internal Server Error", "WORKER TIMEOUT", "[ERROR]", "[CRITICAL]", "refused")
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/cchc_load"


# --- The database -------------------------------------------------------------------------------------


def ensure_database(url: str) -> None:
    """Create the database named in `url` when it does not exist yet."""
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql", "pgsql"):
        raise SystemExit("The load test runs on PostgreSQL: give a postgres:// --database-url.")
    name = parts.path.lstrip("/")
    if not name or name in ("postgres", "template0", "template1"):
        raise SystemExit(f"Refusing the maintenance database {name or '(none)'}: give the load test its own.")
    server = {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 5432,
        "user": parts.username or "postgres",
        "password": parts.password,
    }
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            print(f"created database {name}")


def setup_django(url: str) -> None:
    """Django in this process only prepares the data and checks it afterwards."""
    os.environ.update(
        DATABASE_URL=url, DJANGO_DEBUG="true", REDIS_URL="", CELERY_TASK_ALWAYS_EAGER="true", LOG_LEVEL="WARNING"
    )
    os.environ["DJANGO_SETTINGS_MODULE"] = "cchc_portal.settings"
    import django

    django.setup()


@dataclass
class Job:
    """One reporter: who, which unit, when, and the form fields to type with what they mean."""

    username: str
    unit_code: str
    start_offset: float
    fields: dict[str, str]
    expected: dict[str, tuple]  # target code -> (numerator, denominator, value, note)


@dataclass
class Plan:
    reporters: list[Job]
    steering: list[str]
    units: int
    figures: int
    history: list[str]
    seconds: float


def _is_own_database(reporters: int) -> str:
    """Whether the database is empty, built for this many units ("same") or not; refuses others' data.
    Runs before migrating, so that a database that is not ours is never touched."""
    from django.db import connection

    from bench.run import PREFIX
    from reports.models import Period
    from units.models import Unit, User

    tables = connection.introspection.table_names()
    if not tables:
        return "empty"
    if Unit._meta.db_table not in tables:
        raise SystemExit("The load test needs a database of its own and this one holds other tables.")
    if not (Unit.objects.exists() or User.objects.exists() or Period.objects.exists()):
        return "empty"
    ours = (
        User.objects.filter(username__startswith=USER_PREFIX).exists()
        and not User.objects.exclude(username__startswith=USER_PREFIX).exists()
        and not Unit.objects.exclude(code__startswith=f"{PREFIX}-").exists()
        and not Period.objects.exclude(key__in=[OPEN_KEY, *HISTORY_KEYS]).exists()
    )
    if not ours:
        raise SystemExit(
            "The load test needs a database of its own and this one holds other data "
            "(units other than BENCH-*, users other than load-*, or other periods). Give another --database-url."
        )
    return "same" if Unit.objects.below_province().count() == reporters else "other size"


def prepare(args) -> Plan:
    from django.contrib.auth.hashers import make_password
    from django.contrib.sessions.models import Session
    from django.core.management import call_command
    from django.utils import timezone

    from attainment.engine import period_recompute
    from bench.run import PREFIX, _approved_quarter, _units
    from reports.models import Period, PeriodState, Submission
    from reports.periods import period_create, period_set_state
    from targets.models import Target
    from units.models import Role, RoleAssignment, Unit, User

    started = time.perf_counter()
    state = _is_own_database(args.reporters)
    call_command("migrate", interactive=False, verbosity=0)
    if state == "other size":
        print(f"rebuilding the load database for {args.reporters} units")
        call_command("flush", interactive=False, verbosity=0)
    if not Target.objects.exists():
        call_command("loaddata", "catalogue", verbosity=0)
    if not Unit.objects.exists():
        _units(args.reporters)
    root = Unit.objects.get(code=f"{PREFIX}-0")
    units = list(Unit.objects.below_province().order_by("code"))

    # One PBKDF2 hash, copied: hashing 320 passwords would take minutes and prove nothing.
    hashed = make_password(PASSWORD)
    reporter_names = {u.pk: f"{USER_PREFIX}{u.code.lower()}" for u in units}
    steering_names = [f"{USER_PREFIX}steering-{i:02d}" for i in range(1, args.steering + 1)]
    existing = set(User.objects.values_list("username", flat=True))
    User.objects.bulk_create(
        [
            User(username=name, password=hashed, full_name=name)
            for name in [*reporter_names.values(), *steering_names]
            if name not in existing
        ],
        batch_size=1000,
    )
    User.objects.filter(username__startswith=USER_PREFIX).update(password=hashed, is_active=True)
    users = dict(User.objects.filter(username__startswith=USER_PREFIX).values_list("username", "pk"))
    RoleAssignment.objects.bulk_create(
        [RoleAssignment(user_id=users[reporter_names[u.pk]], role=Role.REPORTER, unit=u) for u in units]
        + [RoleAssignment(user_id=users[name], role=Role.STEERING, unit=root) for name in steering_names],
        ignore_conflicts=True,
        batch_size=1000,
    )

    # Past quarters, approved, locked and computed: what the dashboards show.
    rng = random.Random(args.seed)
    targets = list(Target.objects.all())
    history = HISTORY_KEYS[len(HISTORY_KEYS) - args.history :] if args.history else []
    for key in history:
        period = period_create(key=key)
        if not Submission.objects.filter(period=period).exists():
            _approved_quarter(period, units, targets, rng)
        if period.state != PeriodState.LOCKED:
            period_set_state(period=period, state=PeriodState.LOCKED)
        if not Period.objects.filter(pk=period.pk, computation__computed_at__isnull=False).exists():
            period_recompute(period)

    # The open quarter, three days before its deadline, with nothing sent yet.
    deadline = timezone.localdate() + dt.timedelta(days=3)
    period = period_create(key=OPEN_KEY, deadline=deadline)
    Period.objects.filter(pk=period.pk).update(state=PeriodState.OPEN, deadline=deadline)
    Submission.objects.filter(period=period).delete()
    Session.objects.all().delete()
    _reset_login_throttle()

    in_force = list(Target.objects.in_force(period.year).order_by("code"))
    window = args.minutes * 60
    jobs = []
    for index, unit in enumerate(units):
        unit_rng = random.Random(f"{args.seed}-{unit.code}")
        fields, expected = _figures([t for t in in_force if t.applies_to(unit.level)], unit, index, unit_rng)
        jobs.append(Job(reporter_names[unit.pk], unit.code, rng.uniform(0, window), fields, expected))
    from django.db import connection

    connection.close()
    return Plan(
        reporters=jobs,
        steering=steering_names,
        units=len(units),
        figures=sum(len(j.expected) for j in jobs),
        history=history,
        seconds=time.perf_counter() - started,
    )


def _reset_login_throttle() -> None:
    try:
        from axes.models import AccessAttempt, AccessFailureLog, AccessLog
    except (ImportError, RuntimeError):  # the portal without django-axes
        return
    for model in (AccessAttempt, AccessFailureLog, AccessLog):
        model.objects.all().delete()


def _localized_int(number: int) -> str:
    return f"{number:,}".replace(",", ".")


def _figures(targets, unit, index: int, rng: random.Random) -> tuple[dict[str, str], dict[str, tuple]]:
    """Form fields as a person types them (Vietnamese number format) and the values they mean."""
    from targets.models import Measure

    fields: dict[str, str] = {}
    expected: dict[str, tuple] = {}
    for position, target in enumerate(targets):
        code = target.code
        note = ""
        if position == 0:
            note = f"Đơn vị {unit.code} đã rà soát số liệu quý IV"
        if target.measure in (Measure.RATIO, Measure.REDUCTION):
            denominator = rng.randint(50, 250_000)
            low = 0 if target.measure == Measure.RATIO else denominator // 2
            numerator = rng.randint(low, denominator)
            fields[f"{code}__numerator"] = _localized_int(numerator)
            fields[f"{code}__denominator"] = _localized_int(denominator)
            expected[code] = (numerator, denominator, None, note)
        else:
            if target.measure == Measure.PERCENT:
                value = Decimal(rng.randint(0, 10_000)) / 100
                typed = f"{value:.2f}".replace(".", ",")
            elif target.measure == Measure.BOOLEAN:
                value = Decimal(rng.randint(0, 1))
                typed = str(value)
            else:
                value = Decimal(rng.randint(0, 50_000))
                typed = _localized_int(int(value))
            fields[f"{code}__value"] = typed
            expected[code] = (None, None, value, note)
        # Half the units type their note in decomposed Unicode (NFD); the portal stores NFC.
        fields[f"{code}__note"] = unicodedata.normalize("NFD", note) if index % 2 else note
    return fields, expected


# --- The server ------------------------------------------------------------------------------------------


@dataclass
class Server:
    process: subprocess.Popen
    port: int
    log_path: Path
    workers: int
    threads: int
    static_seconds: float


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(url: str, scratch: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=url,
        DJANGO_SETTINGS_MODULE="cchc_portal.settings",
        DJANGO_DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(48),
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="false",
        BEHIND_TLS_PROXY="false",
        CELERY_TASK_ALWAYS_EAGER="true",
        REDIS_URL="",
        STATIC_ROOT=str(scratch / "static"),
        PRIVATE_MEDIA_ROOT=str(scratch / "private"),
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    return env


def start_server(url: str, workers: int, threads: int, scratch: Path) -> Server:
    env = server_env(url, scratch)
    python = str(VENV_PYTHON if VENV_PYTHON.exists() else sys.executable)
    started = time.perf_counter()
    collected = subprocess.run(
        [python, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    if collected.returncode:
        raise SystemExit(f"collectstatic failed:\n{collected.stderr[-3000:]}")
    static_seconds = time.perf_counter() - started
    gunicorn = ROOT / ".venv" / "bin" / "gunicorn"
    command = [str(gunicorn) if gunicorn.exists() else shutil.which("gunicorn") or "gunicorn"]
    port = free_port()
    command += [
        "cchc_portal.wsgi",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--timeout",
        "120",
        "--graceful-timeout",
        "20",
        "--no-control-socket",  # its default path in $HOME is shared by every gunicorn of the user
    ]
    log_path = scratch / "gunicorn.log"
    with log_path.open("wb") as log:
        # A session of its own: stopping it never signals the load script, and vice versa.
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = Server(process, port, log_path, workers, threads, static_seconds)
    try:
        _wait_ready(server)
    except BaseException:
        stop_server(server)
        raise
    return server


def _wait_ready(server: Server, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {server.process.returncode}:\n{_tail(server.log_path)}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
            conn.request("GET", "/accounts/login/")
            status = conn.getresponse().status
            conn.close()
        except OSError:
            time.sleep(0.5)
            continue
        if status != 200:
            raise RuntimeError(f"the login page answers {status}:\n{_tail(server.log_path)}")
        return
    raise RuntimeError(f"gunicorn did not answer within {seconds:.0f} s:\n{_tail(server.log_path)}")


def stop_server(server: Server | None) -> None:
    if server is None or server.process.poll() is not None:
        return
    server.process.terminate()
    try:
        server.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(server.process.pid, signal.SIGKILL)  # the session started for gunicorn, nothing else
        server.process.wait(timeout=10)


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def server_log_summary(path: Path) -> dict:
    text = path.read_text(errors="replace") if path.exists() else ""
    counts = Counter()
    samples = []
    for line in text.splitlines():
        hits = [marker for marker in SERVER_LOG_MARKERS if marker in line]
        for marker in hits:
            counts[marker] += 1
        if hits and len(samples) < 20:
            samples.append(line[:300])
    return {"lines": len(text.splitlines()), "markers": dict(counts), "samples": samples}


# --- The client ------------------------------------------------------------------------------------------


class Stats:
    """Latencies and errors by request type, shared by every thread."""

    def __init__(self):
        self.lock = threading.Lock()
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, Counter] = defaultdict(Counter)

    def add(self, kind: str, ms: float, error: str | None) -> None:
        with self.lock:
            self.latencies[kind].append(ms)
            if error:
                self.errors[kind][error] += 1

    def table(self) -> list[dict]:
        rows = []
        everything = []
        for kind in sorted(self.latencies, key=REQUEST_ORDER.index):
            values = self.latencies[kind]
            everything += values
            rows.append(_row(kind, values, sum(self.errors[kind].values()), dict(self.errors[kind])))
        total_errors = Counter()
        for counter in self.errors.values():
            total_errors.update(counter)
        rows.append(_row("all", everything, sum(total_errors.values()), dict(total_errors)))
        return rows


REQUEST_ORDER = [
    "GET login",
    "POST login",
    "GET home",
    "GET submission",
    "POST save",
    "POST submit",
    "GET dashboard",
    "GET heatmap",
    "GET ranking",
]


def _percentile(ordered: list[float], p: float) -> float:
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)] if ordered else 0.0


def _row(kind: str, values: list[float], errors: int, reasons: dict) -> dict:
    ordered = sorted(values)
    return {
        "request": kind,
        "count": len(values),
        "errors": errors,
        "p50_ms": round(_percentile(ordered, 50), 1),
        "p95_ms": round(_percentile(ordered, 95), 1),
        "max_ms": round(ordered[-1], 1) if ordered else 0.0,
        "error_reasons": reasons,
    }


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    text: str


class Browser:
    """One person's browser: its own cookies, a fresh connection per request (Connection: close)."""

    def __init__(self, port: int, stats: Stats, timeout: float):
        self.port = port
        self.origin = f"http://127.0.0.1:{port}"
        self.stats = stats
        self.timeout = timeout
        self.cookies: dict[str, str] = {}
        self.referer = "/"

    def get(self, kind: str, path: str, expect=(200,), check=None) -> Response | None:
        return self.request(kind, "GET", path, None, expect=expect, check=check)

    def post(self, kind: str, path: str, data: dict, expect, check=None, htmx: bool = False) -> Response | None:
        return self.request(kind, "POST", path, data, expect=expect, check=check, htmx=htmx)

    def request(self, kind, method, path, data, expect, check=None, htmx=False) -> Response | None:
        headers = {"User-Agent": "cchc-load/1.0", "Accept": "text/html", "Connection": "close"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if data is not None:
            body = urlencode(data).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Origin"] = self.origin
            headers["Referer"] = self.origin + self.referer
        if htmx:
            headers.update({"HX-Request": "true", "HX-Current-URL": self.origin + self.referer, "HX-Target": "figures"})
        started = time.perf_counter()
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        try:
            conn.request(method, path, body=body, headers=headers)
            raw = conn.getresponse()
            content = raw.read()
            set_cookies = raw.msg.get_all("Set-Cookie") or []
            response = Response(
                raw.status, {k.lower(): v for k, v in raw.getheaders()}, content.decode(errors="replace")
            )
        except (OSError, http.client.HTTPException) as exc:
            self.stats.add(kind, (time.perf_counter() - started) * 1000, type(exc).__name__)
            return None
        finally:
            conn.close()
        ms = (time.perf_counter() - started) * 1000
        for header in set_cookies:
            self._store(header)
        error = None
        if response.status >= 400:
            error = f"HTTP {response.status}"
        elif response.status not in expect:
            error = f"unexpected HTTP {response.status}"
        elif check is not None:
            error = check(response)
        self.stats.add(kind, ms, error)
        if method == "GET" and response.status == 200:
            self.referer = path
        return None if error else response

    def _store(self, header: str) -> None:
        cookie = SimpleCookie()
        cookie.load(header)
        for name, morsel in cookie.items():
            if morsel.value == "" or morsel["max-age"] == "0":
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = morsel.value


@dataclass
class Form:
    action: str
    values: dict[str, str] = field(default_factory=dict)
    buttons: set[str] = field(default_factory=set)


class FormParser(HTMLParser):
    """The forms of a page: each input's and select's name and value, and the names of its
    submit buttons."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self.current: Form | None = None
        self.select: str | None = None  # the name of the <select> being read (done / not done)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "form":
            self.current = Form(attributes.get("action") or "")
            self.forms.append(self.current)
        elif self.current is not None and tag == "select" and attributes.get("name"):
            self.select = attributes["name"]
            self.current.values[self.select] = ""
        elif self.current is not None and tag == "option" and self.select and "selected" in attributes:
            self.current.values[self.select] = attributes.get("value") or ""
        elif self.current is not None and tag in ("input", "button"):
            name = attributes.get("name")
            kind = (attributes.get("type") or ("submit" if tag == "button" else "text")).lower()
            if not name:
                return
            if kind == "submit":
                self.current.buttons.add(name)
            elif kind not in ("checkbox", "radio", "file") or "checked" in attributes:
                self.current.values[name] = attributes.get("value") or ""

    def handle_endtag(self, tag):
        if tag == "form":
            self.current = None
        elif tag == "select":
            self.select = None


def find_form(text: str, *, field_name: str | None = None, action_suffix: str | None = None) -> Form | None:
    parser = FormParser()
    parser.feed(text)
    for form in parser.forms:
        if field_name and field_name in form.values:
            return form
        if action_suffix and form.action.endswith(action_suffix):
            return form
    return None


class Abort(Exception):
    """The run is over (window and grace spent, or interrupted)."""


class Failed(Exception):
    """A person gives up: the reason is the outcome."""


def pause(stop: threading.Event, rng: random.Random, think: float) -> None:
    if stop.wait(rng.uniform(0, 2 * think)):
        raise Abort


def login(browser: Browser, username: str, stop: threading.Event, rng: random.Random, think: float) -> bool:
    for _attempt in range(ATTEMPTS):
        page = browser.get("GET login", "/accounts/login/", expect=(200, 302))
        if page is not None and page.status == 302:  # a login that worked although its answer was lost
            return browser.get("GET home", page.headers.get("location", "/")) is not None
        form = find_form(page.text, field_name="csrfmiddlewaretoken") if page else None
        if form is None:
            pause(stop, rng, think)
            continue
        pause(stop, rng, think)
        answer = browser.post(
            "POST login",
            "/accounts/login/",
            {**form.values, "username": username, "password": PASSWORD},
            expect=(302,),
            check=lambda r: None if r.headers.get("location") == "/" else f"redirect to {r.headers.get('location')}",
        )
        if answer is not None:
            browser.get("GET home", "/")
            return True
        pause(stop, rng, think)
    return False


def _saved(response: Response) -> str | None:
    if "alert-danger" in response.text or "is-invalid" in response.text:
        return "form refused"
    if "alert-success" not in response.text or 'name="version"' not in response.text:
        return "no confirmation"
    return None


def _sent(response: Response) -> str | None:
    return None if response.headers.get("hx-redirect") else "no HX-Redirect"


def report(browser: Browser, job: Job, stop: threading.Event, rng: random.Random, think: float) -> str | None:
    """Open, save, send; None when the report was sent, else why not."""
    page_url = f"/reports/{OPEN_KEY}/{job.unit_code}/"
    save_url = f"{page_url}save/"

    def load() -> Form | None:
        for _attempt in range(ATTEMPTS):
            page = browser.get("GET submission", page_url)
            if page is not None:
                return find_form(page.text, action_suffix="/save/")
            pause(stop, rng, think)
        raise Failed(f"the submission page failed {ATTEMPTS} times")

    form = load()
    if form is None or "submit" not in form.buttons:
        return "the submission page has no editable form"
    missing = sorted(set(job.fields) - set(form.values))
    if missing:
        return f"fields not on the page: {missing[:5]}"
    pause(stop, rng, think)
    for step, button, expect, check in (
        ("POST save", "save", (200,), _saved),
        ("POST submit", "submit", (204,), _sent),
    ):
        for _attempt in range(ATTEMPTS):
            answer = browser.post(
                step, save_url, {**form.values, **job.fields, button: "1"}, expect=expect, check=check, htmx=True
            )
            if answer is not None:
                if button == "save":
                    form = find_form(answer.text, action_suffix="/save/") or form
                else:
                    browser.get("GET submission", answer.headers["hx-redirect"])
                break
            pause(stop, rng, think)
            form = load()  # reload, as a person would, and carry on from what the page says
            if form is None or "submit" not in form.buttons:
                return None if button == "submit" else "the report left the draft state while saving"
        else:
            return f"{step} failed {ATTEMPTS} times"
        pause(stop, rng, think)
    return None


@dataclass
class Outcome:
    username: str
    ok: bool
    reason: str = ""
    seconds: float = 0.0


def reporter_thread(job, port, stats, stop, epoch, think, timeout, outcomes, lock):
    rng = random.Random(job.username)
    outcome = Outcome(job.username, False, "not started")
    try:
        if stop.wait(max(0.0, epoch + job.start_offset - time.monotonic())):
            raise Abort
        started = time.monotonic()
        browser = Browser(port, stats, timeout)
        if not login(browser, job.username, stop, rng, think):
            outcome.reason = "login failed"
        else:
            reason = report(browser, job, stop, rng, think)
            outcome = Outcome(job.username, reason is None, reason or "", time.monotonic() - started)
    except Abort:
        outcome.reason = "stopped before finishing"
    except Failed as exc:
        outcome.reason = str(exc)
    except Exception as exc:  # a bug of the script must not hide the other threads' results
        outcome.reason = f"{type(exc).__name__}: {exc}"
    with lock:
        outcomes.append(outcome)


def steering_thread(username, port, stats, stop, think, timeout, stagger):
    rng = random.Random(username)
    pages = [
        ("GET dashboard", f"/dashboard/?period={OPEN_KEY}"),
        ("GET heatmap", "/dashboard/heatmap/"),
        ("GET ranking", "/dashboard/ranking/"),
    ]
    try:
        if stop.wait(rng.uniform(0, stagger)):
            return
        browser = Browser(port, stats, timeout)
        if not login(browser, username, stop, rng, think):
            return
        while not stop.is_set():
            for kind, path in pages:
                browser.get(kind, path)
                pause(stop, rng, think)
    except Abort:
        return


def run_load(plan: Plan, port: int, args) -> tuple[Stats, list[Outcome], float]:
    stats, outcomes, lock = Stats(), [], threading.Lock()
    stop_reporting, stop_watching = threading.Event(), threading.Event()
    threading.stack_size(512 * 1024)
    epoch = time.monotonic()
    window = args.minutes * 60
    reporters = [
        threading.Thread(
            target=reporter_thread,
            args=(job, port, stats, stop_reporting, epoch, args.think, args.timeout, outcomes, lock),
            daemon=True,
        )
        for job in plan.reporters
    ]
    watchers = [
        threading.Thread(
            target=steering_thread,
            args=(name, port, stats, stop_watching, args.think, args.timeout, min(30.0, window / 4)),
            daemon=True,
        )
        for name in plan.steering
    ]
    for thread in watchers + reporters:
        thread.start()
    deadline = epoch + window + args.grace
    try:
        for thread in reporters:
            thread.join(max(0.0, deadline - time.monotonic()))
    finally:
        stop_reporting.set()
        stop_watching.set()
        for thread in reporters + watchers:
            thread.join(args.timeout + 5)
    return stats, outcomes, time.monotonic() - epoch


# --- The checks ---------------------------------------------------------------------------------------------


def verify(plan: Plan, stats_rows: list[dict], outcomes: list[Outcome], server_log: dict) -> list[dict]:
    from django.db import connection
    from django.db.models import Count

    from reports.models import EventAction, Figure, Submission, SubmissionEvent, SubmissionStatus

    connection.close()
    checks = []

    def check(name: str, ok: bool, detail: str = "") -> None:
        checks.append({"check": name, "ok": bool(ok), "detail": detail})

    failed = [o for o in outcomes if not o.ok]
    reasons = Counter(o.reason for o in failed)
    check(
        "every reporter finished",
        len(outcomes) == len(plan.reporters) and not failed,
        f"{len(outcomes) - len(failed)}/{len(plan.reporters)} sent; "
        + "; ".join(f"{r}: {n}" for r, n in reasons.items()),
    )
    total = stats_rows[-1]
    check("no failed request", total["errors"] == 0, json.dumps(total["error_reasons"], ensure_ascii=False))
    markers = server_log["markers"]
    check("server log clean", not markers, json.dumps(markers))

    submissions = Submission.objects.filter(period__key=OPEN_KEY)
    per_unit = Counter(submissions.values_list("unit__code", flat=True))
    expected_units = {job.unit_code for job in plan.reporters}
    missing = sorted(expected_units - set(per_unit))
    extra = sorted(set(per_unit) - expected_units)
    doubled = sorted(code for code, n in per_unit.items() if n != 1)
    check(
        "one submission per unit",
        not (missing or extra or doubled),
        f"{len(per_unit)} units with a submission; missing {len(missing)} {missing[:5]}, "
        f"extra {extra[:5]}, more than one {doubled[:5]}",
    )
    statuses = Counter(submissions.values_list("status", flat=True))
    late = submissions.filter(is_late=True).count()
    check(
        "every submission sent, on time",
        set(statuses) <= {SubmissionStatus.SUBMITTED} and not late and not missing,
        f"statuses {dict(statuses)}, late {late}",
    )

    actual: dict[str, dict[str, tuple]] = defaultdict(dict)
    for unit, target, numerator, denominator, value, note in Figure.objects.filter(
        submission__period__key=OPEN_KEY
    ).values_list("submission__unit__code", "target__code", "numerator", "denominator", "value", "note"):
        actual[unit][target] = (numerator, denominator, value, note)
    wrong = []
    for job in plan.reporters:
        got = actual.get(job.unit_code, {})
        if set(got) != set(job.expected):
            wrong.append(f"{job.unit_code}: targets {sorted(set(got) ^ set(job.expected))[:3]}")
            continue
        for code, want in job.expected.items():
            if got[code] != want:
                wrong.append(f"{job.unit_code} {code}: sent {want}, stored {got[code]}")
    check(
        "every figure as typed",
        not wrong,
        f"{plan.figures} figures expected, {len(wrong)} wrong" + (f": {wrong[:5]}" if wrong else ""),
    )

    per_submission = (
        SubmissionEvent.objects.filter(submission__period__key=OPEN_KEY)
        .values("submission_id", "action")
        .annotate(n=Count("id"))
    )
    events = Counter((row["action"], row["n"]) for row in per_submission)
    sent_events = {row["submission_id"]: row["n"] for row in per_submission if row["action"] == EventAction.SUBMITTED}
    ids = list(submissions.values_list("id", flat=True))
    not_once = [pk for pk in ids if sent_events.get(pk) != 1]
    check(
        "one 'submitted' event per submission",
        ids and not not_once,
        f"{len(not_once)} submissions without exactly one; events per submission "
        + ", ".join(f"{action}×{n}: {count}" for (action, n), count in sorted(events.items())),
    )
    return checks


# --- The run ---------------------------------------------------------------------------------------------------


def machine_info(server: Server | None) -> dict:
    from importlib.metadata import version

    from bench.run import machine

    info = machine()
    info["cpus_usable"] = len(os.sched_getaffinity(0))
    info["gunicorn"] = version("gunicorn")
    if server:
        info["gunicorn_workers"] = server.workers
        info["gunicorn_threads"] = server.threads
    return info


def table(result: dict) -> str:
    m = result["machine"]
    lines = [
        f"Load: {result['reporters']} reporters, {result['steering']} committee members over "
        f"{result['minutes']} min ({m['database']}, {m['cpus_usable']} CPUs, gunicorn {m.get('gunicorn_workers')}"
        f"x{m.get('gunicorn_threads')}; load average {m['loadavg_before'][0]:.1f} -> {m['loadavg_after'][0]:.1f})",
        f"{'request':<16} {'count':>7} {'errors':>7} {'p50 ms':>9} {'p95 ms':>9} {'max ms':>9}",
    ]
    for row in result["requests"]:
        lines.append(
            f"{row['request']:<16} {row['count']:>7} {row['errors']:>7} {row['p50_ms']:>9.0f} "
            f"{row['p95_ms']:>9.0f} {row['max_ms']:>9.0f}"
        )
    sessions = result["reporter_sessions"]
    lines.append(
        f"reporter sessions: {sessions['completed']} sent, p50 {sessions['p50_s']} s, p95 {sessions['p95_s']} s, "
        f"max {sessions['max_s']} s (pauses included); {result['requests_per_second']} requests/s over "
        f"{result['run_seconds']} s"
    )
    for item in result["checks"]:
        lines.append(f"[{'ok' if item['ok'] else 'FAIL'}] {item['check']}: {item['detail']}")
    return "\n".join(lines)


def parse_args(argv=None):
    cpus = len(os.sched_getaffinity(0))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reporters", type=int, default=300, help="reporting units, one reporter each")
    parser.add_argument("--steering", type=int, default=20, help="committee members watching the dashboards")
    parser.add_argument("--minutes", type=float, default=3.0, help="window over which the reporters start")
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--json", dest="json_path", default=str(ROOT / "bench" / "results" / "load.json"))
    parser.add_argument("--workers", type=int, default=2 * cpus + 1, help="gunicorn workers (2 x CPUs + 1)")
    parser.add_argument("--threads", type=int, default=2, help="gunicorn threads per worker")
    parser.add_argument("--think", type=float, default=1.0, help="mean pause between a person's steps, seconds")
    parser.add_argument("--history", type=int, default=3, choices=range(0, len(HISTORY_KEYS) + 1))
    parser.add_argument("--grace", type=float, default=300, help="seconds allowed past the window for stragglers")
    parser.add_argument("--timeout", type=float, default=120, help="client timeout of one request, seconds")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if args.reporters < 1 or args.steering < 0 or args.minutes < 0:
        parser.error("need at least one reporter and a window of 0 minutes or more")
    return args


def _terminate(signum, frame):
    raise SystemExit(128 + signum)


def main(argv=None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    ensure_database(args.database_url)
    setup_django(args.database_url)
    plan = prepare(args)
    print(
        f"prepared {plan.units} units, {len(plan.steering)} committee members, {plan.figures} figures to type, "
        f"history {plan.history} in {plan.seconds:.1f} s"
    )
    scratch = Path(tempfile.mkdtemp(prefix="cchc-load-"))
    server = None
    loadavg_before = os.getloadavg()
    try:
        server = start_server(args.database_url, args.workers, args.threads, scratch)
        print(f"gunicorn on 127.0.0.1:{server.port} ({server.workers} workers x {server.threads} threads)")
        stats, outcomes, seconds = run_load(plan, server.port, args)
    finally:
        stop_server(server)
        shutil.rmtree(scratch / "static", ignore_errors=True)
    loadavg_after = os.getloadavg()
    log = server_log_summary(server.log_path)
    rows = stats.table()
    checks = verify(plan, rows, outcomes, log)
    durations = sorted(o.seconds for o in outcomes if o.ok)
    info = machine_info(server) | {"loadavg_before": loadavg_before, "loadavg_after": loadavg_after}
    result = {
        "reporters": args.reporters,
        "steering": args.steering,
        "minutes": args.minutes,
        "think_seconds": args.think,
        "open_period": OPEN_KEY,
        "history": plan.history,
        "figures": plan.figures,
        "prepare_seconds": round(plan.seconds, 1),
        "collectstatic_seconds": round(server.static_seconds, 1),
        "run_seconds": round(seconds, 1),
        "requests_per_second": round(rows[-1]["count"] / seconds, 1) if seconds else None,
        "machine": info,
        "requests": rows,
        "reporter_sessions": {
            "completed": len(durations),
            "p50_s": round(_percentile(durations, 50), 1),
            "p95_s": round(_percentile(durations, 95), 1),
            "max_s": round(durations[-1], 1) if durations else 0.0,
            "failures": dict(Counter(o.reason for o in outcomes if not o.ok)),
        },
        "server_log": log,
        "checks": checks,
        "ok": all(c["ok"] for c in checks),
    }
    path = Path(args.json_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, ensure_ascii=False, indent=1, default=str))
    print(table(result))
    if result["ok"]:
        shutil.rmtree(scratch, ignore_errors=True)
        print(f"-> {path}")
        return 0
    print(f"-> {path}; server log kept in {server.log_path}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
