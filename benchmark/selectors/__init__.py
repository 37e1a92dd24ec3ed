"""Functions that read. Views, API views, tasks and commands call these."""

from benchmark.selectors.emails import email_preferences_get
from benchmark.selectors.health import health_report
from benchmark.selectors.leaderboard import (
    chosen_submissions,
    final_visible,
    leaderboard_figures,
    leaderboard_for_phase,
)
from benchmark.selectors.submissions import (
    submission_detail,
    submission_figures,
    submission_get,
    submissions_for_user,
)
from benchmark.selectors.tracks import (
    bundle_checksum,
    quota_for_user,
    registration_for_user,
    registrations_for_track,
    team_for_user,
    track_get,
    track_list,
    track_progress,
)

__all__ = [
    "bundle_checksum",
    "chosen_submissions",
    "email_preferences_get",
    "final_visible",
    "health_report",
    "leaderboard_figures",
    "leaderboard_for_phase",
    "quota_for_user",
    "registration_for_user",
    "registrations_for_track",
    "submission_detail",
    "submission_figures",
    "submission_get",
    "submissions_for_user",
    "team_for_user",
    "track_get",
    "track_list",
    "track_progress",
]
