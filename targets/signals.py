"""What the catalogue tells the apps above it, without knowing them.

`catalogue_changed` is sent inside the transaction of every change to a target or a threshold.
The attainment app listens and marks the results of unlocked periods stale.
"""

from django.dispatch import Signal

catalogue_changed = Signal()
