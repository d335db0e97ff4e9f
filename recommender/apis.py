from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.openapi import error_response
from common.pagination import StandardPagination, get_paginated_response
from emotion.apis import ValenceArousalOutputSerializer
from emotion.selectors import active_model_version, valence_arousal_point
from recommender.models import Feedback
from recommender.selectors import (
    declared_mood_status,
    listener_mood_state,
    listener_recommendation,
    snapshot_history,
)
from recommender.services import (
    FeedbackConflict,
    NoActiveMoodModel,
    current_mood,
    declare_mood,
    recommend_tracks,
    record_feedback,
)

NO_ACTIVE_MODEL = error_response(
    "No mood model is active yet; the message says what to do (e.g. how many analyses the "
    "first model waits for)."
)


class ServiceUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "unavailable"


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


class MoodSnapshotOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    basis = serializers.CharField(help_text="inferred, declared, last_known or spread")
    basis_description = serializers.CharField(source="get_basis_display")
    label = serializers.CharField(help_text="empty for an even spread")
    confidence = serializers.FloatField(allow_null=True)
    probabilities = serializers.DictField(child=serializers.FloatField())
    valence_arousal = serializers.SerializerMethodField(
        help_text="the mood's point in the valence–arousal plane; null when the model's "
        "emotions are not the four quadrants and it has no valence/arousal head"
    )
    model_version = serializers.IntegerField(source="model_version_id", allow_null=True)
    window_start = serializers.DateTimeField(allow_null=True)
    window_end = serializers.DateTimeField(allow_null=True)
    tracks = serializers.ListField(
        child=serializers.DictField(), help_text="the top tracks used, with plays and weights"
    )
    skipped = serializers.ListField(
        child=serializers.DictField(), help_text="top tracks left out, with the reason"
    )

    @extend_schema_field(ValenceArousalOutputSerializer(allow_null=True))
    def get_valence_arousal(self, snapshot) -> dict | None:
        return valence_arousal_point(
            valence=snapshot.valence,
            arousal=snapshot.arousal,
            source=snapshot.valence_arousal_source,
        )


class RecommendationOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    rank = serializers.IntegerField()
    track = serializers.SerializerMethodField()
    emotion = serializers.CharField(source="target_label")
    emotion_probability = serializers.FloatField(source="track_probability")
    score = serializers.FloatField()
    explanation = serializers.DictField(
        help_text="why this track: reason, target_emotion, fills_in_for, turned_down, "
        "nothing_left, declared_mood, mood_basis, mood_snapshot, top_tracks, model_version, "
        "policy, ranking, and the two points in the valence–arousal plane, "
        "mood_valence_arousal (the listener's) and track_valence_arousal (the track's), "
        'each {"valence", "arousal", "source"} as in ValenceArousalOutput, or null'
    )
    feedback = serializers.CharField()
    created_at = serializers.DateTimeField()

    def get_track(self, recommendation) -> dict:
        track = recommendation.track
        return {"id": track.pk, "title": track.title, "artist": track.artist, "album": track.album}


class RecommendationSuggestionOutputSerializer(serializers.Serializer):
    code = serializers.CharField(
        help_text="choose_emotion, follow_mood, include_artists, wait_for_new_tracks or "
        "wait_for_played_songs"
    )
    message = serializers.CharField()
    query = serializers.DictField(
        allow_null=True,
        help_text='query parameters to change for this suggestion, e.g. {"emotion": '
        '"Q4"}; null when it needs no request',
    )


class RecommendationNoticeOutputSerializer(serializers.Serializer):
    code = serializers.CharField(
        help_text="nothing_left (an empty page: nothing is left to recommend), "
        "last_tracks (a short page: these were the last) or emotion_exhausted (the "
        "emotion asked for ran out; others have tracks)"
    )
    message = serializers.CharField()
    suggestions = RecommendationSuggestionOutputSerializer(many=True)


