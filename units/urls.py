from django.urls import path

from . import views

app_name = "units"

urlpatterns = [
    path("", views.directory, name="directory"),
    path("<code:code>/", views.unit_detail, name="unit-detail"),
]
