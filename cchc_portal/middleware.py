import logging

from django.conf import settings
from django.db import InternalError, OperationalError
from django.shortcuts import render
from django.utils import translation

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
