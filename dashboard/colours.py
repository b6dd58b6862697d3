"""The status colours in the workbooks: the stylesheet's (static/css/portal.css, --status-*), so
that a cell in a downloaded table has the colour it had on the page. A test holds the two together."""

STATUS_COLOURS = {"met": "198754", "at_risk": "ffc107", "behind": "dc3545", "no_data": "ced4da"}
