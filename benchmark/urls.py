from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from benchmark import views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("favicon.ico", RedirectView.as_view(url=static("favicon.ico"), permanent=True)),
    path("accounts/signup/", views.signup, name="signup"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("tracks/<slug:slug>/", views.track_detail, name="track-detail"),
    path("tracks/<slug:slug>/submit/", views.submission_upload, name="submission-upload"),
    path("tracks/<slug:slug>/leaderboard/", views.leaderboard, name="track-leaderboard"),
    path("tracks/<slug:slug>/submissions/", views.my_submissions, name="track-submissions"),
    path("tracks/<slug:slug>/reveal/", views.track_reveal, name="track-reveal"),
    path("tracks/<slug:slug>/rescore/", views.track_rescore, name="track-rescore"),
    path("tracks/<slug:slug>/attacks/", views.track_attack, name="track-attack"),
    path("submissions/<int:submission_id>/", views.submission_detail, name="submission-detail"),
]
