"""Server-rendered pages and plain-JSON endpoints.

Thin: parse the request, call a selector or service, render. Figures arrive as Plotly figure
dicts from selectors; templates only embed them (``json_script``) and ``static/js/arena.js``
draws them.
"""

from typing import Any, cast

from django import forms
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from benchmark import selectors, services
from benchmark.errors import ApplicationError, MetadataInvalid, NotOwner
from benchmark.forms import (
    AttackRunForm,
    EmailPreferencesForm,
    SignupForm,
    SubmissionMetadataForm,
    SubmissionUploadForm,
)
from benchmark.models import Access, AnyUser, Submission, Track
from benchmark.page_selectors import (
    METRIC_LABELS,
    leaderboard_table,
    scenario_headers,
    submission_rows,
)
from benchmark.permissions import track_permits, track_roles
from benchmark.services.queries import query_budget
from benchmark.services.registrations import RegistrationRequired, participation_check
from benchmark.services.submissions import METADATA_FIELDS

PHASES = ("dev", "final", "benchmark")
# Rows of the leaderboard shown on the track page, and per page of the leaderboard page.
TRACK_PAGE_ROWS = 10
LEADERBOARD_PAGE_ROWS = 50


def healthz(request: HttpRequest) -> JsonResponse:
    report = selectors.health_report()
    return JsonResponse(report, status=200 if report["ok"] else 503)


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    tracks = selectors.track_list(user=request.user)
    return render(request, "benchmark/home.html", {"tracks": tracks, "now": timezone.now()})


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("home")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, f"Welcome, {user.username}. Pick a track to take part.")
        return redirect("home")
    status = 400 if form.errors else 200
    return render(request, "registration/signup.html", {"form": form}, status=status)


def _field_errors(form: forms.Form, error: MetadataInvalid) -> None:
    """Put a service's per-field problems on the form's fields."""
    for name, reasons in error.extra.get("fields", {}).items():
        for reason in reasons:
            form.add_error(name if name in form.fields else None, reason)


def _may_take_part(track: Track, user: AnyUser) -> bool:
    try:
        participation_check(track=track, user=user)
    except RegistrationRequired:
        return False
    return True


def _board(
    request: HttpRequest, track: Track, phase: str, *, limit: int, full: bool, page: int = 1
) -> dict[str, Any]:
    """One board's leaderboard shaped for the table, with its figures. Before the reveal the
    selector gives the final phase to organizers only (shown to them as a preview)."""
    skip = (page - 1) * limit
    board = selectors.leaderboard_for_phase(
        track=track, phase=phase, user=request.user, ranks=(skip + 1, skip + limit)
    )
    if not board["visible"]:
        return {"phase": phase, "visible": False, "preview": False, "table": None, "figures": {}}
    return {
        "phase": phase,
        "visible": True,
        "preview": phase == "final" and not board["revealed"],
        "table": leaderboard_table(
            board, track=track, limit=limit, full=full, skip=skip, user=request.user
        ),
        "figures": selectors.leaderboard_figures(
            track=track, phase=phase, user=request.user, rows=board["rows"]
        )
        if board["rows"]
        else {},
    }


def _track_page(
    request: HttpRequest,
    track: Track,
    *,
    form: SubmissionUploadForm | None = None,
    refusal: ApplicationError | None = None,
    status: int = 200,
) -> HttpResponse:
    user = request.user
    roles = track_roles(track=track, user=user)
    context: dict[str, Any] = {
        "track": track,
        "now": timezone.now(),
        "progress": selectors.track_progress(track=track),
        "scenarios": scenario_headers(track=track),
        "form": form or SubmissionUploadForm(),
        "refusal": refusal,
        "problems": (refusal.extra.get("problems") or []) if refusal else [],
        "quota": selectors.quota_for_user(track=track, user=user)
        if user.is_authenticated
        else None,
        "dev": _board(request, track, "dev", limit=TRACK_PAGE_ROWS, full=False),
        "final": _board(request, track, "final", limit=TRACK_PAGE_ROWS, full=False),
        "bench": _board(request, track, "benchmark", limit=TRACK_PAGE_ROWS, full=False),
        "roles": roles,
        "organizer": bool(roles),
        "may_take_part": _may_take_part(track, user),
        "registration": selectors.registration_for_user(track=track, user=user),
        "team": selectors.team_for_user(track=track, user=user),
        "pending_registrations": track.registrations.filter(status="pending").count()
        if "moderation" in roles
        else 0,
        "attack_form": AttackRunForm() if "attacks" in roles else None,
        "query_budget": query_budget(track=track, user=cast(User, user))
        if user.is_authenticated and track.access == Access.BLACK_BOX
        else None,
    }
    return render(request, "benchmark/track_detail.html", context, status=status)


