from django.urls import path

from earthbench.api import host_views, team_views, views

urlpatterns = [
    path("benchmarks/", views.BenchmarkList.as_view(), name="api-benchmarks"),
    path("benchmarks/<slug:slug>/", views.BenchmarkDetail.as_view(), name="api-benchmark"),
    path("benchmarks/<slug:slug>/leaderboard/", views.Leaderboard.as_view(), name="api-leaderboard"),
    path("submissions/", views.SubmissionListCreate.as_view(), name="api-submissions"),
    path("submissions/<int:pk>/", views.SubmissionDetail.as_view(), name="api-submission"),
    path("submissions/<int:pk>/cancel/", views.SubmissionCancel.as_view(), name="api-submission-cancel"),
    path("benchmarks/<slug:slug>/results/", views.BenchmarkResults.as_view(), name="api-results"),
    path("submissions/<int:pk>/select/", views.SubmissionSelect.as_view(), name="api-submission-select"),
    path("submissions/<int:pk>/hide/", views.SubmissionHide.as_view(), name="api-submission-hide"),
    path("submissions/<int:pk>/logs/", views.SubmissionLogs.as_view(), name="api-submission-logs"),
    path("me/quota/", views.MyQuota.as_view(), name="api-quota"),
    path("me/teams/", team_views.MyTeams.as_view(), name="api-my-teams"),
    path("benchmarks/<slug:slug>/team/", team_views.BenchmarkTeam.as_view(), name="api-team"),
    path("benchmarks/<slug:slug>/team/join/", team_views.BenchmarkTeamJoin.as_view(), name="api-team-join"),
    path("benchmarks/<slug:slug>/team/merge/", team_views.BenchmarkTeamMerge.as_view(), name="api-team-merge"),
    path("benchmarks/<slug:slug>/team/copy/", team_views.BenchmarkTeamCopy.as_view(), name="api-team-copy"),
    path("benchmarks/<slug:slug>/team/leave/", team_views.BenchmarkTeamLeave.as_view(), name="api-team-leave"),
    path("uploads/", views.UploadCreate.as_view(), name="api-uploads"),
    path("uploads/<uuid:uuid>/", views.UploadDetail.as_view(), name="api-upload"),
    path("uploads/<uuid:uuid>/complete/", views.UploadComplete.as_view(), name="api-upload-complete"),
    path("tokens/", views.TokenListCreate.as_view(), name="api-tokens"),
    path("tokens/<int:pk>/", views.TokenDetail.as_view(), name="api-token"),
    # Hosts (issue 20): bundles, publishing, editing, versions.
    path("host/benchmarks/", host_views.HostBenchmarkList.as_view(), name="api-host-benchmarks"),
    path("host/benchmarks/<slug:slug>/", host_views.HostBenchmarkDetail.as_view(), name="api-host-benchmark"),
    path("host/benchmarks/<slug:slug>/bundle/", host_views.HostBenchmarkBundle.as_view(), name="api-host-bundle"),
    path("host/benchmarks/<slug:slug>/publish/", host_views.HostBenchmarkPublish.as_view(), name="api-host-publish"),
    path("host/benchmarks/<slug:slug>/unpublish/", host_views.HostBenchmarkUnpublish.as_view(), name="api-host-unpublish"),
    path("host/benchmarks/<slug:slug>/rescore-previous/", host_views.HostBenchmarkRescorePrevious.as_view(), name="api-host-rescore-previous"),
]
