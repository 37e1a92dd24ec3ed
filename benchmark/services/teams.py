"""Teams: one leaderboard row and one quota for the participants who form them.

The rule for joining: a participant forms, joins or leaves a team of a track only before
their first submission there (baselines and failed uploads aside, any upload counts), and only
until the track's teams freeze. So every submission belongs for good to the participant alone
or to one team, and a team never inherits someone's spent quota or earlier scores.

Race-free: everything a participant does on a track starts by locking their own
:class:`~benchmark.models.Entrant` row (uploads and queries too), so a join cannot slip
between an upload's check and its insert; a join also locks the team's row, so two joins
cannot both take a team's last place; and the database refuses a second membership in one
track (``member_one_team_per_track``).
"""

import secrets

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from benchmark.errors import ApplicationError, PhaseClosed
from benchmark.models import Entrant, Submission, Team, TeamMember, Track

#: Most characters of a team name.
TEAM_NAME_MAX = 64


class TeamRefused(ApplicationError):
    """A team operation the track's rules do not allow (409)."""

    status_code = 409


def entrant_lock(*, track: Track, user: User) -> Entrant:
    """The participant's own row on ``track``, locked until the transaction ends."""
    entrant, _ = Entrant.objects.get_or_create(track=track, user=user)
    return Entrant.objects.select_for_update().get(pk=entrant.pk)


def team_of(*, track: Track, user: User) -> Team | None:
    """The team ``user`` is in on ``track``, if any."""
    member = TeamMember.objects.filter(track=track, user_id=user.pk).select_related("team").first()
    return member.team if member else None


def quota_holder(*, track: Track, user: User, lock: bool = False) -> tuple[Entrant, Team | None]:
    """Whose quota ``user``'s uploads and queries on ``track`` spend: their team's, or their own.

    With ``lock`` (inside a transaction) the participant's own row is locked first, then the
    team's: always in that order, so two members never deadlock.
    """
    own = entrant_lock(track=track, user=user) if lock else None
    team = team_of(track=track, user=user)
    if team is None:
        if own is None:
            own, _ = Entrant.objects.get_or_create(track=track, user=user)
        return own, None
    holder, _ = Entrant.objects.get_or_create(track=track, team=team)
    if lock:
        holder = Entrant.objects.select_for_update().get(pk=holder.pk)
    return holder, team


def _check_open(track: Track) -> None:
    if track.max_team_size <= 1:
        raise TeamRefused(f"{track.slug} has no teams (max_team_size is 1)")
    if timezone.now() >= track.teams_frozen_at:
        raise PhaseClosed(
            f"the teams of {track.slug} froze at {track.teams_frozen_at.isoformat()}",
            extra={"teams_frozen_at": track.teams_frozen_at.isoformat()},
        )


def _check_no_submissions(track: Track, user: User, doing: str) -> None:
    if Submission.objects.filter(track=track, owner=user, is_baseline=False).exists():
        raise TeamRefused(
            f"you cannot {doing} on {track.slug}: you have submitted there already, and teams "
            "change only before a member's first submission"
        )


def _clean_name(name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise ApplicationError("name: a team needs a name", extra={"fields": {"name": ["Empty."]}})
    if len(name) > TEAM_NAME_MAX:
        raise ApplicationError(
            f"name: at most {TEAM_NAME_MAX} characters, got {len(name)}",
            extra={"fields": {"name": [f"At most {TEAM_NAME_MAX} characters."]}},
        )
    return name


@transaction.atomic
def team_create(*, track: Track, user: User, name: str) -> Team:
    """Form a team on ``track`` with ``user`` as its first member.

    Raises
    ------
    TeamRefused
        No teams on the track, a taken name, already in a team, or submitted already (409).
    PhaseClosed
        Teams are frozen (403).
    """
    from benchmark.services.registrations import participation_check

    participation_check(track=track, user=user)
    _check_open(track)
    name = _clean_name(name)
    entrant_lock(track=track, user=user)
    if team_of(track=track, user=user) is not None:
        raise TeamRefused(f"you are in a team of {track.slug} already; leave it first")
    _check_no_submissions(track, user, "form a team")
    if Team.objects.filter(track=track, name__iexact=name).exists():
        raise TeamRefused(f"a team named {name!r} exists on {track.slug}; pick another name")
    try:
        with transaction.atomic():
            team = Team.objects.create(
                track=track, name=name, invite_code=secrets.token_hex(8), created_by=user
            )
            TeamMember.objects.create(team=team, track=track, user=user)
    except IntegrityError as error:  # a concurrent create took the name
        raise TeamRefused(f"a team named {name!r} exists on {track.slug}") from error
    Entrant.objects.create(track=track, team=team)
    return team


@transaction.atomic
def team_join(*, track: Track, user: User, invite_code: str) -> Team:
    """Join the team of ``track`` whose invite code is ``invite_code``.

    Raises
    ------
    TeamRefused
        A wrong code, a full team, already in a team, or submitted already (409).
    PhaseClosed
        Teams are frozen (403).
    """
    from benchmark.services.registrations import participation_check

    participation_check(track=track, user=user)
    _check_open(track)
    entrant_lock(track=track, user=user)
    team = Team.objects.select_for_update().filter(track=track, invite_code=invite_code).first()
    if team is None:
        raise TeamRefused(f"no team of {track.slug} has that invite code")
    if team_of(track=track, user=user) is not None:
        raise TeamRefused(f"you are in a team of {track.slug} already; leave it first")
    _check_no_submissions(track, user, "join a team")
    size = team.members.count()
    if size >= track.max_team_size:
        raise TeamRefused(
            f"team {team.name!r} is full ({size} of {track.max_team_size} members)",
            extra={"members": size, "max_team_size": track.max_team_size},
        )
    TeamMember.objects.create(team=team, track=track, user=user)
    return team


@transaction.atomic
def team_leave(*, track: Track, user: User) -> None:
    """Leave one's team on ``track`` (before one's first submission and before the freeze);
    a team whose last member leaves and that never submitted is deleted.

    Raises
    ------
    TeamRefused, PhaseClosed
    """
    _check_open(track)
    entrant_lock(track=track, user=user)
    member = TeamMember.objects.filter(track=track, user=user).select_related("team").first()
    if member is None:
        raise TeamRefused(f"you are not in a team of {track.slug}")
    _check_no_submissions(track, user, "leave your team")
    team = Team.objects.select_for_update().get(pk=member.team_id)
    member.delete()
    if not team.members.exists() and not team.submissions.exists():
        team.delete()
