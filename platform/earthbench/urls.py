from django.contrib import admin
from django.urls import include, path
from django.views.decorators.http import require_http_methods
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from earthbench.accounts.views import lockout_guarded, throttled_login

# Each route declares its methods (tests/platform/test_allowed_methods.py): Django's
# log-in views would also answer PUT (as a POST) and OPTIONS.
form_view = require_http_methods(["GET", "HEAD", "POST"])

urlpatterns = [
    path("accounts/login/", form_view(throttled_login), name="login"),
    # The admin's log-in under the same lockout rule (this route shadows the admin's own).
    path("admin/login/", form_view(lockout_guarded(admin.site.login)), name="admin-login-guarded"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("earthbench.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema", http_method_names=["get", "head"]), name="api-docs"),
    path("", include("earthbench.web.urls")),
]