class RecommendationListApi(APIView):
    """Tracks matching the listener's current mood, each with a recommendation id and why.

    Every track served is recorded, so no song (in any release) is ever served twice to the
    same listener; songs they played recently are left out too. When the target emotion has
    fewer tracks left than ``limit``, the page is filled from the next most likely emotions
    (not for an ``emotion`` asked for), each such item's explanation saying so. A page shorter
    than ``limit`` (an empty one included) is still a 200, with a ``notice`` saying why and
    what the listener can do.
    """

    class FilterSerializer(serializers.Serializer):
        limit = serializers.IntegerField(
            min_value=1, max_value=settings.RECOMMENDATION_MAX_LIMIT, default=10
        )
        emotion = serializers.CharField(
            required=False, help_text="recommend this emotion instead of the inferred one"
        )
        exclude_artist = serializers.ListField(
            child=serializers.CharField(max_length=500),
            required=False,
            max_length=100,
            help_text="repeat the parameter to exclude several artists",
        )

        def validate_emotion(self, emotion: str) -> str:
            version = active_model_version()
            if version is not None and emotion not in version.labels:
                raise serializers.ValidationError(
                    f"unknown emotion {emotion!r}; choose one of {', '.join(version.labels)}"
                )
            return emotion

    class OutputSerializer(serializers.Serializer):
        policy = serializers.CharField()
        target_emotion = serializers.DictField()
        mood = MoodSnapshotOutputSerializer(source="snapshot")
        model_version = serializers.IntegerField(source="version.pk")
        results = RecommendationOutputSerializer(source="recommendations", many=True)
        notice = RecommendationNoticeOutputSerializer(
            allow_null=True,
            help_text="null for a full page; otherwise why the page holds fewer than `limit` "
            "tracks and what the listener can do",
        )

    @extend_schema(
        parameters=[FilterSerializer], responses={200: OutputSerializer, 503: NO_ACTIVE_MODEL}
    )
    def get(self, request: Request) -> Response:
        query = {
            **request.query_params.dict(),
            "exclude_artist": request.query_params.getlist("exclude_artist"),
        }
        filters = self.FilterSerializer(data=query)
        filters.is_valid(raise_exception=True)
        try:
            page = recommend_tracks(
                listener=request.user,
                limit=filters.validated_data["limit"],
                emotion=filters.validated_data.get("emotion"),
                exclude_artists=filters.validated_data.get("exclude_artist", []),
            )
        except NoActiveMoodModel as error:
            raise ServiceUnavailable(str(error)) from error
        output = self.OutputSerializer(
            {
                "policy": page.policy,
                "target_emotion": page.target_emotion,
                "snapshot": page.snapshot,
                "version": page.version,
                "recommendations": page.recommendations,
                "notice": page.notice,
            }
        )
        return Response(output.data)


class RecommendationFeedbackApi(APIView):
    """Accept or reject a recommendation. Repeating an answer is harmless; changing it is 409."""

    class InputSerializer(serializers.Serializer):
        action = serializers.ChoiceField(choices=Feedback.values)

    class OutputSerializer(serializers.Serializer):
        recommendation = RecommendationOutputSerializer()
        changed = serializers.BooleanField(help_text="false when the answer was already stored")
        next_emotion = serializers.CharField(
            allow_null=True,
            help_text="after a reject: the emotion the loop moves to, among those with tracks "
            "left to recommend (null after an accept, or when nothing is left)",
        )

    @extend_schema(
        request=InputSerializer,
        responses={
            200: OutputSerializer,
            409: error_response("The recommendation already has the other answer."),
        },
    )
    def post(self, request: Request, recommendation_id: int) -> Response:
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        recommendation = listener_recommendation(
            listener=request.user, recommendation_id=recommendation_id
        )
        if recommendation is None:
            raise exceptions.NotFound(f"you have no recommendation {recommendation_id}")
        try:
            outcome = record_feedback(
                recommendation=recommendation, action=payload.validated_data["action"]
            )
        except FeedbackConflict as error:
            raise Conflict(str(error)) from error
        return Response(
            self.OutputSerializer(
                {
                    "recommendation": outcome.recommendation,
                    "changed": outcome.changed,
                    "next_emotion": outcome.next_target,
                }
            ).data
        )


