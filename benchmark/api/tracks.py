"""Tracks over REST: list, detail with build progress, leaderboard (JSON and CSV), bundle."""

import csv
from typing import Any, cast

from django.contrib.auth.models import User
from django.http import FileResponse, Http404, HttpResponse, HttpResponseRedirect
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import parsers, permissions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from benchmark import selectors, services
from benchmark.api.schema import error_response
from benchmark.errors import ApplicationError, NotReady
from benchmark.models import Access, Track
from benchmark.permissions import track_create_allowed
from benchmark.services.files import bundle_url
from benchmark.services.queries import query_budget
from benchmark.services.registrations import participation_check
from benchmark.services.submissions import METADATA_FIELDS
from benchmark.zoo.release import Defence


class CanCreateTracks(permissions.BasePermission):
    """Staff, or users with Django's ``benchmark.add_track`` permission."""

    def has_permission(self, request: Any, view: Any) -> bool:
        return track_create_allowed(user=request.user)


PHASE_PARAMETER = OpenApiParameter(
    "phase",
    str,
    enum=["dev", "final", "benchmark"],
    default="dev",
    description="Leaderboard: dev, final (after the reveal), or benchmark (once opened).",
)


class ScenarioSerializer(serializers.Serializer):
    slug = serializers.CharField()
    epsilon = serializers.FloatField(allow_null=True, help_text="null means ε = ∞")
    delta = serializers.FloatField(allow_null=True)
    clip = serializers.FloatField(allow_null=True)
    noise_multiplier = serializers.FloatField(allow_null=True)
    release = serializers.DictField(
        help_text="A black-box scenario's release (temperature, top_k, decimals, label_only); "
        "empty: the probability vector unchanged."
    )
    defence = serializers.SerializerMethodField(help_text="The release in words.")

    def get_defence(self, scenario: Any) -> str:
        return Defence(**(scenario.release or {})).describe()


class TrackSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    access = serializers.CharField(help_text="white-box (weights in the bundle) or black-box.")
    primary = serializers.CharField()
    final = serializers.CharField(
        help_text="Which submission counts: latest (MICO), best-dev or selected."
    )
    final_rule = serializers.CharField(source="get_final_display")
    select_final = serializers.IntegerField(help_text='Marks allowed with final = "selected".')
    max_team_size = serializers.IntegerField(help_text="1 means no teams.")
    teams_frozen_at = serializers.DateTimeField()
    registration_required = serializers.BooleanField()
    requires_approval = serializers.BooleanField()
    terms = serializers.CharField()
    email_domains = serializers.ListField(child=serializers.CharField())
    benchmark_open = serializers.SerializerMethodField()
    dev_opens = serializers.DateTimeField()
    final_deadline = serializers.DateTimeField()
    revealed = serializers.BooleanField(source="is_revealed")
    build_status = serializers.CharField()
    models_built = serializers.IntegerField()
    models_total = serializers.IntegerField()
    scenarios = ScenarioSerializer(many=True, source="scenarios.all")

    def get_benchmark_open(self, track: Any) -> bool:
        return track.benchmark_opened_at is not None


class TrackListApi(APIView):
    """Every track (``GET``), or register a new one from a track file (``POST``, staff)."""

    parser_classes = [parsers.MultiPartParser, parsers.FormParser]

    class CreateInputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "TrackListCreateInput"

        file = serializers.FileField(help_text="The track file (TOML).")

    def get_permissions(self) -> list[Any]:
        if self.request.method == "POST":
            return [CanCreateTracks()]
        return [permissions.AllowAny()]

    @extend_schema(responses={200: TrackSerializer(many=True)}, summary="List tracks")
    def get(self, request: Request) -> Response:
        tracks = selectors.track_list(user=request.user)
        return Response(TrackSerializer(tracks, many=True).data)

    @extend_schema(
        request={"multipart/form-data": CreateInputSerializer},
        responses={201: TrackSerializer},
        summary="Create a track from a track file (staff)",
    )
    def post(self, request: Request) -> Response:
        serializer = self.CreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        upload = serializer.validated_data["file"]
        try:
            text = upload.read().decode("utf-8")
        except UnicodeDecodeError as error:
            raise ApplicationError("the track file must be UTF-8 text") from error
        track = services.track_create(spec_text=text, created_by=request.user, source=upload.name)
        return Response(TrackSerializer(track).data, status=status.HTTP_201_CREATED)


