"""ORM models of the competition app.

Rows hold what the leaderboard and the pages need; files (zoo weights, solutions, bundles,
uploaded zips) live in storage. Invariants that the database can keep are constraints here.
"""

import datetime as dt
import os

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.core.files.storage import FileSystemStorage, Storage, storages
from django.db import models
from django.db.models import Q

#: Who is asking: a signed-in user or an anonymous visitor.
AnyUser = User | AnonymousUser


class ZooStorage(FileSystemStorage):
    """Files under ``ARENA_ZOO_ROOT``, read from the settings at each use (not at import)."""

    @property
    def base_location(self) -> str:
        return str(settings.ARENA_ZOO_ROOT)

    @property
    def location(self) -> str:
        return os.path.abspath(self.base_location)


def zoo_storage() -> Storage:
    """Where zoo builds live (weights, organizer-only solutions, participant bundles): the
    ``zoo`` storage of ``STORAGES`` (:class:`ZooStorage`, or a bucket with object storage)."""
    return storages["zoo"]


class Phase(models.TextChoices):
    TRAIN = "train", "train"
    DEV = "dev", "dev"
    FINAL = "final", "final"


SCORED_PHASES = (Phase.DEV, Phase.FINAL)


class Access(models.TextChoices):
    """What an attack uses of the target models."""

    WHITE_BOX = "white-box", "white-box"
    BLACK_BOX = "black-box", "black-box"


class Track(models.Model):
    class Final(models.TextChoices):
        """Which of a participant's submissions counts (on dev and final alike)."""

        LATEST = "latest", "the latest valid submission (MICO)"
        BEST_DEV = "best-dev", "the one with the best mean dev metric"
        SELECTED = "selected", "the best on final of those the participant marks"

    class BuildStatus(models.TextChoices):
        PENDING = "pending", "pending"
        BUILDING = "building", "building"
        READY = "ready", "ready"
        FAILED = "failed", "failed"

    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    spec_text = models.TextField(help_text="The track file (TOML) as uploaded.")
    spec = models.JSONField(default=dict, help_text="The validated track file.")
    primary = models.CharField(max_length=32, default="TPR_FPR_1000")
    final = models.CharField(max_length=8, choices=Final.choices, default=Final.LATEST)
    select_final = models.PositiveSmallIntegerField(
        default=2, help_text='Submissions a participant may mark with final = "selected".'
    )
    max_team_size = models.PositiveSmallIntegerField(default=1, help_text="1 means no teams.")
    teams_freeze = models.DateTimeField(
        null=True, blank=True, help_text="Teams are frozen after this (empty: the deadline)."
    )
    terms = models.TextField(blank=True, help_text="Accepted at registration (empty: none).")
    requires_approval = models.BooleanField(
        default=False, help_text="An organizer approves each registration."
    )
    email_domains = models.JSONField(
        default=list, blank=True, help_text="E-mail domains allowed to register (empty: any)."
    )
    benchmark_opened_at = models.DateTimeField(
        null=True, blank=True, help_text="When the benchmark phase opened (after the reveal)."
    )
    benchmark_per_day = models.PositiveIntegerField(
        default=5, help_text="Uploads per participant per UTC day in the benchmark phase."
    )
    dev_opens = models.DateTimeField()
    final_deadline = models.DateTimeField()
    revealed_at = models.DateTimeField(null=True, blank=True)
    per_day = models.PositiveIntegerField()
    total = models.PositiveIntegerField()
    invalid_per_day = models.PositiveIntegerField()
    max_bytes = models.PositiveIntegerField()
    access = models.CharField(
        max_length=16,
        choices=Access.choices,
        default=Access.WHITE_BOX,
        help_text="white-box: the bundle holds the weights; black-box: models are queried.",
    )
    queries_per_day = models.PositiveIntegerField(
        default=1_000_000, help_text="Rows a participant may query per UTC day (black-box)."
    )
    query_batch = models.PositiveIntegerField(
        default=1_000, help_text="Most rows in one query request (black-box)."
    )
    challenge = models.PositiveIntegerField(help_text="m: members (and non-members) per model.")
    build_status = models.CharField(
        max_length=16, choices=BuildStatus.choices, default=BuildStatus.PENDING
    )
    build_message = models.TextField(blank=True)
    models_total = models.PositiveIntegerField(default=0)
    models_built = models.PositiveIntegerField(default=0)
    bundle = models.FileField(storage=zoo_storage, blank=True, max_length=300)
    zoo_fingerprint = models.CharField(max_length=64, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(build_status__in=["pending", "building", "ready", "failed"]),
                name="track_build_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(final__in=["latest", "best-dev", "selected"]), name="track_final_valid"
            ),
            models.CheckConstraint(
                condition=Q(benchmark_opened_at__isnull=True) | Q(revealed_at__isnull=False),
                name="track_benchmark_after_reveal",
            ),
            models.CheckConstraint(
                condition=Q(final_deadline__gt=models.F("dev_opens")), name="track_phases_ordered"
            ),
            models.CheckConstraint(
                condition=Q(models_built__lte=models.F("models_total")),
                name="track_models_built_le_total",
            ),
        ]

    def __str__(self) -> str:
        return self.slug

    @property
    def is_revealed(self) -> bool:
        return self.revealed_at is not None

    @property
    def registration_required(self) -> bool:
        """True when participants register (terms, approval or allowed domains) first."""
        return bool(self.terms.strip() or self.requires_approval or self.email_domains)

    @property
    def teams_frozen_at(self) -> "dt.datetime":
        return self.teams_freeze or self.final_deadline


