from django.urls import path

from . import views

app_name = "units"

urlpatterns = [
    path("", views.directory, name="directory"),
    # Before the unit pages: "setup" is refused as a unit code.
    path("setup/", views.setup, name="setup"),
    path("setup/template.xlsx", views.setup_template, name="setup-template"),
    path("setup/people/", views.people, name="people"),
    path("setup/people/<int:pk>/invite/", views.invitation_send, name="invitation-send"),
    path("<code:code>/", views.unit_detail, name="unit-detail"),
]
