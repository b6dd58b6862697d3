"""What reporting tells the apps above it, without knowing them.

`figures_changed` is sent inside the transaction of a review decision that changes which figures
count (approve, return, reopen), with `period`. The attainment app listens and marks the period's
results stale. Receivers run in that transaction: if one fails, the decision is not saved.
"""

from django.dispatch import Signal

figures_changed = Signal()
