"""ORM models: the competition (tracks, zoo models, submissions, scores, quotas), who takes
part (teams, registrations, organizers), the background jobs that build, score and attack,
and e-mail (preferences, outgoing messages)."""

from benchmark.models.competition import (
    DESCRIPTION_MAX,
    METHOD_MAX,
    SCORED_PHASES,
    URL_MAX,
    Access,
    AnyUser,
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
from benchmark.models.emails import EmailPreferences, OutgoingEmail
from benchmark.models.jobs import Job, WorkerHeartbeat
from benchmark.models.quotas import DailyUsage, Entrant
from benchmark.models.roles import ROLES, Registration, Team, TeamMember, TrackOrganizer

__all__ = [
    "DESCRIPTION_MAX",
    "METHOD_MAX",
    "ROLES",
    "SCORED_PHASES",
    "URL_MAX",
    "Access",
    "AnyUser",
    "DailyUsage",
    "EmailPreferences",
    "Entrant",
    "Job",
    "LeaderboardEntry",
    "OutgoingEmail",
    "PairComparison",
    "Phase",
    "Registration",
    "Scenario",
    "ScenarioScore",
    "Submission",
    "Team",
    "TeamMember",
    "Track",
    "TrackOrganizer",
    "WorkerHeartbeat",
    "ZooModel",
    "ZooStorage",
    "submission_upload_to",
    "zoo_storage",
]
