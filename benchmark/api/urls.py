from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from benchmark.api.accounts import EmailPreferencesApi
from benchmark.api.auth import TokenCreateApi
from benchmark.api.organizers import (
    RegistrationDecideApi,
    RegistrationListApi,
    SubmissionFlagsApi,
    TrackAttackApi,
    TrackBenchmarkApi,
    TrackBuildApi,
    TrackRescoreApi,
    TrackRevealApi,
)
from benchmark.api.participants import (
    RegistrationApi,
    SubmissionSelectApi,
    TeamApi,
    TeamJoinApi,
    TeamLeaveApi,
)
from benchmark.api.queries import TrackQueryApi
from benchmark.api.scoring import ScoreApi
from benchmark.api.submissions import SubmissionDetailApi, TrackSubmissionsApi
from benchmark.api.tracks import (
    BundleDownloadApi,
    LeaderboardApi,
    LeaderboardCsvApi,
    TrackDetailApi,
    TrackListApi,
)

urlpatterns = [
    path("auth/token/", TokenCreateApi.as_view(), name="api-token"),
    path("account/email/", EmailPreferencesApi.as_view(), name="api-account-email"),
    path("tracks/", TrackListApi.as_view(), name="api-tracks"),
    path("tracks/<slug:slug>/", TrackDetailApi.as_view(), name="api-track"),
    path("tracks/<slug:slug>/leaderboard/", LeaderboardApi.as_view(), name="api-leaderboard"),
    path(
        "tracks/<slug:slug>/leaderboard.csv",
        LeaderboardCsvApi.as_view(),
        name="api-leaderboard-csv",
    ),
    path("tracks/<slug:slug>/bundle/", BundleDownloadApi.as_view(), name="api-bundle"),
    path("tracks/<slug:slug>/query/", TrackQueryApi.as_view(), name="api-query"),
    path(
        "tracks/<slug:slug>/submissions/",
        TrackSubmissionsApi.as_view(),
        name="api-track-submissions",
    ),
    path("tracks/<slug:slug>/reveal/", TrackRevealApi.as_view(), name="api-reveal"),
    path("tracks/<slug:slug>/rescore/", TrackRescoreApi.as_view(), name="api-rescore"),
    path("tracks/<slug:slug>/attacks/", TrackAttackApi.as_view(), name="api-attacks"),
    path("tracks/<slug:slug>/benchmark/", TrackBenchmarkApi.as_view(), name="api-benchmark"),
    path("tracks/<slug:slug>/build/", TrackBuildApi.as_view(), name="api-build"),
    path("tracks/<slug:slug>/registration/", RegistrationApi.as_view(), name="api-registration"),
    path(
        "tracks/<slug:slug>/registrations/",
        RegistrationListApi.as_view(),
        name="api-registrations",
    ),
    path(
        "tracks/<slug:slug>/registrations/<int:registration_id>/",
        RegistrationDecideApi.as_view(),
        name="api-registration-decide",
    ),
    path("tracks/<slug:slug>/team/", TeamApi.as_view(), name="api-team"),
    path("tracks/<slug:slug>/team/join/", TeamJoinApi.as_view(), name="api-team-join"),
    path("tracks/<slug:slug>/team/leave/", TeamLeaveApi.as_view(), name="api-team-leave"),
    path("submissions/<int:submission_id>/", SubmissionDetailApi.as_view(), name="api-submission"),
    path(
        "submissions/<int:submission_id>/flags/",
        SubmissionFlagsApi.as_view(),
        name="api-submission-flags",
    ),
    path(
        "submissions/<int:submission_id>/select/",
        SubmissionSelectApi.as_view(),
        name="api-submission-select",
    ),
    path("score/", ScoreApi.as_view(), name="api-score"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]
