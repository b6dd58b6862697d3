import datetime as dt
import logging

from django.conf import settings
from django.contrib.auth import logout
from django.db import InternalError, OperationalError
from django.shortcuts import render
from django.utils import timezone, translation

logger = logging.getLogger(__name__)


class PortalLanguageMiddleware:
    """Vietnamese unless the person chose English in the portal.

    Django's LocaleMiddleware follows the browser's Accept-Language, and many office PCs run
    English Windows: officials would get an English portal they never asked for.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.languages = {code for code, _name in settings.LANGUAGES}

    def __call__(self, request):
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        language = chosen if chosen in self.languages else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        return response


class PortalNotFoundMiddleware:
    """In development too, a missing page is the portal's Vietnamese 404 page, not Django's
    technical one (which lists every URL pattern, in English)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if settings.DEBUG and response.status_code == 404:
            response = render(request, "404.html", status=404)
        return response


class ContentSecurityPolicyMiddleware:
    """Send settings.CONTENT_SECURITY_POLICY with every response (Django 5.2 has no built-in one)."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.policy = settings.CONTENT_SECURITY_POLICY

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", self.policy)
        return response


SIGNED_IN_AT = "portal_signed_in_at"


class SessionLifetimeMiddleware:
    """End a session SESSION_MAX_HOURS after sign-in, however busy the person has been.

    The idle limit is the session's own age (SESSION_COOKIE_AGE, renewed by every request), so a
    busy session would otherwise never end; the sign-in time is stored in the session when the
    person signs in (the response that follows the login form).
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.max_age = dt.timedelta(hours=settings.SESSION_MAX_HOURS)

    def __call__(self, request):
        now = timezone.now()
        if request.user.is_authenticated:
            signed_in_at = request.session.get(SIGNED_IN_AT)
            if signed_in_at is not None and now - dt.datetime.fromtimestamp(signed_in_at, dt.UTC) > self.max_age:
                logout(request)  # the view then answers as to anyone signed out: the login page
        response = self.get_response(request)
        if request.user.is_authenticated and SIGNED_IN_AT not in request.session:
            request.session[SIGNED_IN_AT] = now.timestamp()
        return response


class PrivateCacheMiddleware:
    """Nothing shown to a signed-in person is kept by a browser or proxy cache (pages, Excel and
    Word files, evidence documents): on a shared office PC the next person would find them in the
    cache or behind the Back button after sign-out. Anonymous answers are left as the view made
    them (the login page has Django's never_cache already); static files never get here."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.user.is_authenticated:
            response["Cache-Control"] = "private, no-store"
        return response


class DatabaseRefusedMiddleware:
    """The database refused a write (disk full, read-only standby, connection lost): the request's
    transaction is rolled back, so say plainly that nothing was saved instead of a bare 500.

    Integrity and programming errors are bugs and still reach the 500 handler.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, OperationalError | InternalError):
            return None
        logger.error("Database refused %s %s", request.method, request.path, exc_info=exception)
        response = render(request, "503_database.html", status=503)
        response["Retry-After"] = "120"
        return response
