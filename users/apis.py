from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from users.services import ListenerAlreadyExists, create_listener, rotate_token

# Output, not EmailField: a listener created without an email has "", which is no address, so
# the schema must not promise "format: email".
EMAIL_HELP = "the listener's email address, or an empty string when none was given"


class ListenerCreateApi(APIView):
    """Staff create listener accounts; the response carries the listener's API token."""

    permission_classes = [IsAdminUser]

    class InputSerializer(serializers.Serializer):
        username = serializers.RegexField(r"^[\w.@+-]{1,150}$")
        email = serializers.EmailField(required=False, default="")

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        username = serializers.CharField()
        email = serializers.CharField(help_text=EMAIL_HELP)
        token = serializers.CharField()

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer})
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            user, token = create_listener(**data.validated_data)
        except ListenerAlreadyExists as error:
            raise serializers.ValidationError({"username": [str(error)]}) from error
        output = self.OutputSerializer(
            {"id": user.id, "username": user.username, "email": user.email, "token": token.key}
        )
        return Response(output.data, status=status.HTTP_201_CREATED)


class MeApi(APIView):
    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        username = serializers.CharField()
        email = serializers.CharField(help_text=EMAIL_HELP)
        date_joined = serializers.DateTimeField()

    @extend_schema(responses=OutputSerializer)
    def get(self, request: Request) -> Response:
        return Response(self.OutputSerializer(request.user).data)


class TokenRotateApi(APIView):
    """Replace the caller's token; the old one stops working at once."""

    class OutputSerializer(serializers.Serializer):
        token = serializers.CharField()

    @extend_schema(request=None, responses={201: OutputSerializer})
    def post(self, request: Request) -> Response:
        token = rotate_token(user=request.user)
        return Response({"token": token.key}, status=status.HTTP_201_CREATED)
