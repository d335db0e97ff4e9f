"""Emotion journeys over the API: plan one, fetch it with its progress, answer its tracks."""

from __future__ import annotations

import math

from django.conf import settings
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.openapi import error_response
from emotion.ml.valence_arousal import QUADRANT_CENTRES
from recommender.apis import NO_ACTIVE_MODEL, Conflict, ServiceUnavailable
from recommender.journey_planning import CURVES, STRAIGHT
from recommender.journey_selectors import journey_items, listener_journey, listener_journey_item
from recommender.journeys import (
    MAX_LENGTH,
    MIN_LENGTH,
    ItemReplaced,
    JourneyRequestError,
    PointSpec,
    answer_journey_item,
    journey_progress,
    plan_journey,
    target_region,
)
from recommender.models import Feedback, Journey
from recommender.services import FeedbackConflict, NoActiveMoodModel

POINT_SCHEMA = {
    "type": "object",
    "properties": {
        "valence": {"type": "number", "minimum": 0, "maximum": 1},
        "arousal": {"type": "number", "minimum": 0, "maximum": 1},
    },
    "required": ["valence", "arousal"],
}
EMOTION_OR_POINT_SCHEMA = {
    "oneOf": [
        {"type": "string", "enum": sorted(QUADRANT_CENTRES), "description": "a quadrant"},
        POINT_SCHEMA,
    ]
}


@extend_schema_field(EMOTION_OR_POINT_SCHEMA)
class EmotionOrPointField(serializers.Field):
    """A quadrant label ("Q4") or a point {"valence": v, "arousal": a} in [0, 1]²."""

    default_error_messages = {
        "unknown": "unknown emotion {label!r}; choose one of {choices} or a point "
        '{{"valence": v, "arousal": a}} in [0, 1]²',
        "shape": 'give a quadrant (one of {choices}) or a point {{"valence": v, "arousal": a}}',
        "outside": "{name} must be a number in [0, 1], got {value!r}",
    }

    def to_internal_value(self, data) -> PointSpec:
        choices = ", ".join(sorted(QUADRANT_CENTRES))
        if isinstance(data, str):
            if data not in QUADRANT_CENTRES:
                self.fail("unknown", label=data, choices=choices)
            return PointSpec(label=data)
        if not isinstance(data, dict) or set(data) != {"valence", "arousal"}:
            self.fail("shape", choices=choices)
        for name in ("valence", "arousal"):
            value = data[name]
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
                or not 0.0 <= value <= 1.0
            ):
                self.fail("outside", name=name, value=value)
        return PointSpec(valence=float(data["valence"]), arousal=float(data["arousal"]))

    def to_representation(self, value):
        return value


class JourneyPointOutputSerializer(serializers.Serializer):
    valence = serializers.FloatField()
    arousal = serializers.FloatField()


class JourneyItemOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    position = serializers.IntegerField(help_text="1-based order on the journey")
    recommendation = serializers.IntegerField(
        source="recommendation_id",
        allow_null=True,
        help_text="the recommendation this track was served as",
    )
    track = serializers.SerializerMethodField()
    valence_arousal = serializers.SerializerMethodField(help_text="the track's point")
    waypoint = serializers.SerializerMethodField(help_text="the point it was chosen for")
    step = serializers.FloatField(help_text="distance from the previous track (or the start)")
    reason = serializers.CharField(help_text='e.g. "step 3 of 10: a little calmer, …"')
    plan = serializers.IntegerField(help_text="0: the first plan; n: the n-th re-plan")
    feedback = serializers.SerializerMethodField(help_text="accept, reject or empty")

    def get_track(self, item) -> dict:
        track = item.track
        return {"id": track.pk, "title": track.title, "artist": track.artist, "album": track.album}

    @extend_schema_field(JourneyPointOutputSerializer)
    def get_valence_arousal(self, item) -> dict:
        return {"valence": item.valence, "arousal": item.arousal}

    @extend_schema_field(JourneyPointOutputSerializer)
    def get_waypoint(self, item) -> dict:
        return {"valence": item.waypoint_valence, "arousal": item.waypoint_arousal}

    def get_feedback(self, item) -> str:
        return item.recommendation.feedback if item.recommendation else ""