class Scenario(models.Model):
    track = models.ForeignKey(Track, on_delete=models.CASCADE, related_name="scenarios")
    slug = models.SlugField(max_length=64)
    position = models.PositiveSmallIntegerField(default=0)
    epsilon = models.FloatField(null=True, blank=True, help_text="Empty means ε = ∞.")
    delta = models.FloatField(null=True, blank=True)
    clip = models.FloatField(null=True, blank=True)
    noise_multiplier = models.FloatField(null=True, blank=True)
    release = models.JSONField(
        default=dict,
        blank=True,
        help_text="What a black-box scenario releases: temperature, top_k, decimals, label_only.",
    )

    class Meta:
        ordering = ["track", "position"]
        constraints = [
            models.UniqueConstraint(fields=["track", "slug"], name="scenario_track_slug"),
            models.CheckConstraint(
                condition=Q(epsilon__isnull=True) | Q(epsilon__gt=0), name="scenario_epsilon_pos"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.track.slug}_{self.slug}"


class ZooModel(models.Model):
    scenario = models.ForeignKey(Scenario, on_delete=models.CASCADE, related_name="zoo_models")
    phase = models.CharField(max_length=8, choices=Phase.choices)
    index = models.PositiveIntegerField()
    seeds = models.JSONField(default=dict)
    train_accuracy = models.FloatField(null=True, blank=True)
    eval_accuracy = models.FloatField(null=True, blank=True)
    epsilon_spent = models.FloatField(null=True, blank=True)
    wall_seconds = models.FloatField(null=True, blank=True)
    dtype = models.CharField(max_length=16, blank=True, help_text="Compute dtype it trained in.")
    device = models.CharField(max_length=16, blank=True, help_text="cpu or cuda.")
    path = models.CharField(max_length=300, help_text="Directory under ARENA_ZOO_ROOT.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["scenario", "index"]
        constraints = [
            models.UniqueConstraint(
                fields=["scenario", "phase", "index"], name="zoomodel_scenario_phase_index"
            ),
            models.CheckConstraint(
                condition=Q(phase__in=["train", "dev", "final"]), name="zoomodel_phase_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.scenario}/{self.phase}/model_{self.index}"


def submission_upload_to(instance: "Submission", filename: str) -> str:
    return f"submissions/{instance.track.slug}/{instance.sha256[:2]}/{instance.sha256}.zip"


#: Lengths of a submission's metadata (method name, description, paper and code URLs).
METHOD_MAX = 100
DESCRIPTION_MAX = 1000
URL_MAX = 500


class Submission(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "queued"
        SCORING = "scoring", "scoring"
        SCORED = "scored", "scored"
        FAILED = "failed", "failed"

    track = models.ForeignKey(Track, on_delete=models.CASCADE, related_name="submissions")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="submissions",
    )
    file = models.FileField(upload_to=submission_upload_to, max_length=300)
    filename = models.CharField(max_length=255, blank=True)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    status_changed_at = models.DateTimeField(auto_now_add=True)
    message = models.TextField(blank=True, help_text="Why scoring failed, for a person.")
    errors = models.JSONField(default=list, blank=True)
    notices = models.JSONField(
        default=list, blank=True, help_text="Files of the zip that were not scored: path, reason."
    )
    scoring_attempts = models.PositiveSmallIntegerField(default=0)
    counted = models.BooleanField(
        default=False, help_text="Counted against the owner's quota (refunded on our failures)."
    )
    is_baseline = models.BooleanField(default=False)
    attack = models.CharField(max_length=64, blank=True)
    hidden = models.BooleanField(default=False)
    disqualified = models.BooleanField(default=False)
    # What the participant says about the method (set at upload, editable by the owner); shown
    # wherever the entry itself is shown. Services validate; the constraints are a backstop.
    method = models.CharField(max_length=METHOD_MAX, blank=True, help_text="Method name.")
    description = models.CharField(max_length=DESCRIPTION_MAX, blank=True)
    paper_url = models.URLField(max_length=URL_MAX, blank=True)
    code_url = models.URLField(max_length=URL_MAX, blank=True)
    access = models.CharField(
        max_length=16,
        choices=Access.choices,
        blank=True,
        help_text="What the method uses of the models (empty: not stated).",
    )
    team = models.ForeignKey(
        "benchmark.Team",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="submissions",
        help_text="The owner's team on this track when it was uploaded.",
    )
    selected = models.BooleanField(
        default=False, help_text='Marked by its owner to count for final (final = "selected").'
    )
    benchmark = models.BooleanField(
        default=False, help_text="Uploaded in the benchmark phase (after the reveal)."
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["track", "owner", "-created_at"], name="submission_track_owner"),
            models.Index(fields=["status", "status_changed_at"], name="submission_status_age"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["queued", "scoring", "scored", "failed"]),
                name="submission_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(is_baseline=False, owner__isnull=False)
                | Q(is_baseline=True) & ~Q(attack=""),
                name="submission_owner_or_baseline",
            ),
            models.CheckConstraint(
                condition=Q(access__in=["", "white-box", "black-box"]),
                name="submission_access_valid",
            ),
            models.CheckConstraint(
                condition=Q(paper_url="")
                | Q(paper_url__startswith="http://")
                | Q(paper_url__startswith="https://"),
                name="submission_paper_url_http",
            ),
            models.CheckConstraint(
                condition=Q(code_url="")
                | Q(code_url__startswith="http://")
                | Q(code_url__startswith="https://"),
                name="submission_code_url_http",
            ),
        ]

    def __str__(self) -> str:
        who = f"baseline {self.attack}" if self.is_baseline else str(self.owner)
        return f"#{self.pk} {self.track.slug} by {who} ({self.status})"


class ScenarioScore(models.Model):
    """The scores of one submission on one scenario and phase in one scoring run.

    Re-scoring writes new rows and flips ``is_current`` on the old ones: the history stays.
    """

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="scores")
    scenario = models.ForeignKey(Scenario, on_delete=models.CASCADE, related_name="scores")
    phase = models.CharField(max_length=8, choices=Phase.choices)
    primary = models.FloatField(help_text="The track's primary metric (denormalised).")
    metrics = models.JSONField(help_text="MICO's keys: TPR_FPR_10 ... accuracy.")
    ci_low = models.FloatField()
    ci_high = models.FloatField()
    eps_lb = models.FloatField(null=True, blank=True)
    roc = models.JSONField(help_text='Downsampled for display: {"fpr": [...], "tpr": [...]}.')
    scorer_version = models.CharField(max_length=32)
    zoo_fingerprint = models.CharField(max_length=64, blank=True)
    is_current = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["scenario__position", "phase"]
        indexes = [
            models.Index(fields=["submission", "is_current"], name="score_submission_current")
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["submission", "scenario", "phase"],
                condition=Q(is_current=True),
                name="score_one_current",
            ),
            models.CheckConstraint(
                condition=Q(phase__in=["dev", "final"]), name="score_phase_scored"
            ),
            models.CheckConstraint(condition=Q(ci_low__lte=models.F("ci_high")), name="score_ci"),
        ]

    def __str__(self) -> str:
        return f"{self.submission_id} {self.scenario.slug}/{self.phase}: {self.primary:.4f}"


