from django.urls import path

from . import views

app_name = "guide"

urlpatterns = [
    path("", views.index, name="index"),
    path("can-bo-bao-cao/", views.guide_page, {"page": "reporter"}, name="reporter"),
    path("so-noi-vu/", views.guide_page, {"page": "secretariat"}, name="secretariat"),
    path("lanh-dao-don-vi/", views.guide_page, {"page": "unit-head"}, name="unit-head"),
    path("ban-chi-dao/", views.guide_page, {"page": "steering"}, name="steering"),
]
