"""Functions that write. Views, API views, tasks and commands call these."""

from django.utils import timezone

from benchmark.models import WorkerHeartbeat
from benchmark.services.baselines import attack_queue, attack_run
from benchmark.services.emails import (
    email_abandon,
    email_password_reset_queue,
    email_preferences_update,
    email_send,
    reveal_notify,
)
from benchmark.services.finals import submission_select
from benchmark.services.registrations import registration_apply, registration_decide
from benchmark.services.scores import submission_abandon, submission_score
from benchmark.services.submissions import (
    metadata_clean,
    submission_create,
    submission_metadata_update,
    submission_set_flags,
)
from benchmark.services.teams import team_create, team_join, team_leave
from benchmark.services.ties import leaderboard_compare
from benchmark.services.tracks import (
    track_benchmark_open,
    track_create,
    track_import,
    track_rescore,
    track_reveal,
)
from benchmark.services.zoo import (
    zoo_build_chunk,
    zoo_build_fail,
    zoo_build_fan_out,
    zoo_build_queue,
    zoo_build_start,
    zoo_finalize,
    zoo_import_run,
)


def heartbeat_record(*, hostname: str, queue: str) -> WorkerHeartbeat:
    heartbeat, _ = WorkerHeartbeat.objects.update_or_create(
        hostname=hostname, queue=queue, defaults={"seen_at": timezone.now()}
    )
    return heartbeat


__all__ = [
    "attack_queue",
    "attack_run",
    "email_abandon",
    "email_password_reset_queue",
    "email_preferences_update",
    "email_send",
    "heartbeat_record",
    "leaderboard_compare",
    "metadata_clean",
    "registration_apply",
    "registration_decide",
    "reveal_notify",
    "submission_abandon",
    "submission_create",
    "submission_metadata_update",
    "submission_score",
    "submission_select",
    "submission_set_flags",
    "team_create",
    "team_join",
    "team_leave",
    "track_benchmark_open",
    "track_create",
    "track_import",
    "track_rescore",
    "track_reveal",
    "zoo_build_chunk",
    "zoo_build_fail",
    "zoo_build_fan_out",
    "zoo_build_queue",
    "zoo_build_start",
    "zoo_finalize",
    "zoo_import_run",
]
