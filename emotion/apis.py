from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalogue.models import Track
from emotion.ml import display_name
from emotion.models import TrackAnalysis, ValenceArousalSource
from emotion.selectors import track_emotion, valence_arousal_point


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


class ValenceArousalOutputSerializer(serializers.Serializer):
    """A point in the valence–arousal plane (README "Valence and arousal")."""

    valence = serializers.FloatField(help_text="0 (negative) to 1 (positive)")
    arousal = serializers.FloatField(help_text="0 (calm) to 1 (energetic)")
    source = serializers.ChoiceField(
        choices=ValenceArousalSource.values,
        help_text="model: the model's own valence/arousal head; quadrant_probabilities: the "
        "expected quadrant centre under the emotion probabilities (reaches [0.25, 0.75] only)",
    )


class TrackEmotionOutputSerializer(serializers.Serializer):
    label = serializers.CharField()
    display_name = serializers.CharField()
    confidence = serializers.FloatField()
    probabilities = serializers.DictField(child=serializers.FloatField())
    model_version = serializers.IntegerField()
    tagged_at = serializers.DateTimeField()
    valence_arousal = ValenceArousalOutputSerializer(
        allow_null=True,
        help_text="null when the model's emotions are not the four quadrants and it has "
        "no valence/arousal head",
    )


class TrackEmotionApi(APIView):
    """A track's emotion as tagged by the mood model: the probabilities, the argmax and the
    point in the valence–arousal plane. ``emotion`` is null until the track is tagged."""

    class OutputSerializer(serializers.Serializer):
        track = serializers.IntegerField()
        emotion = TrackEmotionOutputSerializer(
            allow_null=True, help_text="null until the track is tagged"
        )

    @extend_schema(responses=OutputSerializer)
    def get(self, request: Request, track_id: int) -> Response:
        track = get_object_or_404(Track, pk=track_id)
        emotion = track_emotion(track_id=track.pk)
        block = None
        if emotion is not None:
            block = {
                "label": emotion.label,
                "display_name": display_name(
                    emotion.label, overrides=emotion.model_version.display_names
                ),
                "confidence": emotion.confidence,
                "probabilities": emotion.probabilities,
                "model_version": emotion.model_version_id,
                "tagged_at": emotion.tagged_at,
                "valence_arousal": valence_arousal_point(
                    valence=emotion.valence,
                    arousal=emotion.arousal,
                    source=emotion.valence_arousal_source,
                ),
            }
        return Response(self.OutputSerializer({"track": track.pk, "emotion": block}).data)
