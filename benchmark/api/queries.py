"""Black-box queries over REST: one model's released outputs for a batch of points.

The bodies are large (1,000 Purchase rows are 600,000 numbers), so this endpoint reads and
writes JSON with orjson and validates the points with numpy instead of a DRF serializer per
number; the budget headers say what is left.
"""

from typing import Any, cast

import orjson
from django.contrib.auth.models import User
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import parsers, permissions, renderers, serializers, throttling
from rest_framework.exceptions import ParseError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from benchmark import selectors
from benchmark.api.schema import error_response
from benchmark.errors import ApplicationError
from benchmark.services.queries import QueryBudget, track_query


class FastJSONParser(parsers.JSONParser):
    """JSON bodies through orjson (several times faster than ``json`` on arrays of numbers)."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return orjson.loads(stream.read())
        except orjson.JSONDecodeError as error:
            raise ParseError(f"JSON parse error - {error}") from error


class FastJSONRenderer(renderers.JSONRenderer):
    """JSON through orjson, numpy arrays included."""

    def render(self, data: Any, accepted_media_type: Any = None, renderer_context: Any = None):
        if data is None:
            return b""
        return orjson.dumps(data, option=orjson.OPT_SERIALIZE_NUMPY)


def budget_headers(budget: QueryBudget) -> dict[str, str]:
    return {
        "X-Query-Budget-Limit": str(budget.limit),
        "X-Query-Budget-Remaining": str(budget.remaining),
        "X-Query-Budget-Reset": budget.resets_at.isoformat(),
    }


class QueryBudgetSerializer(serializers.Serializer):
    limit = serializers.IntegerField(help_text="Rows a participant may query per UTC day.")
    used = serializers.IntegerField()
    remaining = serializers.IntegerField()
    resets_at = serializers.DateTimeField()


class TrackQueryApi(APIView):
    """Query one model of a black-box track: what its scenario releases for each point."""

    permission_classes = [permissions.IsAuthenticated]
    parser_classes = [FastJSONParser]
    renderer_classes = [FastJSONRenderer]
    throttle_classes = [throttling.ScopedRateThrottle]
    throttle_scope = "query"

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "TrackQueryInput"

        model = serializers.CharField(help_text="`<scenario>/<phase>/<index>`, e.g. `inf/dev/3`.")
        inputs = serializers.ListField(
            child=serializers.ListField(child=serializers.JSONField()),
            min_length=1,
            help_text="Points of the dataset's feature space, each in its shape (nested arrays "
            "of numbers); at most the track's `query_batch` rows.",
        )

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "TrackQueryOutput"

        model = serializers.CharField()
        rows = serializers.IntegerField()
        released = serializers.ChoiceField(choices=["probabilities", "labels"])
        defence = serializers.CharField(help_text="The scenario's release, in words.")
        outputs = serializers.ListField(
            child=serializers.JSONField(),
            help_text="Per point: the released probability vector, or the label.",
        )
        budget = QueryBudgetSerializer()

    @extend_schema(
        request=InputSerializer,
        responses={
            200: OpenApiResponse(
                OutputSerializer,
                description="Headers `X-Query-Budget-Limit`, `X-Query-Budget-Remaining` and "
                "`X-Query-Budget-Reset` say the budget after the query.",
            ),
            409: error_response("the track's zoo is not built yet"),
            429: error_response("throttled, or the rows do not fit in today's budget"),
            503: error_response("the model cannot answer now; nothing was counted"),
        },
        summary="Query a model of a black-box track",
    )
    def post(self, request: Request, slug: str) -> Response:
        track = selectors.track_get(slug=slug, user=request.user)
        body = request.data
        if not isinstance(body, dict) or set(body) != {"model", "inputs"}:
            raise ApplicationError('the body must be {"model": ..., "inputs": [...]}')
        if not isinstance(body["model"], str):
            raise ApplicationError("model must be a string", extra={"field": "model"})
        result = track_query(
            track=track, user=cast(User, request.user), model=body["model"], inputs=body["inputs"]
        )
        data = {
            "model": result.model,
            "rows": len(result.outputs),
            "released": "labels" if result.label_only else "probabilities",
            "defence": result.defence,
            "outputs": result.outputs,
            "budget": {
                "limit": result.budget.limit,
                "used": result.budget.used,
                "remaining": result.budget.remaining,
                "resets_at": result.budget.resets_at.isoformat(),
            },
        }
        return Response(data, headers=budget_headers(result.budget))