# ``recommender.selectors.declared_mood_status``, as GET /api/v1/me/mood shows it.
DECLARED_MOOD_SCHEMA = {
    "type": "object",
    "nullable": True,
    "description": "the mood the listener declared (null if none), whether it is the current "
    "mood, and why not: plays of the mood window take precedence over a declared mood",
    "properties": {
        "label": {"type": "string"},
        "display_name": {"type": "string"},
        "declared_at": {"type": "string", "format": "date-time", "nullable": True},
        "used": {"type": "boolean"},
        "reason": {"type": "string"},
    },
    "required": ["label", "display_name", "declared_at", "used", "reason"],
}


class MoodHistoryPagination(StandardPagination):
    """A page of the mood history with the listener's current mood on top, as ``current``,
    and their declared mood's status, as ``declared_mood``."""

    def get_paginated_response_schema(self, schema: dict) -> dict:
        page = super().get_paginated_response_schema(schema)
        current = {"allOf": [schema["items"]], "nullable": True}
        page["properties"] = {
            "current": current,
            "declared_mood": DECLARED_MOOD_SCHEMA,
            **page["properties"],
        }
        page["required"] = ["current", "declared_mood", *page.get("required", [])]
        return page


class MyMoodApi(APIView):
    """The listener's current mood and its history, newest first (paginated)."""

    pagination_class = MoodHistoryPagination

    class DeclareInputSerializer(serializers.Serializer):
        label = serializers.CharField(max_length=64)

    class DeclareOutputSerializer(serializers.Serializer):
        declared_label = serializers.CharField(source="state.declared_label")
        declared_at = serializers.DateTimeField(source="state.declared_at")
        used = serializers.BooleanField(
            source="status.used", help_text="whether the declared mood is now the current mood"
        )
        reason = serializers.CharField(
            source="status.reason",
            help_text="why it is or is not used: plays of the past week take precedence over a "
            "declared mood, which is the mood whenever they say nothing",
        )
        mood = MoodSnapshotOutputSerializer(
            source="snapshot",
            allow_null=True,
            help_text="the current mood right after the declaration (null while no model is "
            "active)",
        )

    @extend_schema(responses={200: MoodSnapshotOutputSerializer(many=True), 503: NO_ACTIVE_MODEL})
    def get(self, request: Request) -> Response:
        try:
            current = current_mood(listener=request.user)
        except NoActiveMoodModel as error:
            raise ServiceUnavailable(str(error)) from error
        response = get_paginated_response(
            pagination_class=self.pagination_class,
            serializer_class=MoodSnapshotOutputSerializer,
            queryset=snapshot_history(listener=request.user),
            request=request,
            view=self,
        )
        declared = declared_mood_status(
            state=listener_mood_state(listener=request.user),
            snapshot=current,
            version=current.model_version if current else None,
        )
        response.data = {
            "current": MoodSnapshotOutputSerializer(current).data if current else None,
            "declared_mood": declared,
            **response.data,
        }
        return response

    @extend_schema(
        request=DeclareInputSerializer,
        responses=DeclareOutputSerializer,
        description="Declare a mood. It is the listener's mood whenever no play of the mood "
        "window can be used (plays take precedence); the mood is re-inferred at once, and the "
        "answer says whether the declared mood is now the current one, and if not, why not.",
    )
    def put(self, request: Request) -> Response:
        payload = self.DeclareInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            declaration = declare_mood(listener=request.user, label=payload.validated_data["label"])
        except ValueError as error:
            raise exceptions.ValidationError({"label": [str(error)]}) from error
        return Response(self.DeclareOutputSerializer(declaration).data)
