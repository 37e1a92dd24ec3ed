"""Which submissions count for final on a ``final = "selected"`` track: the ones a
participant (or their team) marks, at most the track's ``select_final``, before the deadline.
The leaderboard's side of the rule is :func:`benchmark.selectors.leaderboard.chosen_submissions`.
"""

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from benchmark.errors import ApplicationError, NotOwner, PhaseClosed, QuotaExceeded
from benchmark.models import AnyUser, Submission, Track
from benchmark.services.teams import quota_holder, team_of


def submission_select(*, submission: Submission, user: AnyUser, selected: bool) -> Submission:
    """Mark (or unmark) a submission to count for final on a ``final = "selected"`` track.

    Its owner or a member of its team may, before the final deadline, for a submission that is
    not failed; at most the track's ``select_final`` marks per participant (or team). Of the
    marked submissions the best on final counts; with none marked, the latest does.

    Raises
    ------
    NotOwner
        Someone else's submission (403).
    ApplicationError
        The track does not choose this way, or the submission failed (400).
    PhaseClosed
        After the deadline (403).
    QuotaExceeded
        ``select_final`` submissions are marked already (429): unmark one first.
    """
    track = submission.track
    team = team_of(track=track, user=user) if isinstance(user, User) else None
    mine = submission.owner_id == user.pk or (team is not None and submission.team_id == team.pk)
    if not isinstance(user, User) or not mine:
        raise NotOwner("only the participant (or their team) who uploaded it can select it")
    if track.final != Track.Final.SELECTED:
        raise ApplicationError(
            f"{track.slug} counts {track.get_final_display()}; there is nothing to select"
        )
    if timezone.now() >= track.final_deadline:
        raise PhaseClosed(f"selections for {track.slug} closed at the final deadline")
    if submission.status == Submission.Status.FAILED:
        raise ApplicationError("a failed submission cannot count; select a scored one")
    with transaction.atomic():
        # the participant's row, then the team's: teammates' marks never interleave
        quota_holder(track=track, user=user, lock=True)
        marked = Submission.objects.filter(track=track, is_baseline=False, selected=True)
        marked = marked.filter(team=team) if team else marked.filter(owner=user, team__isnull=True)
        if selected and not submission.selected:
            others = marked.exclude(pk=submission.pk).count()
            if others >= track.select_final:
                raise QuotaExceeded(
                    f"{others} submissions are selected already, the most {track.slug} allows; "
                    "unselect one first",
                    extra={"selected": list(marked.values_list("pk", flat=True))},
                )
        Submission.objects.filter(pk=submission.pk).update(selected=selected)
    submission.selected = selected
    return submission
