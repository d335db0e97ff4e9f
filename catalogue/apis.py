from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import IsAdminUser, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalogue.models import Track
from catalogue.selectors import search_tracks
from catalogue.services import create_track, set_track_audio
from common.pagination import StandardPagination, get_paginated_response
from common.parsers import DepthLimitedJSONParser


class TrackOutputSerializer(serializers.ModelSerializer):
    has_audio = serializers.SerializerMethodField()

    class Meta:
        model = Track
        fields = [
            "id",
            "title",
            "artist",
            "album",
            "duration_ms",
            "isrc",
            "musicbrainz_recording_id",
            "song_key",
            "has_audio",
            "created_at",
            "updated_at",
        ]

    def get_has_audio(self, track: Track) -> bool:
        return bool(track.audio)


class TrackListCreateApi(APIView):
    """Any listener can browse and search the catalogue; only staff add tracks."""

    parser_classes = [DepthLimitedJSONParser, MultiPartParser, FormParser]
    pagination_class = StandardPagination

    class InputSerializer(serializers.Serializer):
        title = serializers.CharField(max_length=500)
        artist = serializers.CharField(max_length=500)
        album = serializers.CharField(max_length=500, required=False, default="")
        duration_ms = serializers.IntegerField(min_value=0, required=False, allow_null=True)
        isrc = serializers.CharField(max_length=12, required=False, default="")
        musicbrainz_recording_id = serializers.UUIDField(required=False, allow_null=True)
        audio = serializers.FileField(required=False)

    def get_permissions(self):
        return [IsAdminUser()] if self.request.method == "POST" else [IsAuthenticated()]

    @extend_schema(
        parameters=[OpenApiParameter("q", str, description="words matched in title/artist/album")],
        responses=TrackOutputSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        return get_paginated_response(
            pagination_class=self.pagination_class,
            serializer_class=TrackOutputSerializer,
            queryset=search_tracks(query=request.query_params.get("q", "")),
            request=request,
            view=self,
        )

    @extend_schema(request=InputSerializer, responses={201: TrackOutputSerializer})
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        track = create_track(**data.validated_data)
        return Response(TrackOutputSerializer(track).data, status=status.HTTP_201_CREATED)


class TrackDetailApi(APIView):
    @extend_schema(responses=TrackOutputSerializer)
    def get(self, request: Request, track_id: int) -> Response:
        track = get_object_or_404(Track, pk=track_id)
        return Response(TrackOutputSerializer(track).data)


class TrackAudioApi(APIView):
    """Staff upload (or replace) a track's audio; analysis is queued once it is stored."""

    permission_classes = [IsAdminUser]
    parser_classes = [MultiPartParser]

    class InputSerializer(serializers.Serializer):
        audio = serializers.FileField()

    @extend_schema(request=InputSerializer, responses={202: TrackOutputSerializer})
    def put(self, request: Request, track_id: int) -> Response:
        track = get_object_or_404(Track, pk=track_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        track = set_track_audio(track=track, audio=data.validated_data["audio"])
        return Response(TrackOutputSerializer(track).data, status=status.HTTP_202_ACCEPTED)
