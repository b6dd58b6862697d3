from django.urls import path

from . import report_views, views

app_name = "dashboard"

urlpatterns = [
    path("", views.overview_page, name="overview"),
    path("heatmap/", views.heatmap_page, name="heatmap"),
    path("ranking/", views.ranking_page, name="ranking"),
    path("laggards/", views.laggards_page, name="laggards"),
    path("units/<code:code>/", views.unit_page, name="unit"),
    path("targets/<code:code>/", views.target_page, name="target"),
    path("report/", report_views.report_request, name="report-request"),
    path("report/<int:pk>/", report_views.report_page, name="report"),
    path("report/<int:pk>/download/", report_views.report_download, name="report-download"),
]
