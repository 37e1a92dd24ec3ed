from django.contrib.auth import views as auth_views
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from benchmark import views
from benchmark.forms import PasswordResetForm

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("favicon.ico", RedirectView.as_view(url=static("favicon.ico"), permanent=True)),
    path("accounts/signup/", views.signup, name="signup"),
    path("accounts/email/", views.account_email, name="account-email"),
    path(
        "accounts/password_reset/",
        auth_views.PasswordResetView.as_view(form_class=PasswordResetForm),
        name="password_reset",
    ),
    path("accounts/", include("django.contrib.auth.urls")),
    path("tracks/<slug:slug>/", views.track_detail, name="track-detail"),
    path("tracks/<slug:slug>/submit/", views.submission_upload, name="submission-upload"),
    path("tracks/<slug:slug>/leaderboard/", views.leaderboard, name="track-leaderboard"),
    path("tracks/<slug:slug>/submissions/", views.my_submissions, name="track-submissions"),
    path("tracks/<slug:slug>/reveal/", views.track_reveal, name="track-reveal"),
    path("tracks/<slug:slug>/rescore/", views.track_rescore, name="track-rescore"),
    path("tracks/<slug:slug>/attacks/", views.track_attack, name="track-attack"),
    path("tracks/<slug:slug>/benchmark/", views.track_benchmark, name="track-benchmark"),
    path("tracks/<slug:slug>/register/", views.track_register, name="track-register"),
    path("tracks/<slug:slug>/team/", views.team_create, name="track-team-create"),
    path("tracks/<slug:slug>/team/join/", views.team_join, name="track-team-join"),
    path("tracks/<slug:slug>/team/leave/", views.team_leave, name="track-team-leave"),
    path(
        "submissions/<int:submission_id>/select/",
        views.submission_select,
        name="submission-select",
    ),
    path("submissions/<int:submission_id>/", views.submission_detail, name="submission-detail"),
    path(
        "submissions/<int:submission_id>/metadata/",
        views.submission_metadata,
        name="submission-metadata",
    ),
]
