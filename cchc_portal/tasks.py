"""Handing work to the Celery worker without letting a broker failure undo the user's action."""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)


def enqueue(task, *args, countdown: int | None = None) -> bool:
    """`task.delay(*args)` (in `countdown` seconds, if given), called after the user's change has
    committed. A broker that is down (or, on the embedded defaults, a task that failed in-process)
    is logged, never raised: the change is saved, and the periodic job or the page's retry covers
    the work. Returns whether it was queued."""
    try:
        if countdown is None:
            task.delay(*args)
        else:
            task.apply_async(args, countdown=countdown)
    except Exception:  # noqa: BLE001 - whatever the broker or the task raised
        logger.warning("Could not run %s; it will be caught up later.", task.name, exc_info=True)
        return False
    return True