class LeaderboardEntry(models.Model):
    """One submission's leaderboard line on one phase, written with its ScenarioScores.

    The mean primary metric, its interval and every per-scenario figure in one row, so the
    leaderboard reads one row per entry. Re-scoring flips ``is_current`` like ScenarioScore.
    """

    submission = models.ForeignKey(
        Submission, on_delete=models.CASCADE, related_name="leaderboard_entries"
    )
    phase = models.CharField(max_length=8, choices=Phase.choices)
    score = models.FloatField(help_text="The primary metric averaged over scenarios.")
    ci_low = models.FloatField()
    ci_high = models.FloatField()
    per_scenario = models.JSONField(help_text="scenario -> metrics, ci, eps_lb, epsilon.")
    is_current = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["submission", "phase"],
                condition=Q(is_current=True),
                name="entry_one_current",
            ),
            models.CheckConstraint(
                condition=Q(phase__in=["dev", "final"]), name="entry_phase_scored"
            ),
        ]
        indexes = [
            models.Index(fields=["phase", "is_current", "submission"], name="entry_phase_current")
        ]

    def __str__(self) -> str:
        return f"{self.submission_id} on {self.phase}: {self.score:.4f}"


class PairComparison(models.Model):
    """Cached paired bootstrap of two submissions on one phase (the leaderboard's tie marks)."""

    better = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="+")
    worse = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="+")
    phase = models.CharField(max_length=8, choices=Phase.choices)
    separated = models.BooleanField()
    scorer_version = models.CharField(max_length=32)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["better", "worse", "phase", "scorer_version"], name="pair_unique"
            )
        ]

    def __str__(self) -> str:
        relation = "separated from" if self.separated else "tied with"
        return f"{self.better_id} {relation} {self.worse_id} on {self.phase}"
