"""Invitations and forgotten passwords, under /accounts/ beside sign-in and password change."""

from django.urls import path

from . import account_views

app_name = "accounts"

urlpatterns = [
    path("password/reset/", account_views.PasswordResetRequestView.as_view(), name="password-reset"),
    path("password/reset/done/", account_views.PasswordResetDoneView.as_view(), name="password-reset-done"),
    path(
        "password/reset/<uidb64>/<token>/",
        account_views.PasswordResetConfirmView.as_view(),
        name="password-reset-confirm",
    ),
    path("password/reset/complete/", account_views.PasswordResetCompleteView.as_view(), name="password-reset-complete"),
    path("invitation/<uidb64>/<token>/", account_views.InvitationConfirmView.as_view(), name="invitation"),
    path("invitation/done/", account_views.InvitationDoneView.as_view(), name="invitation-done"),
]
