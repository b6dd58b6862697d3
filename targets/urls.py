from django.urls import path

from . import views

app_name = "targets"

urlpatterns = [
    path("", views.catalogue_list, name="catalogue"),
    path("export.xlsx", views.catalogue_download, name="catalogue-export"),
    path("import/", views.catalogue_upload, name="catalogue-import"),
    path("<code:code>/", views.target_detail, name="target-detail"),
]
