from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records that change only through the portal's audited services: shown, never edited here."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def year_column(field: str, description):
    """A year shown as 2025, not grouped as a number would be (2.025)."""

    @admin.display(description=description, ordering=field)
    def shown(obj) -> str:
        value = getattr(obj, field)
        return "" if value is None else str(value)

    shown.__name__ = f"{field}_shown"
    return shown
