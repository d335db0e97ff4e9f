from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from users.services import ListenerAlreadyExists, create_listener, rotate_token


class ListenerCreateApi(APIView):
    """Staff create listener accounts; the response carries the listener's API token."""

    permission_classes = [IsAdminUser]

    class InputSerializer(serializers.Serializer):
        username = serializers.RegexField(r"^[\w.@+-]{1,150}$")
        email = serializers.EmailField(required=False, default="")

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        username = serializers.CharField()
        email = serializers.EmailField()
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
        email = serializers.EmailField()
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