class TrackDetailApi(APIView):
    """One track: phases, scenarios, zoo build progress, the caller's quota."""

    permission_classes = [permissions.AllowAny]

    class QuotaSerializer(serializers.Serializer):
        class Meta:
            ref_name = "TrackDetailQuota"

        per_day_left = serializers.IntegerField()
        total_left = serializers.IntegerField()
        invalid_left = serializers.IntegerField()
        benchmark_left = serializers.IntegerField(help_text="Uploads left today (benchmark).")
        team = serializers.CharField(help_text="Whose quota it is: the team's name, or empty.")
        resets_at = serializers.DateTimeField()

    class OutputSerializer(TrackSerializer):
        class Meta:
            ref_name = "TrackDetailOutput"

        limits = serializers.SerializerMethodField()
        bundle_url = serializers.SerializerMethodField()
        bundle_sha256 = serializers.SerializerMethodField(
            help_text="SHA-256 of the bundle zip, to check a download against."
        )

        def get_limits(self, track: Track) -> dict[str, int]:
            return {
                "per_day": track.per_day,
                "total": track.total,
                "invalid_per_day": track.invalid_per_day,
                "max_bytes": track.max_bytes,
                "queries_per_day": track.queries_per_day,
                "query_batch": track.query_batch,
                "benchmark_per_day": track.benchmark_per_day,
            }

        def get_bundle_url(self, track: Track) -> str | None:
            if track.build_status != Track.BuildStatus.READY or not track.bundle:
                return None
            return f"/api/v1/tracks/{track.slug}/bundle/"

        def get_bundle_sha256(self, track: Track) -> str | None:
            return selectors.bundle_checksum(track=track)

    @extend_schema(
        responses={200: OutputSerializer},
        summary="Track detail and build progress",
        description="`quota` is present for a signed-in caller, and `query_budget` (rows "
        "left today) on a black-box track.",
    )
    def get(self, request: Request, slug: str) -> Response:
        track = selectors.track_get(slug=slug, user=request.user)
        data = dict(self.OutputSerializer(track).data)
        if request.user.is_authenticated:
            quota = selectors.quota_for_user(track=track, user=request.user)
            data["quota"] = self.QuotaSerializer(quota).data
            if track.access == Access.BLACK_BOX:
                budget = query_budget(track=track, user=cast(User, request.user))
                data["query_budget"] = {
                    "limit": budget.limit,
                    "used": budget.used,
                    "remaining": budget.remaining,
                    "resets_at": budget.resets_at.isoformat(),
                }
        return Response(data)


class LeaderboardRowSerializer(serializers.Serializer):
    rank = serializers.IntegerField(allow_null=True)
    username = serializers.CharField(help_text="The participant, or the team's name.")
    team = serializers.CharField(help_text="The team's name (empty: a participant alone).")
    members = serializers.ListField(child=serializers.CharField())
    is_baseline = serializers.BooleanField()
    attack = serializers.CharField()
    submission_id = serializers.IntegerField()
    score = serializers.FloatField()
    ci = serializers.ListField(child=serializers.FloatField())
    tied_with_above = serializers.BooleanField()
    method = serializers.CharField(help_text="The entry's method name (empty: not given).")
    description = serializers.CharField()
    paper_url = serializers.CharField()
    code_url = serializers.CharField()
    access = serializers.CharField(help_text="white-box, black-box, or empty (not stated)")
    per_scenario = serializers.DictField(child=serializers.DictField())


