"""Reading tracks: lists, one track, build progress, quotas."""

from typing import Any

from django.db.models import Count, QuerySet
from django.shortcuts import get_object_or_404

from benchmark.models import (
    AnyUser,
    DailyUsage,
    Entrant,
    Registration,
    Track,
    ZooModel,
)
from benchmark.services.submissions import utc_day_bounds
from benchmark.services.teams import team_of


def track_list(*, user: AnyUser) -> QuerySet[Track]:
    """Every track, newest first, with its scenarios (tracks are public)."""
    return Track.objects.prefetch_related("scenarios").order_by("-created_at")


def track_get(*, slug: str, user: AnyUser) -> Track:
    """The track ``slug``; raises ``Http404`` if there is none."""
    return get_object_or_404(Track.objects.prefetch_related("scenarios"), slug=slug)


def track_progress(*, track: Track) -> dict[str, Any]:
    """Zoo build progress: models built, models in all, build status, and what the built
    models trained in (``trained_in``: dtype, device, how many models)."""
    trained_in = (
        ZooModel.objects.filter(scenario__track=track)
        .values("dtype", "device")
        .annotate(models=Count("pk"))
        .order_by("dtype", "device")
    )
    return {
        "built": track.models_built,
        "total": track.models_total,
        "status": track.build_status,
        "message": track.build_message,
        "trained_in": list(trained_in),
    }


def bundle_checksum(*, track: Track) -> str | None:
    """The SHA-256 written beside the track's bundle when it was built (None before)."""
    if track.build_status != Track.BuildStatus.READY or not track.bundle.name:
        return None
    try:
        with track.bundle.storage.open(f"{track.bundle.name}.sha256") as handle:
            return handle.read().decode().strip() or None
    except OSError:
        return None


def quota_for_user(*, track: Track, user: AnyUser) -> dict[str, Any]:
    """What ``user`` may still upload to ``track`` today and in all, and when the day resets."""
    today, resets_at = utc_day_bounds()
    if not user.is_authenticated:
        return {"per_day_left": 0, "total_left": 0, "invalid_left": 0, "resets_at": resets_at}
    team = team_of(track=track, user=user)
    entrant = (
        Entrant.objects.filter(team=team)
        if team
        else Entrant.objects.filter(track=track, user_id=user.pk)
    ).first()
    usage = DailyUsage.objects.filter(entrant=entrant, day=today).first() if entrant else None
    used_total = entrant.valid_total if entrant else 0
    return {
        "per_day_left": max(0, track.per_day - (usage.valid if usage else 0)),
        "total_left": max(0, track.total - used_total),
        "invalid_left": max(0, track.invalid_per_day - (usage.invalid if usage else 0)),
        "benchmark_left": max(0, track.benchmark_per_day - (usage.benchmark if usage else 0)),
        "team": team.name if team else "",
        "resets_at": resets_at,
    }


def team_for_user(*, track: Track, user: AnyUser) -> dict[str, Any] | None:
    """The user's team on ``track``: name, invite code (members only), members; or None."""
    if not user.is_authenticated:
        return None
    team = team_of(track=track, user=user)
    if team is None:
        return None
    return {
        "id": team.pk,
        "name": team.name,
        "invite_code": team.invite_code,
        "members": list(
            team.members.order_by("joined_at", "id").values_list("user__username", flat=True)
        ),
        "max_team_size": track.max_team_size,
        "frozen_at": track.teams_frozen_at,
    }


def registration_for_user(*, track: Track, user: AnyUser) -> dict[str, Any]:
    """Whether ``track`` asks for registration, its terms, and ``user``'s status (or None)."""
    registration = (
        Registration.objects.filter(track=track, user_id=user.pk).first()
        if user.is_authenticated
        else None
    )
    return {
        "registration_required": track.registration_required,
        "terms": track.terms,
        "requires_approval": track.requires_approval,
        "email_domains": track.email_domains,
        "status": registration.status if registration else None,
        "reason": registration.reason if registration else "",
    }


def registrations_for_track(*, track: Track, user: AnyUser) -> QuerySet[Registration]:
    """Every registration of ``track``, oldest first (callers check the moderation role)."""
    return Registration.objects.filter(track=track).select_related("user").order_by("created_at")
