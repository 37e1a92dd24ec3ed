"""Django admin for every model; organizer actions call the services."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import URLPattern, path, reverse

from benchmark import services
from benchmark.errors import ApplicationError
from benchmark.models import (
    ROLES,
    DailyUsage,
    EmailPreferences,
    Entrant,
    Job,
    LeaderboardEntry,
    OutgoingEmail,
    PairComparison,
    Registration,
    Scenario,
    ScenarioScore,
    Submission,
    Team,
    TeamMember,
    Track,
    TrackOrganizer,
    WorkerHeartbeat,
    ZooModel,
)


class TrackFileForm(forms.Form):
    file = forms.FileField(help_text="A track file (TOML), as under tracks/.")


class TrackImportForm(TrackFileForm):
    release = forms.CharField(
        max_length=500, help_text="Folder on the server holding <track>/ (MICO's archive)."
    )
    solutions = forms.CharField(
        max_length=500, help_text="Folder on the server holding <track>/ of solutions (ref/)."
    )


class ScenarioInline(admin.TabularInline):
    model = Scenario
    extra = 0
    readonly_fields = ["slug", "position", "epsilon", "delta", "clip", "noise_multiplier"]
    can_delete = False


@admin.register(Track)
class TrackAdmin(admin.ModelAdmin):
    list_display = [
        "slug",
        "name",
        "build_status",
        "models_built",
        "models_total",
        "dev_opens",
        "final_deadline",
        "revealed_at",
    ]
    list_filter = ["build_status"]
    search_fields = ["slug", "name"]
    readonly_fields = ["spec", "models_built", "models_total", "zoo_fingerprint", "created_at"]
    inlines = [ScenarioInline]
    actions = ["reveal", "rescore", "build"]
    change_list_template = "admin/benchmark/track/change_list.html"

    def get_urls(self) -> list[URLPattern]:
        extra = [
            path(
                "from-file/",
                self.admin_site.admin_view(self.create_from_file),
                name="benchmark_track_from_file",
            ),
            path(
                "import/",
                self.admin_site.admin_view(self.import_release),
                name="benchmark_track_import",
            ),
        ]
        return extra + super().get_urls()

    def create_from_file(self, request: HttpRequest) -> HttpResponse:
        """Create a track from an uploaded track file (the admin's "add from file")."""
        if not self.has_add_permission(request):
            return HttpResponseRedirect(reverse("admin:index"))
        form = TrackFileForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                track = services.track_create(
                    spec_text=upload.read().decode("utf-8"),
                    created_by=request.user,
                    source=upload.name,
                )
            except (ApplicationError, UnicodeDecodeError) as error:
                form.add_error("file", getattr(error, "message", str(error)))
            else:
                self.message_user(request, f"track {track.slug} created; its zoo build is queued")
                return HttpResponseRedirect(reverse("admin:benchmark_track_changelist"))
        context = {**self.admin_site.each_context(request), "form": form, "title": "Track file"}
        return render(request, "admin/benchmark/track/from_file.html", context)

    def import_release(self, request: HttpRequest) -> HttpResponse:
        """Register a track from a release trained elsewhere (``services.track_import``)."""
        if not self.has_add_permission(request):
            return HttpResponseRedirect(reverse("admin:index"))
        form = TrackImportForm(request.POST or None, request.FILES or None)
        problems: list[dict[str, str]] = []
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                track = services.track_import(
                    spec_text=upload.read().decode("utf-8"),
                    release=form.cleaned_data["release"],
                    solutions=form.cleaned_data["solutions"],
                    created_by=request.user,
                    source=upload.name,
                )
            except (ApplicationError, UnicodeDecodeError) as error:
                form.add_error(None, getattr(error, "message", str(error)))
                problems = getattr(error, "extra", {}).get("problems", [])
            else:
                self.message_user(request, f"track {track.slug} created; its import is queued")
                return HttpResponseRedirect(reverse("admin:benchmark_track_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "form": form,
            "problems": problems,
            "title": "Import a released zoo",
        }
        return render(request, "admin/benchmark/track/import.html", context)

    @admin.action(description="Reveal the final phase")
    def reveal(self, request: HttpRequest, queryset: QuerySet[Track]) -> None:
        for track in queryset:
            try:
                services.track_reveal(track=track, by=request.user)
            except ApplicationError as error:
                self.message_user(request, error.message, messages.ERROR)

    @admin.action(description="Build the zoo (or resume a failed or interrupted build)")
    def build(self, request: HttpRequest, queryset: QuerySet[Track]) -> None:
        queued = [track.slug for track in queryset if services.zoo_build_queue(track=track)]
        self.message_user(request, f"zoo build queued: {', '.join(queued) or 'none'}")

    @admin.action(description="Re-score every submission")
    def rescore(self, request: HttpRequest, queryset: QuerySet[Track]) -> None:
        for track in queryset:
            try:
                queued = services.track_rescore(track=track)
                self.message_user(request, f"{track.slug}: {queued} submissions queued")
            except ApplicationError as error:
                self.message_user(request, error.message, messages.ERROR)


@admin.register(Scenario)
class ScenarioAdmin(admin.ModelAdmin):
    list_display = ["track", "slug", "epsilon", "delta", "clip", "noise_multiplier"]
    list_filter = ["track"]


@admin.register(ZooModel)
class ZooModelAdmin(admin.ModelAdmin):
    list_display = ["scenario", "phase", "index", "train_accuracy", "eval_accuracy"]
    list_filter = ["scenario__track", "phase"]
    list_select_related = ["scenario__track"]


class ScenarioScoreInline(admin.TabularInline):
    model = ScenarioScore
    extra = 0
    fields = ("scenario", "phase", "primary", "ci_low", "ci_high", "eps_lb", "is_current")
    readonly_fields = fields
    can_delete = False


@admin.register(Submission)
class SubmissionAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "track",
        "owner",
        "attack",
        "status",
        "created_at",
        "hidden",
        "disqualified",
    ]
    list_filter = ["track", "status", "is_baseline", "hidden", "disqualified"]
    search_fields = ["owner__username", "sha256", "attack"]
    list_select_related = ["track", "owner"]
    # The metadata is the participant's to write (moderation hides or disqualifies the entry).
    readonly_fields = [
        "sha256",
        "size",
        "created_at",
        "status_changed_at",
        "errors",
        "method",
        "description",
        "paper_url",
        "code_url",
        "access",
    ]
    inlines = [ScenarioScoreInline]
    actions = ["hide", "unhide", "disqualify", "requalify"]

    def _flag(self, queryset: QuerySet[Submission], **flags: Any) -> None:
        for submission in queryset:
            services.submission_set_flags(submission=submission, **flags)

    @admin.action(description="Hide from the leaderboard")
    def hide(self, request: HttpRequest, queryset: QuerySet[Submission]) -> None:
        self._flag(queryset, hidden=True)

    @admin.action(description="Show on the leaderboard again")
    def unhide(self, request: HttpRequest, queryset: QuerySet[Submission]) -> None:
        self._flag(queryset, hidden=False)

    @admin.action(description="Disqualify")
    def disqualify(self, request: HttpRequest, queryset: QuerySet[Submission]) -> None:
        self._flag(queryset, disqualified=True)

    @admin.action(description="Lift the disqualification")
    def requalify(self, request: HttpRequest, queryset: QuerySet[Submission]) -> None:
        self._flag(queryset, disqualified=False)


@admin.register(ScenarioScore)
class ScenarioScoreAdmin(admin.ModelAdmin):
    list_display = ["submission", "scenario", "phase", "primary", "is_current", "created_at"]
    list_filter = ["phase", "is_current", "scenario__track"]
    list_select_related = ["submission__track", "submission__owner", "scenario__track"]
    exclude = ["roc"]


@admin.register(LeaderboardEntry)
class LeaderboardEntryAdmin(admin.ModelAdmin):
    list_display = ["submission", "phase", "score", "is_current", "created_at"]
    list_filter = ["phase", "is_current", "submission__track"]
    list_select_related = ["submission__track", "submission__owner"]


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    """Background work: what waits for the broker, runs, failed and why (read-only; the
    sweeper acts on these rows)."""

    list_display = ["id", "task", "args", "state", "attempts", "publishes", "created_at", "worker"]
    list_filter = ["state", "queue", "task"]
    search_fields = ["key", "error"]
    readonly_fields = [field.name for field in Job._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(OutgoingEmail)
class OutgoingEmailAdmin(admin.ModelAdmin):
    """Every message: what was sent, what waits, what failed and why (read-only; the
    ``send_email`` jobs act on these rows)."""

    list_display = ["id", "kind", "to", "subject", "state", "created_at", "sent_at"]
    list_filter = ["state", "kind"]
    search_fields = ["to", "key", "error"]
    readonly_fields = [field.name for field in OutgoingEmail._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(EmailPreferences)
class EmailPreferencesAdmin(admin.ModelAdmin):
    """Who asked for which notices (each participant sets their own)."""

    list_display = ["user", "submission_results", "final_reveal", "updated_at"]
    list_filter = ["submission_results", "final_reveal"]
    readonly_fields = ["user", "submission_results", "final_reveal", "updated_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(Registration)
class RegistrationAdmin(admin.ModelAdmin):
    """Registrations for tracks that ask for them; approving or refusing tells the participant."""

    list_display = ["user", "track", "status", "created_at", "decided_at", "decided_by"]
    list_filter = ["status", "track"]
    search_fields = ["user__username", "user__email"]
    readonly_fields = ["terms_accepted", "created_at", "decided_at", "decided_by"]
    actions = ["approve", "refuse"]

    def _decide(
        self, request: HttpRequest, queryset: QuerySet[Registration], approve: bool
    ) -> None:
        for registration in queryset:
            services.registration_decide(
                registration=registration, by=request.user, approve=approve
            )
        word = "approved" if approve else "refused"
        messages.success(request, f"{queryset.count()} registration(s) {word}; each was told.")

    @admin.action(description="Approve (and tell the participant)")
    def approve(self, request: HttpRequest, queryset: QuerySet[Registration]) -> None:
        self._decide(request, queryset, True)

    @admin.action(description="Refuse (and tell the participant)")
    def refuse(self, request: HttpRequest, queryset: QuerySet[Registration]) -> None:
        self._decide(request, queryset, False)


class TeamMemberInline(admin.TabularInline):
    model = TeamMember
    extra = 0
    fields = ["user", "joined_at"]
    readonly_fields = ["joined_at"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "track", "created_by", "created_at"]
    list_filter = ["track"]
    search_fields = ["name", "members__user__username"]
    readonly_fields = ["invite_code", "created_at"]
    inlines = [TeamMemberInline]


class TrackOrganizerForm(forms.ModelForm):
    roles = forms.MultipleChoiceField(
        choices=[(role, role) for role in ROLES], widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = TrackOrganizer
        fields = ["track", "user", "roles"]


@admin.register(TrackOrganizer)
class TrackOrganizerAdmin(admin.ModelAdmin):
    """Who runs which track, with which roles (build, reveal, rescore, attacks, moderation)."""

    form = TrackOrganizerForm
    list_display = ["user", "track", "roles"]
    list_filter = ["track"]
    search_fields = ["user__username"]


admin.site.register([PairComparison, Entrant, DailyUsage, WorkerHeartbeat])
