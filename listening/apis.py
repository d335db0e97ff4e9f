from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import APIException, ErrorDetail
from rest_framework.fields import empty
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.status import HTTP_202_ACCEPTED, HTTP_413_REQUEST_ENTITY_TOO_LARGE
from rest_framework.views import APIView

from common.db_routers import replica_reads
from common.ids import DatabaseIdField
from common.pagination import StandardPagination, get_paginated_response
from listening.matching import NAME_MAX_LENGTH, TrackMetadata
from listening.models import ImportFormat
from listening.selectors import list_import_jobs, list_plays
from listening.services import (
    ImportTooLarge,
    PlayCandidate,
    PlayOutcome,
    PlayStatus,
    create_import_job,
    record_plays,
)
from listening.validation import played_at_problem


class PlayInputSerializer(serializers.Serializer):
    track = DatabaseIdField(
        required=False,
        help_text="catalogue id of the track; or leave it out and describe the track",
    )
    track_name = serializers.CharField(
        max_length=NAME_MAX_LENGTH, required=False, help_text="title, when track is not given"
    )
    artist_name = serializers.CharField(max_length=NAME_MAX_LENGTH, required=False)
    release_name = serializers.CharField(
        max_length=NAME_MAX_LENGTH, required=False, allow_blank=True, help_text="album"
    )
    recording_mbid = serializers.UUIDField(required=False, allow_null=True)
    isrc = serializers.CharField(max_length=20, required=False, allow_blank=True)
    duration_ms = serializers.IntegerField(
        min_value=1, max_value=24 * 3600 * 1000, required=False, allow_null=True
    )
    played_at = serializers.DateTimeField(
        help_text="ISO 8601; a time without an offset is taken as UTC"
    )
    ms_played = serializers.IntegerField(
        min_value=0, max_value=24 * 3600 * 1000, required=False, allow_null=True
    )
    client = serializers.CharField(max_length=200, required=False, allow_blank=True)
    chosen_by_user = serializers.BooleanField(
        default=True,
        help_text="false when the listener played it from a recommendation, not by choice",
    )

    def validate_played_at(self, played_at: dt.datetime) -> dt.datetime:
        problem = played_at_problem(played_at)
        if problem:
            raise serializers.ValidationError(problem)
        return played_at

    def validate(self, attrs: dict) -> dict:
        if "track" not in attrs and not (attrs.get("track_name") and attrs.get("artist_name")):
            raise serializers.ValidationError(
                "Give the catalogue id as track, or describe the track with track_name and "
                "artist_name (plus release_name, recording_mbid, isrc when known)."
            )
        return attrs


def validate_play_batch(
    raw_items: list, *, default_client: str
) -> tuple[list[PlayCandidate], list[PlayOutcome]]:
    """Each item of a batch as a candidate play, or a rejection with the serializer's errors.

    One ``PlayInputSerializer`` checks the whole batch: building one per item deep-copies its
    fields every time, 200–300 ms of a 1,000-play request. The errors are exactly those of a
    serializer built for the item (``Serializer.errors``, including its "No data provided" for
    a null item); whether a named track exists is asked once for the batch, by ``record_plays``.
    """
    validate_item = _item_validation(PlayInputSerializer())
    candidates: list[PlayCandidate] = []
    rejected: list[PlayOutcome] = []
    for index, raw_item in enumerate(raw_items):
        try:
            fields = validate_item(raw_item)
        except serializers.ValidationError as error:
            rejected.append(
                PlayOutcome(
                    index=index, status=PlayStatus.REJECTED, reason=_item_errors(error.detail)
                )
            )
        else:
            candidates.append(play_candidate(fields, index=index, default_client=default_client))
    return candidates, rejected


