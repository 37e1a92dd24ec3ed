"""API tokens: ``POST /api/v1/auth/token/`` with username and password."""

from drf_spectacular.utils import extend_schema
from rest_framework import parsers, serializers
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from benchmark.api.parsers import JSONParser


class TokenInputSerializer(AuthTokenSerializer):
    """DRF's username/password check, with the schema saying that neither may be empty."""

    username = serializers.CharField(min_length=1, write_only=True)
    password = serializers.CharField(
        min_length=1, write_only=True, trim_whitespace=False, style={"input_type": "password"}
    )


class TokenCreateApi(APIView):
    """Exchange a username and password for the account's API token (created once)."""

    authentication_classes: list[type] = []
    permission_classes: list[type] = []
    parser_classes = [JSONParser, parsers.FormParser, parsers.MultiPartParser]

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "TokenCreateOutput"

        token = serializers.CharField(help_text="Send as `Authorization: Token <token>`.")

    @extend_schema(
        request=TokenInputSerializer, responses={200: OutputSerializer}, summary="Get an API token"
    )
    def post(self, request: Request) -> Response:
        serializer = TokenInputSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        token, _ = Token.objects.get_or_create(user=serializer.validated_data["user"])
        return Response(self.OutputSerializer({"token": token.key}).data)
