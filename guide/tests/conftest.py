# The world of the access matrix (its users on their units, a report of each kind): the help link
# is checked on every page that table lets someone open.
from cchc_portal.tests.test_access_matrix import world  # noqa: F401
