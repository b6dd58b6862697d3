from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, register_converter
from django.views.generic import RedirectView

from cchc_portal.converters import CodeConverter, PeriodKeyConverter
from dashboard.home import home

register_converter(CodeConverter, "code")
register_converter(PeriodKeyConverter, "period")

urlpatterns = [
    path("", home, name="home"),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("accounts/", include("units.account_urls")),  # invitations and forgotten passwords
    path("i18n/", include("django.conf.urls.i18n")),
    path("units/", include("units.urls")),
    path("targets/", include("targets.urls")),
    path("reports/", include("reports.urls")),
    path("dashboard/", include("dashboard.urls")),
    path("huong-dan/", include("guide.urls")),
    path("admin/", admin.site.urls),
    # Browsers and tools ask for /favicon.ico where no page names its icon (base.html does). The
    # redirect is permanent, so it names the unhashed file, which collectstatic keeps beside the hashed one.
    path("favicon.ico", RedirectView.as_view(url=f"{settings.STATIC_URL}favicon.ico", permanent=True), name="favicon"),
]
