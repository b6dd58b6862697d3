import pytest

from cchc_portal.celery import app


@pytest.fixture(autouse=True)
def mails_run_in_process(monkeypatch):
    """Invitation and reset mails go through a Celery task: here it runs in this process, also
    when the suite runs on Redis (the worker path is tested with the notices in attainment's
    test_jobs.py)."""
    monkeypatch.setitem(app.conf, "task_always_eager", True)
