"""What reporting tells the apps above it, without knowing them.

`figures_changed` is sent inside the transaction of a decision that changes which figures count or
show (submit, approve, return, reopen), with `period` and the `units` whose report it was. The
attainment app listens and marks the period's results stale for those units. Receivers run in
that transaction: if one fails, the decision is not saved.
"""

from django.dispatch import Signal

figures_changed = Signal()
