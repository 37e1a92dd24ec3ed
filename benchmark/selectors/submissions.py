"""Reading submissions: who may see which, their scores, their ROC figures."""

from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404

from benchmark.models import AnyUser, ScenarioScore, Submission, TeamMember, Track
from benchmark.permissions import track_organizes
from benchmark.selectors.leaderboard import final_visible
from scoring.figures import roc_figure


def _own(user: AnyUser) -> Q:
    """Submissions ``user`` uploaded, or that their teams did."""
    assert user.pk is not None
    return Q(owner_id=user.pk) | Q(
        team_id__in=TeamMember.objects.filter(user_id=user.pk).values("team_id")
    )


def submission_get(*, submission_id: int, user: AnyUser) -> Submission:
    """The submission if ``user`` may see it (its owner, a member of its team, staff and the
    track's organizers, or anyone for a visible baseline); ``Http404`` otherwise, so other
    people's ids reveal nothing."""
    visible = Q(is_baseline=True, hidden=False)
    if user.is_authenticated:
        visible |= _own(user)
    submission = (
        Submission.objects.select_related("track", "owner", "team").filter(pk=submission_id).first()
    )
    if submission is None or not (
        Submission.objects.filter(visible, pk=submission_id).exists()
        or track_organizes(track=submission.track, user=user)
    ):
        raise Http404("no such submission")
    return submission


def submissions_for_user(*, track: Track, user: AnyUser) -> QuerySet[Submission]:
    """The user's own submissions to ``track`` and their team's, newest first."""
    if not user.is_authenticated:
        return Submission.objects.none()
    return (
        Submission.objects.filter(_own(user), track=track)
        .select_related("track", "owner", "team")
        .order_by("-created_at", "-id")
    )


def _current_scores(submission: Submission, user: AnyUser) -> QuerySet[ScenarioScore]:
    scores = ScenarioScore.objects.filter(submission=submission, is_current=True).select_related(
        "scenario"
    )
    if not final_visible(track=submission.track, user=user):
        scores = scores.filter(phase="dev")
    return scores.order_by("scenario__position", "phase")


def submission_detail(*, submission: Submission, user: AnyUser) -> dict[str, Any]:
    """Status, errors, the files of the zip not scored (``notices``), the metadata (method,
    description, paper and code URLs, access) and scores per scenario and phase (final only
    after the reveal)."""
    scores: dict[str, dict[str, Any]] = {}
    for score in _current_scores(submission, user).defer("roc"):
        scores.setdefault(score.scenario.slug, {})[score.phase] = {
            **score.metrics,
            "primary": score.primary,
            "ci": [score.ci_low, score.ci_high],
            "eps_lb": score.eps_lb,
            "epsilon": score.scenario.epsilon,
        }
    return {
        "id": submission.pk,
        "track": submission.track.slug,
        "owner": submission.owner.get_username() if submission.owner else "",
        "team": submission.team.name if submission.team else "",
        "selected": submission.selected,
        "benchmark": submission.benchmark,
        "filename": submission.filename,
        "size": submission.size,
        "sha256": submission.sha256,
        "created_at": submission.created_at,
        "status": submission.status,
        "message": submission.message,
        "errors": submission.errors,
        "notices": submission.notices,
        "is_baseline": submission.is_baseline,
        "attack": submission.attack,
        "hidden": submission.hidden,
        "disqualified": submission.disqualified,
        "method": submission.method,
        "description": submission.description,
        "paper_url": submission.paper_url,
        "code_url": submission.code_url,
        "access": submission.access,
        "final_visible": final_visible(track=submission.track, user=user),
        "scores": scores,
    }


def submission_figures(*, submission: Submission, user: AnyUser) -> dict[str, dict[str, Any]]:
    """Per scenario, the ROC curves of every visible phase on linear and log-log axes."""
    curves: dict[str, dict[str, Any]] = {}
    for score in _current_scores(submission, user):
        curves.setdefault(score.scenario.slug, {})[score.phase] = score.roc
    return {
        slug: {
            "linear": roc_figure(lines, log=False, title=f"{slug}: ROC"),
            "log": roc_figure(lines, log=True, title=f"{slug}: ROC (log-log)"),
        }
        for slug, lines in curves.items()
    }