@require_GET
def track_detail(request: HttpRequest, slug: str) -> HttpResponse:
    return _track_page(request, selectors.track_get(slug=slug, user=request.user))


@require_POST
@login_required
def submission_upload(request: HttpRequest, slug: str) -> HttpResponse:
    track = selectors.track_get(slug=slug, user=request.user)
    form = SubmissionUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return _track_page(request, track, form=form, status=400)
    upload = form.cleaned_data["file"]
    metadata = {name: form.cleaned_data[name] for name in METADATA_FIELDS}
    try:
        submission = services.submission_create(
            track=track,
            user=request.user,
            upload=upload.read(),
            filename=upload.name,
            metadata=metadata,
        )
    except MetadataInvalid as error:
        _field_errors(form, error)
        return _track_page(request, track, form=form, status=error.status_code)
    except ApplicationError as error:
        return _track_page(request, track, form=form, refusal=error, status=error.status_code)
    messages.success(request, f"Submission #{submission.pk} accepted; it is being scored.")
    return redirect("submission-detail", submission_id=submission.pk)


@require_GET
def leaderboard(request: HttpRequest, slug: str) -> HttpResponse:
    track = selectors.track_get(slug=slug, user=request.user)
    phase = request.GET.get("phase", "dev")
    if phase not in PHASES:
        raise Http404(f"no phase {phase!r}; use dev, final or benchmark")
    page = request.GET.get("page", "1")
    if not page.isdigit() or int(page) < 1:
        raise Http404(f"no page {page!r}")
    board = _board(request, track, phase, limit=LEADERBOARD_PAGE_ROWS, full=True, page=int(page))
    pages = 1
    if board["table"] is not None:
        pages = max(1, -(-board["table"]["participants"] // LEADERBOARD_PAGE_ROWS))
    context = {
        "track": track,
        "scenarios": scenario_headers(track=track),
        "board": board,
        "page": int(page),
        "pages": pages,
    }
    return render(request, "benchmark/leaderboard.html", context)


@require_GET
@login_required
def my_submissions(request: HttpRequest, slug: str) -> HttpResponse:
    track = selectors.track_get(slug=slug, user=request.user)
    submissions = selectors.submissions_for_user(track=track, user=request.user)
    context = {
        "track": track,
        "table": submission_rows(track=track, submissions=submissions, user=request.user),
        "primary_label": METRIC_LABELS.get(track.primary, track.primary),
        "quota": selectors.quota_for_user(track=track, user=request.user),
    }
    return render(request, "benchmark/my_submissions.html", context)


def _submission_page(
    request: HttpRequest,
    submission: Submission,
    *,
    metadata_form: SubmissionMetadataForm | None = None,
    status: int = 200,
) -> HttpResponse:
    mine = submission.owner_id is not None and submission.owner_id == request.user.pk
    if mine and metadata_form is None:
        metadata_form = SubmissionMetadataForm(
            initial={name: getattr(submission, name) for name in METADATA_FIELDS}
        )
    context = {
        "submission": submission,
        "track": submission.track,
        "detail": selectors.submission_detail(submission=submission, user=request.user),
        "figures": selectors.submission_figures(submission=submission, user=request.user),
        "metadata_form": metadata_form if mine else None,
    }
    return render(request, "benchmark/submission_detail.html", context, status=status)


@require_GET
def submission_detail(request: HttpRequest, submission_id: int) -> HttpResponse:
    submission = selectors.submission_get(submission_id=submission_id, user=request.user)
    return _submission_page(request, submission)


@require_POST
@login_required
def submission_metadata(request: HttpRequest, submission_id: int) -> HttpResponse:
    """The owner's edit of a submission's metadata (the form on its page)."""
    submission = selectors.submission_get(submission_id=submission_id, user=request.user)
    form = SubmissionMetadataForm(request.POST)
    try:
        if form.is_valid():
            services.submission_metadata_update(
                submission=submission, user=request.user, values=form.cleaned_data
            )
            messages.success(request, "The method's description is saved.")
            return redirect("submission-detail", submission_id=submission.pk)
    except NotOwner as error:
        raise PermissionDenied(error.message) from error
    except MetadataInvalid as error:
        _field_errors(form, error)
    return _submission_page(request, submission, metadata_form=form, status=400)


@require_http_methods(["GET", "POST"])
@login_required
def account_email(request: HttpRequest) -> HttpResponse:
    """Which notices the signed-in participant gets by e-mail."""
    user = request.user
    assert isinstance(user, User)  # login_required
    preferences = selectors.email_preferences_get(user=user)
    form = EmailPreferencesForm(
        request.POST if request.method == "POST" else None,  # no box ticked: an empty POST
        initial={
            "submission_results": preferences.submission_results,
            "final_reveal": preferences.final_reveal,
        },
    )
    if request.method == "POST" and form.is_valid():
        services.email_preferences_update(user=user, **form.cleaned_data)
        messages.success(request, "Your e-mail preferences are saved.")
        return redirect("account-email")
    return render(request, "registration/account_email.html", {"form": form})


def _organizer_track(request: HttpRequest, slug: str, role: str) -> Track:
    track = selectors.track_get(slug=slug, user=request.user)
    if not track_permits(track=track, user=request.user, role=role):
        raise PermissionDenied(f"this needs the {role!r} role on {track.slug}")
    return track


def _back_to_track(request: HttpRequest, track: Track, action: Any, success: str) -> HttpResponse:
    """Run an action from the track page and come back to it with the outcome."""
    try:
        action()
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, success)
    return redirect("track-detail", slug=track.slug)


@require_POST
@login_required
def track_reveal(request: HttpRequest, slug: str) -> HttpResponse:
    track = _organizer_track(request, slug, "reveal")
    return _back_to_track(
        request,
        track,
        lambda: services.track_reveal(track=track, by=request.user),
        "The final leaderboard is revealed.",
    )


@require_POST
@login_required
def track_rescore(request: HttpRequest, slug: str) -> HttpResponse:
    track = _organizer_track(request, slug, "rescore")
    return _back_to_track(
        request,
        track,
        lambda: services.track_rescore(track=track),
        "Every scored submission of this track is queued for re-scoring.",
    )


@require_POST
@login_required
def track_attack(request: HttpRequest, slug: str) -> HttpResponse:
    track = _organizer_track(request, slug, "attacks")
    form = AttackRunForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose one of the listed attacks.")
        return redirect("track-detail", slug=track.slug)
    attack = form.cleaned_data["attack"]
    return _back_to_track(
        request,
        track,
        lambda: services.attack_queue(track=track, attack=attack, by=request.user),
        f"The {attack} baseline is queued; it appears on the leaderboard once scored.",
    )


@require_POST
@login_required
def track_benchmark(request: HttpRequest, slug: str) -> HttpResponse:
    track = _organizer_track(request, slug, "reveal")
    return _back_to_track(
        request,
        track,
        lambda: services.track_benchmark_open(track=track),
        "The track stays open as a benchmark: new uploads go to the benchmark leaderboard.",
    )


@require_POST
@login_required
def track_register(request: HttpRequest, slug: str) -> HttpResponse:
    track = selectors.track_get(slug=slug, user=request.user)
    user = cast(User, request.user)
    return _back_to_track(
        request,
        track,
        lambda: services.registration_apply(
            track=track, user=user, accept_terms=request.POST.get("accept_terms") == "1"
        ),
        "Registered." if not track.requires_approval else "Registered: the organizers decide.",
    )


@require_POST
@login_required
def team_create(request: HttpRequest, slug: str) -> HttpResponse:
    track = selectors.track_get(slug=slug, user=request.user)
    user = cast(User, request.user)
    name = request.POST.get("name", "")
    return _back_to_track(
        request,
        track,
        lambda: services.team_create(track=track, user=user, name=name),
        "Your team is formed: give its invite code to whoever should join.",
    )


@require_POST
@login_required
def team_join(request: HttpRequest, slug: str) -> HttpResponse:
    track = selectors.track_get(slug=slug, user=request.user)
    user = cast(User, request.user)
    code = request.POST.get("invite_code", "").strip()
    return _back_to_track(
        request,
        track,
        lambda: services.team_join(track=track, user=user, invite_code=code),
        "You joined the team.",
    )


@require_POST
@login_required
def team_leave(request: HttpRequest, slug: str) -> HttpResponse:
    track = selectors.track_get(slug=slug, user=request.user)
    user = cast(User, request.user)
    return _back_to_track(
        request, track, lambda: services.team_leave(track=track, user=user), "You left the team."
    )


@require_POST
@login_required
def submission_select(request: HttpRequest, submission_id: int) -> HttpResponse:
    """Mark or unmark a submission for final (the button on the participant's list)."""
    submission = selectors.submission_get(submission_id=submission_id, user=request.user)
    selected = request.POST.get("selected") == "1"
    try:
        services.submission_select(submission=submission, user=request.user, selected=selected)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            f"Submission #{submission.pk} {'counts' if selected else 'no longer counts'} "
            "for final.",
        )
    return redirect("track-submissions", slug=submission.track.slug)
