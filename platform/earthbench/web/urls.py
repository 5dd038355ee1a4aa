from django.contrib.auth import views as auth_views
from django.urls import path
from django.views.decorators.http import (
    require_http_methods,
    require_POST,
    require_safe,
)

from earthbench.web import (
    account_views,
    docs_views,
    download_views,
    host_views,
    submission_views,
    team_views,
    views,
)

# Django's form views also answer PUT (as a POST) and OPTIONS: each route here
# declares its methods (tests/platform/test_allowed_methods.py).
form_view = require_http_methods(["GET", "HEAD", "POST"])

urlpatterns = [
    path("", views.benchmark_list, name="home"),
    path("benchmarks/new/", host_views.benchmark_new, name="benchmark-new"),
    path("benchmarks/<slug:slug>/", views.benchmark_detail, name="benchmark"),
    path(
        "benchmarks/<slug:slug>/data/",
        views.benchmark_data_tab,
        name="benchmark-data-tab",
    ),
    path(
        "benchmarks/<slug:slug>/data/public.zip",
        views.benchmark_data,
        name="benchmark-data",
    ),
    path(
        "benchmarks/<slug:slug>/data/sample/",
        views.benchmark_sample,
        name="benchmark-sample",
    ),
    path(
        "benchmarks/<slug:slug>/leaderboard/",
        views.benchmark_leaderboard,
        name="benchmark-leaderboard",
    ),
    path(
        "benchmarks/<slug:slug>/submit/",
        views.benchmark_submit,
        name="benchmark-submit",
    ),
    path("benchmarks/<slug:slug>/mine/", views.benchmark_mine, name="benchmark-mine"),
    path("benchmarks/<slug:slug>/team/", team_views.benchmark_team, name="benchmark-team"),
    path("benchmarks/<slug:slug>/team/create/", team_views.team_create_view, name="benchmark-team-create"),
    path("benchmarks/<slug:slug>/team/join/", team_views.team_join_view, name="benchmark-team-join"),
    path("benchmarks/<slug:slug>/team/merge/", team_views.team_merge_view, name="benchmark-team-merge"),
    path("benchmarks/<slug:slug>/team/copy/", team_views.team_copy_view, name="benchmark-team-copy"),
    path("benchmarks/<slug:slug>/team/leave/", team_views.team_leave_view, name="benchmark-team-leave"),
    path(
        "benchmarks/<slug:slug>/data/preview/<str:name>",
        views.benchmark_preview,
        name="benchmark-preview",
    ),
    path(
        "benchmarks/<slug:slug>/host/", host_views.host_dashboard, name="benchmark-host"
    ),
    path(
        "benchmarks/<slug:slug>/host/rescore/",
        host_views.host_rescore,
        name="benchmark-rescore",
    ),
    path("benchmarks/<slug:slug>/host/edit/", host_views.host_edit, name="benchmark-host-edit"),
    path(
        "benchmarks/<slug:slug>/host/publish/",
        host_views.host_publish,
        name="benchmark-host-publish",
    ),
    path(
        "benchmarks/<slug:slug>/host/bundle/",
        host_views.host_bundle,
        name="benchmark-host-bundle",
    ),
    path(
        "benchmarks/<slug:slug>/host/rescore-previous/",
        host_views.host_rescore_previous,
        name="benchmark-host-rescore-previous",
    ),
    path("submissions/", submission_views.my_submissions, name="my-submissions"),
    path("submissions/<int:pk>/", submission_views.submission_detail, name="submission"),
    path(
        "submissions/<int:pk>/status.json",
        submission_views.submission_status,
        name="submission-status",
    ),
    path(
        "submissions/<int:pk>/select/",
        submission_views.submission_select_view,
        name="submission-select",
    ),
    path(
        "submissions/<int:pk>/hide/", submission_views.submission_hide_view, name="submission-hide"
    ),
    path("vendor/plotly.min.js", views.plotly_js, name="plotly-js"),
    path("getting-started/", docs_views.getting_started, name="getting-started"),
    path("downloads/", download_views.downloads_index, name="downloads"),
    path("downloads/<str:filename>", download_views.download_file, name="download-file"),
    path("docs/examples/<str:name>", docs_views.doc_example, name="doc-example"),
    path("docs/<slug:name>/", docs_views.doc_page, name="doc"),
    path("accounts/signup/", account_views.signup, name="signup"),
    path("accounts/login/", form_view(auth_views.LoginView.as_view()), name="login"),
    path("accounts/logout/", require_POST(auth_views.LogoutView.as_view()), name="logout"),
    # Django's password reset: a one-time link by e-mail (console backend in the demo).
    path(
        "accounts/password-reset/",
        form_view(auth_views.PasswordResetView.as_view()),
        name="password_reset",
    ),
    path(
        "accounts/password-reset/sent/",
        require_safe(auth_views.PasswordResetDoneView.as_view()),
        name="password_reset_done",
    ),
    path(
        "accounts/reset/<uidb64>/<token>/",
        form_view(auth_views.PasswordResetConfirmView.as_view()),
        name="password_reset_confirm",
    ),
    path(
        "accounts/reset/done/",
        require_safe(auth_views.PasswordResetCompleteView.as_view()),
        name="password_reset_complete",
    ),
    path("account/", account_views.account_settings, name="account"),
    path("account/tokens/", account_views.tokens, name="tokens"),
    path(
        "account/tokens/<int:pk>/revoke/",
        account_views.token_revoke_view,
        name="token-revoke",
    ),
]