def _item_validation(serializer: serializers.Serializer) -> Callable[[Any], dict]:
    """``serializer.run_validation`` for one item, the short way where the item is a plain JSON
    object that passes.

    For such an item it does what ``Serializer.run_validation`` does (each given field's own
    ``run_validation`` and ``validate_<field>``, the absent fields' defaults, the serializer's
    validators and ``validate``) without the work it repeats for every item: a ``SkipField``
    raised and caught for each absent field, the read-only defaults gathered, the HTML-form
    checks. That halves the validation of 1,000 plays (34 → 16 ms). An item that fails, or is
    not a plain object, goes through the serializer itself, so the errors are the serializer's,
    word for word.
    """
    fields = [
        (field, getattr(serializer, f"validate_{field.field_name}", None))
        for field in serializer.fields.values()
        if not field.read_only
    ]
    check_whole_item = bool(serializer.validators)

    def validate_plain_item(raw_item: dict) -> dict:
        attrs: dict = {}
        for field, validate_field in fields:
            value = raw_item.get(field.field_name, empty)
            if value is empty:
                if field.required:
                    # The serializer below words the error.
                    raise serializers.ValidationError("required")
                if field.default is empty:
                    continue
                value = field.get_default()
            else:
                value = field.run_validation(value)
                if validate_field is not None:
                    value = validate_field(value)
            serializer.set_value(attrs, field.source_attrs, value)
        if check_whole_item:
            serializer.run_validators(attrs)
        return serializer.validate(attrs)

    def validate_item(raw_item: Any) -> dict:
        if type(raw_item) is dict:
            try:
                return validate_plain_item(raw_item)
            except (serializers.ValidationError, DjangoValidationError):
                pass
        return serializer.run_validation(raw_item)

    return validate_item


def _item_errors(detail: dict | list) -> dict:
    # What Serializer.errors makes of a failed run_validation.
    if isinstance(detail, list) and len(detail) == 1 and getattr(detail[0], "code", None) == "null":
        return {api_settings.NON_FIELD_ERRORS_KEY: [ErrorDetail("No data provided", code="null")]}
    return detail


def play_candidate(fields: dict, *, index: int, default_client: str) -> PlayCandidate:
    """A candidate play from an item's validated fields."""
    metadata = None
    if fields.get("track_name") and fields.get("artist_name"):
        metadata = TrackMetadata.clean(
            track_name=fields["track_name"],
            artist_name=fields["artist_name"],
            release_name=fields.get("release_name", ""),
            recording_mbid=fields.get("recording_mbid"),
            isrc=fields.get("isrc", ""),
            duration_ms=fields.get("duration_ms"),
        )
    return PlayCandidate(
        index=index,
        track_id=fields.get("track"),
        metadata=metadata,
        played_at=fields["played_at"],
        ms_played=fields.get("ms_played"),
        client=fields.get("client") or default_client,
        chosen_by_user=fields["chosen_by_user"],
    )


class PlayOutputSerializer(serializers.Serializer):
    """A play; an unmatched one has ``track`` null and the title, artist and album it was
    submitted with."""

    id = serializers.IntegerField()
    track = serializers.IntegerField(source="track_id", allow_null=True)
    matched = serializers.BooleanField(source="is_matched")
    title = serializers.CharField()
    artist = serializers.CharField()
    album = serializers.CharField()
    played_at = serializers.DateTimeField()
    ms_played = serializers.IntegerField(allow_null=True)
    client = serializers.CharField()
    chosen_by_user = serializers.BooleanField()
    received_at = serializers.DateTimeField()


class PlayOutcomeSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    status = serializers.ChoiceField(choices=[status.value for status in PlayStatus])
    play_id = serializers.IntegerField(allow_null=True)
    matched = serializers.BooleanField(
        allow_null=True, help_text="for accepted plays: false when stored unmatched"
    )
    reason = serializers.DictField(allow_null=True)

    def to_representation(self, outcome: PlayOutcome) -> dict:
        # What the fields above make of an outcome, written out: a batch answers 1,000 of
        # them, and the generic walk over the fields takes about 5 ms of the request.
        return {
            "index": outcome.index,
            "status": outcome.status.value,
            "play_id": outcome.play_id,
            "matched": outcome.matched,
            "reason": outcome.reason,
        }


class ParsedJSONField(serializers.JSONField):
    """A JSON value the request's parser has already read.

    DRF's ``JSONField`` checks that a value can be written as JSON by writing it, about 5 ms
    for a batch's 1,000 plays; whatever the JSON parser produced always can. A JSON string
    from a form is still read by ``JSONField`` itself.
    """

    def to_internal_value(self, data: Any) -> Any:
        if self.binary or getattr(data, "is_json_string", False):
            return super().to_internal_value(data)
        return data


