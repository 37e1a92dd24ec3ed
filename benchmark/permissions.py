"""Who may run a track: staff on every track, an organizer on theirs with the roles they hold.

Roles (:data:`benchmark.models.ROLES`): ``build`` (re-build or import the zoo), ``reveal``
(publish the final phase, open the benchmark phase), ``rescore``, ``attacks`` (run reference
attacks as baselines) and ``moderation`` (hide or disqualify entries, decide registrations).
Whoever holds a role on a track also sees what its organizers see there (final scores before
the reveal, the registrations) and is not ranked among its participants. Creating a track
takes staff or Django's ``benchmark.add_track`` permission; its creator organizes it.
"""

from rest_framework.exceptions import PermissionDenied

from benchmark.models import ROLES, AnyUser, Track, TrackOrganizer


def track_roles(*, track: Track, user: AnyUser) -> frozenset[str]:
    """The roles ``user`` holds on ``track`` (every role for staff, none for visitors)."""
    if not user.is_authenticated:
        return frozenset()
    if user.is_staff:
        return frozenset(ROLES)
    roles = TrackOrganizer.objects.filter(track=track, user_id=user.pk).values_list(
        "roles", flat=True
    )
    return frozenset(next(iter(roles), ()))


def track_permits(*, track: Track, user: AnyUser, role: str) -> bool:
    """True when ``user`` may do ``role``'s part on ``track``."""
    if role not in ROLES:
        raise ValueError(f"{role!r} is not a role (one of {', '.join(ROLES)})")
    return role in track_roles(track=track, user=user)


def track_require(*, track: Track, user: AnyUser, role: str) -> None:
    """Raise ``PermissionDenied`` (403) naming the role unless ``user`` holds it on ``track``."""
    if not track_permits(track=track, user=user, role=role):
        raise PermissionDenied(
            f"this needs the {role!r} role on track {track.slug!r} (staff or its organizers)"
        )


def track_organizes(*, track: Track, user: AnyUser) -> bool:
    """True when ``user`` holds any role on ``track``: sees it as its organizers do."""
    return bool(track_roles(track=track, user=user))


def track_create_allowed(*, user: AnyUser) -> bool:
    return user.is_authenticated and (user.is_staff or user.has_perm("benchmark.add_track"))
