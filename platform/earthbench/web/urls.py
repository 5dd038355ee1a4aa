from django.contrib.auth import views as auth_views
from django.urls import path

from earthbench.web import views

urlpatterns = [
    path("", views.benchmark_list, name="home"),
    path("benchmarks/<slug:slug>/", views.benchmark_detail, name="benchmark"),
    path("benchmarks/<slug:slug>/data/public.zip", views.benchmark_data, name="benchmark-data"),
    path("benchmarks/<slug:slug>/submit/", views.benchmark_submit, name="benchmark-submit"),
    path("submissions/", views.my_submissions, name="my-submissions"),
    path("submissions/<int:pk>/", views.submission_detail, name="submission"),
    path("submissions/<int:pk>/status.json", views.submission_status, name="submission-status"),
    path("submissions/<int:pk>/select/", views.submission_select_view, name="submission-select"),
    path("submissions/<int:pk>/hide/", views.submission_hide_view, name="submission-hide"),
    path("vendor/plotly.min.js", views.plotly_js, name="plotly-js"),
    path("accounts/signup/", views.signup, name="signup"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("account/tokens/", views.tokens, name="tokens"),
    path("account/tokens/<int:pk>/revoke/", views.token_revoke_view, name="token-revoke"),
]
