from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from emotion.models import TrackAnalysis


class TrackAnalysisApi(APIView):
    """The state of a track's audio analysis: pending, running, done or failed (with why)."""

    class OutputSerializer(serializers.ModelSerializer):
        class Meta:
            model = TrackAnalysis
            fields = [
                "track",
                "status",
                "failure_reason",
                "feature_set_version",
                "segment_seconds",
                "n_segments",
                "audio_seconds",
                "extraction_cpu_seconds",
                "attempts",
                "requested_at",
                "started_at",
                "finished_at",
            ]

    @extend_schema(responses=OutputSerializer)
    def get(self, request: Request, track_id: int) -> Response:
        analysis = get_object_or_404(TrackAnalysis, track_id=track_id)
        return Response(self.OutputSerializer(analysis).data)
