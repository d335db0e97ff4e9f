from __future__ import annotations

import datetime as dt
from collections import Counter

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.pagination import StandardPagination
from listening.selectors import list_plays
from listening.services import PlayCandidate, PlayOutcome, PlayStatus, record_plays

# A client clock a little ahead of ours is normal; a play hours in the future is a bug.
ALLOWED_CLOCK_SKEW = dt.timedelta(minutes=5)
EARLIEST_PLAY = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


class PlayInputSerializer(serializers.Serializer):
    track = serializers.IntegerField(min_value=1, help_text="catalogue id of the track")
    played_at = serializers.DateTimeField(
        help_text="ISO 8601; a time without an offset is taken as UTC"
    )
    ms_played = serializers.IntegerField(
        min_value=0, max_value=24 * 3600 * 1000, required=False, allow_null=True
    )
    client = serializers.CharField(max_length=200, required=False, allow_blank=True)

    def validate_played_at(self, played_at: dt.datetime) -> dt.datetime:
        if played_at > timezone.now() + ALLOWED_CLOCK_SKEW:
            raise serializers.ValidationError("played_at is in the future; check the clock")
        if played_at < EARLIEST_PLAY:
            raise serializers.ValidationError("played_at is before 2000-01-01")
        return played_at


class PlayOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    track = serializers.IntegerField(source="track_id")
    title = serializers.CharField(source="track.title")
    artist = serializers.CharField(source="track.artist")
    album = serializers.CharField(source="track.album")
    played_at = serializers.DateTimeField()
    ms_played = serializers.IntegerField(allow_null=True)
    client = serializers.CharField()
    received_at = serializers.DateTimeField()


class PlayOutcomeSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    status = serializers.ChoiceField(choices=[status.value for status in PlayStatus])
    play_id = serializers.IntegerField(allow_null=True)
    reason = serializers.DictField(allow_null=True)


class PlayListSubmitApi(APIView):
    class BatchInputSerializer(serializers.Serializer):
        # Items are validated one by one below, so one bad item cannot sink the batch.
        plays = serializers.ListField(
            child=serializers.JSONField(),
            allow_empty=False,
            max_length=settings.MAX_PLAYS_PER_BATCH,
            error_messages={
                "max_length": (
                    f"A batch holds at most {settings.MAX_PLAYS_PER_BATCH} plays; "
                    "split it into several requests."
                )
            },
        )

    class BatchOutputSerializer(serializers.Serializer):
        accepted = serializers.IntegerField()
        duplicate = serializers.IntegerField()
        rejected = serializers.IntegerField()
        results = serializers.ListField(child=PlayOutcomeSerializer())

    class FilterSerializer(serializers.Serializer):
        since = serializers.DateTimeField(required=False, help_text="inclusive")
        until = serializers.DateTimeField(required=False, help_text="exclusive")

        def validate(self, attrs: dict) -> dict:
            if "since" in attrs and "until" in attrs and attrs["since"] >= attrs["until"]:
                raise serializers.ValidationError("since must be earlier than until")
            return attrs

    @extend_schema(parameters=[FilterSerializer], responses=PlayOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        plays = list_plays(listener=request.user, **filters.validated_data)
        paginator = StandardPagination()
        page = paginator.paginate_queryset(plays, request, view=self)
        return paginator.get_paginated_response(PlayOutputSerializer(page, many=True).data)

    @extend_schema(request=BatchInputSerializer, responses=BatchOutputSerializer)
    def post(self, request: Request) -> Response:
        if not isinstance(request.data, dict):
            raise serializers.ValidationError(
                {"plays": ['Send a JSON object: {"plays": [{"track": 1, "played_at": "..."}]}']}
            )
        batch = self.BatchInputSerializer(data=request.data)
        batch.is_valid(raise_exception=True)
        default_client = request.headers.get("User-Agent", "")[:200]

        candidates: list[PlayCandidate] = []
        rejected: list[PlayOutcome] = []
        for index, raw_item in enumerate(batch.validated_data["plays"]):
            item = PlayInputSerializer(data=raw_item)
            if not item.is_valid():
                rejected.append(
                    PlayOutcome(index=index, status=PlayStatus.REJECTED, reason=item.errors)
                )
            else:
                fields = item.validated_data
                candidates.append(
                    PlayCandidate(
                        index=index,
                        track_id=fields["track"],
                        played_at=fields["played_at"],
                        ms_played=fields.get("ms_played"),
                        client=fields.get("client") or default_client,
                    )
                )

        outcomes = rejected + record_plays(listener=request.user, candidates=candidates)
        outcomes.sort(key=lambda outcome: outcome.index)
        counts = Counter(outcome.status.value for outcome in outcomes)
        output = self.BatchOutputSerializer(
            {
                **{status.value: counts[status.value] for status in PlayStatus},
                "results": outcomes,
            }
        )
        return Response(output.data)
