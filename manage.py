#!/usr/bin/env python
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cchc_portal.settings")
    # The command line is a developer's door: development mode unless DJANGO_DEBUG says otherwise.
    # What a deployment serves from (cchc_portal.wsgi for gunicorn, the Celery app) has no such
    # default and runs in production mode; the README's production commands set DJANGO_DEBUG=false.
    os.environ.setdefault("DJANGO_DEBUG", "true")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