class JourneyProgressOutputSerializer(serializers.Serializer):
    planned = serializers.IntegerField(help_text="tracks on the journey now")
    answered = serializers.IntegerField()
    accepted = serializers.IntegerField()
    rejected = serializers.IntegerField()
    next_position = serializers.IntegerField(
        allow_null=True, help_text="the first unanswered position; null when all are answered"
    )
    complete = serializers.BooleanField(help_text="every track answered")
    reaches_target = serializers.BooleanField(help_text="the last track lies in the target region")
    replans = serializers.IntegerField()


class JourneyEndOutputSerializer(serializers.Serializer):
    label = serializers.CharField(help_text="the quadrant, or empty for a point")
    valence = serializers.FloatField()
    arousal = serializers.FloatField()


class JourneyTargetOutputSerializer(JourneyEndOutputSerializer):
    radius = serializers.FloatField(
        allow_null=True, help_text="a target point's region radius; null for a quadrant"
    )


class JourneyStartOutputSerializer(JourneyEndOutputSerializer):
    mood_snapshot = serializers.IntegerField(
        allow_null=True, help_text="the mood snapshot the journey started from, if no start"
    )


class JourneyOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    length = serializers.IntegerField()
    curve = serializers.CharField()
    max_step = serializers.FloatField()
    model_version = serializers.IntegerField(source="model_version_id", allow_null=True)
    start = serializers.SerializerMethodField()
    target = serializers.SerializerMethodField()
    progress = serializers.SerializerMethodField()
    notice = serializers.SerializerMethodField(
        help_text="null, or why the journey holds fewer tracks than its length"
    )
    items = serializers.SerializerMethodField()

    def _items(self, journey: Journey) -> list:
        cache = self.context.setdefault("items", {})
        if journey.pk not in cache:
            cache[journey.pk] = list(journey_items(journey=journey))
        return cache[journey.pk]

    @extend_schema_field(JourneyStartOutputSerializer)
    def get_start(self, journey) -> dict:
        return {
            "label": journey.start_label,
            "valence": journey.start_valence,
            "arousal": journey.start_arousal,
            "mood_snapshot": journey.start_snapshot_id,
        }

    @extend_schema_field(JourneyTargetOutputSerializer)
    def get_target(self, journey) -> dict:
        return {
            "label": journey.target_label,
            "valence": journey.target_valence,
            "arousal": journey.target_arousal,
            "radius": None if journey.target_label else journey.target_radius,
        }

    @extend_schema_field(JourneyProgressOutputSerializer)
    def get_progress(self, journey) -> dict:
        progress = journey_progress(journey=journey, items=self._items(journey))
        return {**progress.__dict__, "replans": journey.replans}

    @extend_schema_field(
        {
            "type": "object",
            "nullable": True,
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
            "required": ["code", "message"],
        }
    )
    def get_notice(self, journey) -> dict | None:
        items = self._items(journey)
        if len(items) >= journey.length:
            return None
        region = target_region(journey)
        where = (
            ""
            if items and region.contains((items[-1].valence, items[-1].arousal))
            else (" and it stops short of the target")
        )
        return {
            "code": "short_journey",
            "message": f"only {len(items)} of {journey.length} steps found a track within "
            f"{journey.max_step:.2f} of the previous one among the tracks left for you{where}; "
            "a larger max_step or another target may give a full journey",
        }

    @extend_schema_field(JourneyItemOutputSerializer(many=True))
    def get_items(self, journey) -> list:
        return JourneyItemOutputSerializer(self._items(journey), many=True).data


