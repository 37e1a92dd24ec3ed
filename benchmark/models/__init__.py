"""ORM models: the competition (tracks, zoo models, submissions, scores, quotas) and the
background jobs that build, score and attack."""

from benchmark.models.competition import (
    SCORED_PHASES,
    AnyUser,
    DailyUsage,
    Entrant,
    LeaderboardEntry,
    PairComparison,
    Phase,
    Scenario,
    ScenarioScore,
    Submission,
    Track,
    ZooModel,
    ZooStorage,
    submission_upload_to,
    zoo_storage,
)
from benchmark.models.jobs import Job, WorkerHeartbeat

__all__ = [
    "SCORED_PHASES",
    "AnyUser",
    "DailyUsage",
    "Entrant",
    "Job",
    "LeaderboardEntry",
    "PairComparison",
    "Phase",
    "Scenario",
    "ScenarioScore",
    "Submission",
    "Track",
    "WorkerHeartbeat",
    "ZooModel",
    "ZooStorage",
    "submission_upload_to",
    "zoo_storage",
]
