from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from earthbench.accounts.views import lockout_guarded, throttled_login

urlpatterns = [
    path("accounts/login/", throttled_login, name="login"),
    # The admin's log-in under the same lockout rule (this route shadows the admin's own).
    path("admin/login/", lockout_guarded(admin.site.login), name="admin-login-guarded"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("earthbench.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("", include("earthbench.web.urls")),
]