class JourneyCreateApi(APIView):
    """Plan an emotion journey: tracks that first match the listener's mood (or ``start``),
    then lead step by step to ``target`` (the iso principle). Every track is served as a
    recommendation, so it is never served again."""

    class InputSerializer(serializers.Serializer):
        target = EmotionOrPointField(help_text='a quadrant ("Q4") or {"valence", "arousal"}')
        length = serializers.IntegerField(
            min_value=MIN_LENGTH,
            max_value=MAX_LENGTH,
            help_text=f"tracks on the journey, {MIN_LENGTH}–{MAX_LENGTH}",
            error_messages={
                "min_value": f"length must be between {MIN_LENGTH} and {MAX_LENGTH}",
                "max_value": f"length must be between {MIN_LENGTH} and {MAX_LENGTH}",
            },
        )
        start = EmotionOrPointField(
            required=False, help_text="default: the listener's current mood"
        )
        curve = serializers.ChoiceField(choices=CURVES, default=STRAIGHT)
        max_step = serializers.FloatField(
            required=False,
            min_value=0.01,
            max_value=1.5,
            help_text=f"largest jump between consecutive tracks (default "
            f"{settings.JOURNEY_MAX_STEP})",
        )

    @extend_schema(
        request=InputSerializer,
        responses={201: JourneyOutputSerializer, 503: NO_ACTIVE_MODEL},
    )
    def post(self, request: Request) -> Response:
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            journey = plan_journey(listener=request.user, **payload.validated_data)
        except JourneyRequestError as error:
            raise exceptions.ValidationError({error.field: [str(error)]}) from error
        except NoActiveMoodModel as error:
            raise ServiceUnavailable(str(error)) from error
        return Response(JourneyOutputSerializer(journey).data, status=status.HTTP_201_CREATED)


class JourneyDetailApi(APIView):
    """A journey with its tracks (as re-planned) and progress."""

    @extend_schema(responses=JourneyOutputSerializer)
    def get(self, request: Request, journey_id: int) -> Response:
        journey = listener_journey(listener=request.user, journey_id=journey_id)
        if journey is None:
            raise exceptions.NotFound(f"you have no journey {journey_id}")
        return Response(JourneyOutputSerializer(journey).data)


class JourneyItemFeedbackApi(APIView):
    """Accept or reject a journey track (as a recommendation: repeating an answer is
    harmless, changing it is 409). A reject re-plans the unanswered tracks after it, avoiding
    the rejected region."""

    class InputSerializer(serializers.Serializer):
        action = serializers.ChoiceField(choices=Feedback.values)

    class OutputSerializer(serializers.Serializer):
        item = JourneyItemOutputSerializer()
        changed = serializers.BooleanField(help_text="false when the answer was already stored")
        replanned = serializers.BooleanField(
            help_text="the tracks after this one were re-planned (after a reject)"
        )
        journey = JourneyOutputSerializer()

    @extend_schema(
        request=InputSerializer,
        responses={
            200: OutputSerializer,
            409: error_response(
                "The track already has the other answer, or a re-plan replaced it."
            ),
            503: NO_ACTIVE_MODEL,
        },
    )
    def post(self, request: Request, journey_id: int, item_id: int) -> Response:
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        item = listener_journey_item(listener=request.user, journey_id=journey_id, item_id=item_id)
        if item is None:
            raise exceptions.NotFound(f"you have no journey {journey_id} with item {item_id}")
        try:
            answer = answer_journey_item(item=item, action=payload.validated_data["action"])
        except (FeedbackConflict, ItemReplaced) as error:
            raise Conflict(str(error)) from error
        except NoActiveMoodModel as error:
            raise ServiceUnavailable(str(error)) from error
        item.journey.refresh_from_db()
        return Response(
            self.OutputSerializer(
                {
                    "item": answer.item,
                    "changed": answer.changed,
                    "replanned": answer.replanned,
                    "journey": item.journey,
                }
            ).data
        )
