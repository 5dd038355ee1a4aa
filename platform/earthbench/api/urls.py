from django.urls import path

from earthbench.api import views

urlpatterns = [
    path("benchmarks/", views.BenchmarkList.as_view(), name="api-benchmarks"),
    path("benchmarks/<slug:slug>/", views.BenchmarkDetail.as_view(), name="api-benchmark"),
    path("benchmarks/<slug:slug>/leaderboard/", views.Leaderboard.as_view(), name="api-leaderboard"),
    path("submissions/", views.SubmissionListCreate.as_view(), name="api-submissions"),
    path("submissions/<int:pk>/", views.SubmissionDetail.as_view(), name="api-submission"),
    path("submissions/<int:pk>/cancel/", views.SubmissionCancel.as_view(), name="api-submission-cancel"),
    path("me/quota/", views.MyQuota.as_view(), name="api-quota"),
]