class LeaderboardApi(APIView):
    """The leaderboard of a phase; the final one is empty until the organizer reveals it."""

    permission_classes = [permissions.AllowAny]

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "LeaderboardOutput"

        phase = serializers.CharField()
        revealed = serializers.BooleanField()
        visible = serializers.BooleanField()
        primary = serializers.CharField()
        scenarios = serializers.ListField(child=serializers.CharField())
        rows = LeaderboardRowSerializer(many=True)

    @extend_schema(
        parameters=[PHASE_PARAMETER], responses={200: OutputSerializer}, summary="Leaderboard"
    )
    def get(self, request: Request, slug: str) -> Response:
        track = selectors.track_get(slug=slug, user=request.user)
        phase = request.query_params.get("phase", "dev")
        board = selectors.leaderboard_for_phase(track=track, phase=phase, user=request.user)
        # The selector returns exactly the documented shape (plain JSON types); running a
        # thousand rows of nested fields through the serializer would double the response time.
        return Response(board)


class LeaderboardCsvApi(APIView):
    """The leaderboard as CSV: one line per entry, its metadata, a column per scenario and
    metric."""

    permission_classes = [permissions.AllowAny]

    @extend_schema(
        parameters=[PHASE_PARAMETER],
        responses={(200, "text/csv"): OpenApiTypes.STR},
        summary="Leaderboard as CSV",
    )
    def get(self, request: Request, slug: str) -> HttpResponse:
        track = selectors.track_get(slug=slug, user=request.user)
        phase = request.query_params.get("phase", "dev")
        board = selectors.leaderboard_for_phase(track=track, phase=phase, user=request.user)
        metrics = ["TPR_FPR_10", "TPR_FPR_100", "TPR_FPR_500", "TPR_FPR_1000"]
        metrics += ["TPR_FPR_1500", "TPR_FPR_2000", "AUC", "MIA", "accuracy", "eps_lb"]
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{track.slug}-{phase}.csv"'
        writer = csv.writer(response)
        header = ["rank", "username", "team", "members", "baseline", "submission_id", "score"]
        header += ["ci_low", "ci_high"]
        header += ["tied_with_above", *METADATA_FIELDS]
        header += [f"{slug}:{metric}" for slug in board["scenarios"] for metric in metrics]
        writer.writerow(header)
        for row in board["rows"]:
            line: list[Any] = [
                row["rank"] if row["rank"] is not None else "",
                _inert(row["username"]),
                _inert(row["team"]),
                " ".join(row["members"]),
                row["attack"] if row["is_baseline"] else "",
                row["submission_id"],
                row["score"],
                *row["ci"],
                int(row["tied_with_above"]),
                *(_inert(row[name]) for name in METADATA_FIELDS),
            ]
            for slug in board["scenarios"]:
                cells = row["per_scenario"].get(slug, {})
                line += [cells.get(metric, "") for metric in metrics]
            writer.writerow(line)
        return response


def _inert(text: str) -> str:
    """A participant's text as a CSV cell no spreadsheet runs: a leading ``=``, ``+``, ``-``,
    ``@``, tab or carriage return makes Excel and LibreOffice read a formula (OWASP's "CSV
    injection"), so such a cell gets a leading apostrophe."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


class BundleDownloadApi(APIView):
    """The participant bundle of a built track (signed-in users only)."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        responses={
            (200, "application/zip"): OpenApiTypes.BINARY,
            409: error_response("the zoo is still being built"),
        },
        summary="Download the participant bundle",
    )
    def get(self, request: Request, slug: str) -> FileResponse | HttpResponseRedirect:
        track = selectors.track_get(slug=slug, user=request.user)
        if track.build_status != Track.BuildStatus.READY:
            raise NotReady(f"the zoo of {track.slug} is not built yet ({track.build_status})")
        participation_check(track=track, user=request.user)
        signed = bundle_url(track=track)
        if signed is not None:  # object storage: the bucket serves it, for a few minutes
            return HttpResponseRedirect(signed)
        if not track.bundle.name or not track.bundle.storage.exists(track.bundle.name):
            raise Http404("the bundle file is missing")
        return FileResponse(
            track.bundle.open("rb"), as_attachment=True, filename=f"{track.slug}-bundle.zip"
        )
