from django.urls import path

from . import views

app_name = "reports"

urlpatterns = [
    path("review/", views.review_queue, name="review"),
    path("<period:period_key>/template.xlsx", views.figures_template, name="template"),
    path("<period:period_key>/import/", views.figures_upload, name="import"),
    path("<period:period_key>/<code:unit_code>/", views.submission_page, name="submission"),
    path("<period:period_key>/<code:unit_code>/save/", views.submission_save, name="save"),
    path("<period:period_key>/<code:unit_code>/approve/", views.submission_approve_view, name="approve"),
    path("<period:period_key>/<code:unit_code>/return/", views.submission_return_view, name="return"),
    path("<period:period_key>/<code:unit_code>/reopen/", views.submission_reopen_view, name="reopen"),
    path("<period:period_key>/<code:unit_code>/evidence/", views.evidence_upload, name="evidence-upload"),
    path("<period:period_key>/<code:unit_code>/evidence/<int:pk>/", views.evidence_download, name="evidence"),
    path(
        "<period:period_key>/<code:unit_code>/evidence/<int:pk>/remove/", views.evidence_delete, name="evidence-remove"
    ),
]