class PlayListSubmitApi(APIView):
    pagination_class = StandardPagination

    class BatchInputSerializer(serializers.Serializer):
        # Items are validated one by one below, so one bad item cannot sink the batch.
        plays = serializers.ListField(
            child=ParsedJSONField(),
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
        unmatched = serializers.IntegerField(help_text="accepted plays stored unmatched")
        duplicate = serializers.IntegerField()
        rejected = serializers.IntegerField()
        results = serializers.ListField(child=PlayOutcomeSerializer())

    class FilterSerializer(serializers.Serializer):
        since = serializers.DateTimeField(required=False, help_text="inclusive")
        until = serializers.DateTimeField(required=False, help_text="exclusive")
        chosen_by_user = serializers.BooleanField(
            required=False,
            allow_null=True,
            default=None,
            help_text="true: only the listener's own choices; false: only plays of recommendations",
        )

        def validate(self, attrs: dict) -> dict:
            if "since" in attrs and "until" in attrs and attrs["since"] >= attrs["until"]:
                raise serializers.ValidationError("since must be earlier than until")
            return attrs

    # History is read-only and may trail the primary by the replica's lag (milliseconds); an
    # import job is not, since a client polls the job it has just created.
    @extend_schema(parameters=[FilterSerializer], responses=PlayOutputSerializer(many=True))
    @replica_reads()
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        return get_paginated_response(
            pagination_class=self.pagination_class,
            serializer_class=PlayOutputSerializer,
            queryset=list_plays(listener=request.user, **filters.validated_data),
            request=request,
            view=self,
        )

    @extend_schema(request=BatchInputSerializer, responses=BatchOutputSerializer)
    def post(self, request: Request) -> Response:
        if not isinstance(request.data, dict):
            raise serializers.ValidationError(
                {"plays": ['Send a JSON object: {"plays": [{"track": 1, "played_at": "..."}]}']}
            )
        batch = self.BatchInputSerializer(data=request.data)
        batch.is_valid(raise_exception=True)
        default_client = request.headers.get("User-Agent", "")[:200]

        candidates, rejected = validate_play_batch(
            batch.validated_data["plays"], default_client=default_client
        )
        outcomes = rejected + record_plays(listener=request.user, candidates=candidates)
        outcomes.sort(key=lambda outcome: outcome.index)
        counts = Counter(outcome.status.value for outcome in outcomes)
        unmatched = sum(
            1 for o in outcomes if o.status is PlayStatus.ACCEPTED and o.matched is False
        )
        output = self.BatchOutputSerializer(
            {
                **{status.value: counts[status.value] for status in PlayStatus},
                "unmatched": unmatched,
                "results": outcomes,
            }
        )
        return Response(output.data)


class ImportJobOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    format = serializers.CharField()
    file_name = serializers.CharField(source="original_name")
    status = serializers.CharField()
    processed = serializers.IntegerField(help_text="entries read and checked so far")
    total = serializers.IntegerField(allow_null=True, help_text="entries in the file")
    summary = serializers.DictField(
        help_text="accepted (of which unmatched), duplicate, skipped (not music), rejected"
    )
    failure_reason = serializers.CharField()
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)


class ImportTooLargeError(APIException):
    status_code = HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "payload_too_large"


class ImportJobListCreateApi(APIView):
    """Upload a listening-history export; it is imported by a worker (poll the job)."""

    parser_classes = [MultiPartParser, FormParser]
    pagination_class = StandardPagination

    class InputSerializer(serializers.Serializer):
        file = serializers.FileField(
            help_text="Spotify StreamingHistory*.json / Streaming_History_Audio_*.json, or a "
            "ListenBrainz export (JSON lines)"
        )
        format = serializers.ChoiceField(
            choices=[*ImportFormat.values, "auto"],
            default="auto",
            help_text="auto: tell from the file's content",
        )

    @extend_schema(responses=ImportJobOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        return get_paginated_response(
            pagination_class=self.pagination_class,
            serializer_class=ImportJobOutputSerializer,
            queryset=list_import_jobs(listener=request.user),
            request=request,
            view=self,
        )

    @extend_schema(request=InputSerializer, responses={202: ImportJobOutputSerializer})
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        chosen_format = data.validated_data["format"]
        try:
            job = create_import_job(
                listener=request.user,
                upload=data.validated_data["file"],
                format=None if chosen_format == "auto" else chosen_format,
            )
        except ImportTooLarge as error:
            raise ImportTooLargeError(str(error)) from error
        return Response(ImportJobOutputSerializer(job).data, status=HTTP_202_ACCEPTED)


class ImportJobDetailApi(APIView):
    @extend_schema(responses=ImportJobOutputSerializer)
    def get(self, request: Request, job_id: int) -> Response:
        job = get_object_or_404(list_import_jobs(listener=request.user), pk=job_id)
        return Response(ImportJobOutputSerializer(job).data)
