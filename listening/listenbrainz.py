"""ListenBrainz-compatible endpoints, so existing scrobblers can send plays here unmodified.

Point a ListenBrainz client at this server's root (the client adds ``/1/...``) and give it the
listener's API token. Implemented: ``POST /1/submit-listens`` and ``GET /1/validate-token``,
with ListenBrainz's limits, validation rules and error shape (``{"code": 400, "error": "..."}``)
as its API documentation describes them. These views have their own exception handling, so
the project-wide error envelope does not apply here.

``single`` and ``import`` listens go through ``record_plays`` like any other play: matched to
the catalogue, deduplicated, kept unmatched when the catalogue lacks the track. A submission is
all or nothing: one invalid listen makes it a 400 and nothing is stored, as on ListenBrainz.
``playing_now`` is validated and answered with ``{"status": "ok"}`` but not stored: it says what
is playing, not that it was listened to, and the client submits the listen when it ends.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, JsonResponse
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import (
    APIException,
    AuthenticationFailed,
    NotAuthenticated,
    Throttled,
)
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.parsers import parse_json
from listening.importers import client_from_listenbrainz, metadata_from_listenbrainz
from listening.services import PlayCandidate, record_plays
from users.models import User

logger = logging.getLogger(__name__)

# ListenBrainz's documented limits (listenbrainz.webserver.views.api_tools). The whole body's
# limit, their product, is the request-size guard's for this path (REQUEST_BODY_LIMITS_BY_PATH).
MAX_LISTENS_PER_REQUEST = 1000
MAX_LISTEN_SIZE = 10240  # bytes per listen, checked over the whole document
MAX_TAGS_PER_LISTEN = 50
MAX_TAG_SIZE = 64
MAX_DURATION_S = 24 * 24 * 3600
MAX_DURATION_MS = MAX_DURATION_S * 1000
# 2002-10-01T00:00:00Z: ListenBrainz refuses listens from before Last.fm existed. (1033410600,
# quoted in places, is that midnight in India, UTC+5:30, five and a half hours too early.)
LISTEN_MINIMUM_TS = 1033430400
LISTENED_AT_ALLOWED_SKEW_S = 3600

SINGLE, IMPORT, PLAYING_NOW = "single", "import", "playing_now"
LISTEN_TYPES = (SINGLE, IMPORT, PLAYING_NOW)
_SINGLE_MBID_KEYS = ("release_mbid", "recording_mbid", "release_group_mbid", "track_mbid")
_MULTIPLE_MBID_KEYS = ("artist_mbids", "work_mbids")


class ListenBrainzError(APIException):
    status_code = 400

    def __init__(self, message: str, status_code: int = 400) -> None:
        super().__init__(message)
        self.status_code = status_code


def listenbrainz_error_body(*, status_code: int, message: str, code: str = "") -> dict:
    """An error as ListenBrainz writes it. ``code`` is this service's word for the error (see
    ``common.errors.error_json_response``); ListenBrainz's shape has no place for it."""
    return {"code": status_code, "error": message}


class ListenBrainzErrorSerializer(serializers.Serializer):
    """Every answer of the ListenBrainz endpoints that is not a success, as ListenBrainz
    writes it."""

    code = serializers.IntegerField(help_text="the response's HTTP status")
    error = serializers.CharField(help_text="what is wrong")


def refuse_oversized_submission(request: HttpRequest, *, length: int, limit: int) -> JsonResponse:
    """The request-size guard's answer to a body over ListenBrainz's limit: LB's own 400."""
    message = f"Payload too large. Payload cannot exceed {limit} bytes"
    return JsonResponse(listenbrainz_error_body(status_code=400, message=message), status=400)


def listenbrainz_exception_handler(exc: Exception, context: dict) -> Response:
    """Every error as ListenBrainz writes it: ``{"code": <status>, "error": "<message>"}``."""
    headers = {}
    if isinstance(exc, NotAuthenticated):
        status_code, message = 401, "You need to provide an Authorization header."
    elif isinstance(exc, APIException):
        status_code, message = exc.status_code, str(exc.detail)
        if isinstance(exc, Throttled) and exc.wait is not None:
            headers["Retry-After"] = str(int(exc.wait + 0.999))
    else:
        logger.exception("ListenBrainz endpoint failed", exc_info=exc)
        status_code, message = 500, "Something went wrong. Please try again."
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    body = listenbrainz_error_body(status_code=status_code, message=message)
    return Response(body, status=status_code, headers=headers)


def listener_for_token(key: str) -> User | None:
    token = Token.objects.select_related("user").filter(key=key).first()
    return token.user if token is not None and token.user.is_active else None


class ListenBrainzTokenAuthentication(TokenAuthentication):
    """``Authorization: Token <key>`` with the listener's API token, and LB's messages."""

    def authenticate(self, request: Request) -> tuple[User, None] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        parts = header.split(" ")
        if len(parts) != 2 or not parts[1]:
            raise AuthenticationFailed("Provided Authorization header is invalid.")
        user = listener_for_token(parts[1])
        if user is None:
            raise AuthenticationFailed("Invalid authorization token.")
        return user, None


class ListenBrainzTokenScheme(OpenApiAuthenticationExtension):
    """The schema's name for ListenBrainzTokenAuthentication: the same header as the REST
    API's token, but a scheme of its own, since the class (and its messages) differ."""

    target_class = ListenBrainzTokenAuthentication
    name = "listenBrainzTokenAuth"

    def get_security_definition(self, auto_schema) -> dict:
        return build_bearer_security_scheme_object(
            header_name="Authorization", token_prefix=self.target.keyword
        )


class ListenBrainzApiView(APIView):
    authentication_classes = [ListenBrainzTokenAuthentication]
    renderer_classes = [JSONRenderer]
    # ListenBrainz clients do not always send a Content-Type; the body is read as JSON as is.
    parser_classes: list = []
    # The shape listenbrainz_exception_handler writes, for the schema (common.openapi).
    error_response_serializer = ListenBrainzErrorSerializer

    def get_exception_handler(self):
        return listenbrainz_exception_handler


class ListenBrainzTrackMetadataSerializer(serializers.Serializer):
    artist_name = serializers.CharField()
    track_name = serializers.CharField()
    release_name = serializers.CharField(required=False, allow_blank=True)
    additional_info = serializers.DictField(
        required=False,
        allow_null=True,
        help_text="recording_mbid, isrc, duration_ms feed the matching; submission_client or "
        "media_player name the client; other keys are ignored",
    )


class ListenBrainzListenSerializer(serializers.Serializer):
    listened_at = serializers.IntegerField(
        required=False,
        min_value=LISTEN_MINIMUM_TS,
        help_text="unix seconds; required for single and import, refused for playing_now",
    )
    track_metadata = ListenBrainzTrackMetadataSerializer()


class SubmitListensApi(ListenBrainzApiView):
    """Submit listens as to ListenBrainz (``listen_type`` single, import or playing_now)."""

    permission_classes = [IsAuthenticated]

    # The body as the schema documents it. parse_submission checks it, by ListenBrainz's rules
    # and with its messages, which a serializer would not give.
    class InputSerializer(serializers.Serializer):
        listen_type = serializers.ChoiceField(choices=LISTEN_TYPES)
        payload = serializers.ListField(
            child=ListenBrainzListenSerializer(),
            min_length=1,
            max_length=MAX_LISTENS_PER_REQUEST,
            help_text="exactly one listen for single and playing_now",
        )

    class OutputSerializer(serializers.Serializer):
        status = serializers.CharField(help_text='"ok"')

    @extend_schema(
        request={"application/json": InputSerializer},
        responses=OutputSerializer,
        tags=["ListenBrainz"],
    )
    def post(self, request: Request) -> Response:
        # Not request.body: Django would hold it to MAX_REQUEST_BODY_BYTES, while this path has
        # ListenBrainz's larger limit, which the request-size guard has already applied.
        submission = parse_submission(request.stream.read() if request.stream else b"")
        if submission.listen_type != PLAYING_NOW:
            default_client = request.headers.get("User-Agent", "")
            record_plays(
                listener=request.user,
                candidates=submission.candidates(default_client=default_client),
            )
        return Response({"status": "ok"})


class ValidateTokenApi(ListenBrainzApiView):
    """Whether a token is valid: from the Authorization header, else ``?token=``."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    class OutputSerializer(serializers.Serializer):
        code = serializers.IntegerField(help_text="200")
        message = serializers.CharField()
        valid = serializers.BooleanField()
        user_name = serializers.CharField(required=False, help_text="when the token is valid")

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "token", str, description="the token, from clients that send no header"
            )
        ],
        responses=OutputSerializer,
        tags=["ListenBrainz"],
    )
    def get(self, request: Request) -> Response:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if header.lower().startswith("token "):
            key = header.split(" ")[1]
        else:
            # ListenBrainz still takes ?token= from clients written before the header.
            key = request.query_params.get("token", "")
        if not key:
            raise ListenBrainzError("You need to provide an Authorization token.")
        user = listener_for_token(key)
        if user is None:
            return Response({"code": 200, "message": "Token invalid.", "valid": False})
        return Response(
            {"code": 200, "message": "Token valid.", "valid": True, "user_name": user.username}
        )


# --- The submission document -----------------------------------------------------------------


@dataclass(frozen=True)
class Submission:
    listen_type: str
    listens: list[dict]

    def candidates(self, *, default_client: str) -> list[PlayCandidate]:
        candidates = []
        for index, listen in enumerate(self.listens):
            track_metadata = listen["track_metadata"]
            info = track_metadata.get("additional_info") or {}
            candidates.append(
                PlayCandidate(
                    index=index,
                    played_at=dt.datetime.fromtimestamp(listen["listened_at"], tz=dt.UTC),
                    metadata=metadata_from_listenbrainz(track_metadata, info=info, mapping={}),
                    client=client_from_listenbrainz(info) or default_client,
                )
            )
        return candidates


def parse_submission(raw: bytes) -> Submission:
    """The checked submission, or a ListenBrainzError saying what is wrong with it.

    The body's total size was checked by the request-size guard before the view.
    """
    try:
        data = parse_json(raw.decode("utf-8"))
    except ValueError as error:
        raise ListenBrainzError(f"Cannot parse JSON document: {error}") from error
    if not isinstance(data, dict):
        raise ListenBrainzError(
            "Invalid JSON document submitted. Top level of JSON document should be a json object."
        )
    if "payload" not in data:
        raise ListenBrainzError("Invalid JSON document submitted.")
    payload = data["payload"]
    if not isinstance(payload, list):
        raise ListenBrainzError("The payload in the JSON document should be a list of listens.")
    if not payload:
        raise ListenBrainzError("JSON document does not contain any listens")
    if len(payload) > MAX_LISTENS_PER_REQUEST:
        raise ListenBrainzError(
            f"Too many listens. You may not submit more than {MAX_LISTENS_PER_REQUEST} "
            "listens at once."
        )
    if len(raw) > len(payload) * MAX_LISTEN_SIZE:
        raise ListenBrainzError(
            f"JSON document is too large. In aggregate, listens may not be larger than "
            f"{MAX_LISTEN_SIZE} bytes each."
        )
    if "listen_type" not in data:
        raise ListenBrainzError("Invalid JSON document submitted.")
    listen_type = data["listen_type"]
    if not isinstance(listen_type, str) or listen_type not in LISTEN_TYPES:
        raise ListenBrainzError("JSON document requires a valid listen_type key.")
    if listen_type in (SINGLE, PLAYING_NOW) and len(payload) > 1:
        raise ListenBrainzError(
            "JSON document contains more than one listen for a single/playing_now. "
            "It should contain only one."
        )
    return Submission(
        listen_type=listen_type,
        listens=[validate_listen(listen, listen_type) for listen in payload],
    )


def validate_listen(listen: Any, listen_type: str) -> dict:
    """One listen checked by ListenBrainz's rules; empty MBID fields are dropped from it."""
    if listen is None:
        raise ListenBrainzError("Listen is empty and cannot be validated.")
    if not isinstance(listen, dict):
        raise ListenBrainzError("Each listen in the payload should be a JSON object.")
    if listen_type in (SINGLE, IMPORT):
        listen["listened_at"] = _listened_at(listen)
        if "track_metadata" not in listen:
            raise ListenBrainzError(
                "JSON document must contain the key track_metadata at the top level."
            )
        if len(listen) > 2:
            raise ListenBrainzError(
                "JSON document may only contain listened_at and track_metadata top level keys"
            )
    else:
        if "listened_at" in listen:
            raise ListenBrainzError(
                "JSON document must not contain listened_at while submitting playing_now."
            )
        if "track_metadata" not in listen:
            raise ListenBrainzError(
                "JSON document must contain the key track_metadata at the top level."
            )
        if len(listen) > 1:
            raise ListenBrainzError(
                "JSON document may only contain track_metadata as top level key when "
                "submitting playing_now."
            )

    track_metadata = listen["track_metadata"]
    if track_metadata is None:
        raise ListenBrainzError("JSON document may not have track_metadata with null value.")
    if not isinstance(track_metadata, dict):
        raise ListenBrainzError("track_metadata must be a JSON object.")
    _check_name(track_metadata, "track_name")
    _check_name(track_metadata, "artist_name")
    _check_name(track_metadata, "release_name", required=False)
    if "additional_info" in track_metadata:
        info = track_metadata["additional_info"]
        if info is None:
            info = track_metadata["additional_info"] = {}
        if not isinstance(info, dict):
            raise ListenBrainzError("track_metadata.additional_info must be a JSON object.")
        _check_additional_info(info)
    _check_no_unicode_null(listen)
    return listen


def _listened_at(listen: dict) -> int:
    if "listened_at" not in listen:
        raise ListenBrainzError("JSON document must contain the key listened_at at the top level.")
    value = listen["listened_at"]
    try:
        if isinstance(value, bool):
            raise TypeError
        listened_at = int(value)
    except (ValueError, TypeError, OverflowError) as error:
        raise ListenBrainzError(
            "JSON document must contain an int value for listened_at."
        ) from error
    if listened_at >= int(time.time()) + LISTENED_AT_ALLOWED_SKEW_S:
        raise ListenBrainzError("Value for key listened_at is too high.")
    if listened_at < LISTEN_MINIMUM_TS:
        raise ListenBrainzError(
            "Value for key listened_at is too low. listened_at timestamp should be greater "
            f"than or equal to {LISTEN_MINIMUM_TS} (2002-10-01 00:00:00 UTC)."
        )
    return listened_at


def _check_name(track_metadata: dict, key: str, *, required: bool = True) -> None:
    """A name is a string, stored stripped. A required one must not be blank; an optional one
    may be, as on ListenBrainz (players send ``release_name: ""`` for a single)."""
    if key not in track_metadata:
        if required:
            raise ListenBrainzError(
                f"JSON document does not contain required field track_metadata.{key}."
            )
        return
    value = track_metadata[key]
    if not isinstance(value, str):
        raise ListenBrainzError(f"track_metadata.{key} must be a single string.")
    track_metadata[key] = value.strip()
    if required and not track_metadata[key]:
        raise ListenBrainzError(f"field track_metadata.{key} is empty.")


def _check_additional_info(info: dict) -> None:
    if "tags" in info:
        tags = info["tags"]
        if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
            raise ListenBrainzError(
                "track_metadata.additional_info.tags must be a list of strings."
            )
        if len(tags) > MAX_TAGS_PER_LISTEN:
            raise ListenBrainzError(
                f"JSON document may not contain more than {MAX_TAGS_PER_LISTEN} items in "
                "track_metadata.additional_info.tags."
            )
        if any(len(tag) > MAX_TAG_SIZE for tag in tags):
            raise ListenBrainzError(
                "JSON document may not contain track_metadata.additional_info.tags longer "
                f"than {MAX_TAG_SIZE} characters."
            )
    if "duration" in info and "duration_ms" in info:
        raise ListenBrainzError("JSON document should not contain both duration and duration_ms.")
    for key, limit in (("duration", MAX_DURATION_S), ("duration_ms", MAX_DURATION_MS)):
        if key in info:
            info[key] = _duration(info[key], key=key, limit=limit)
    for key in _SINGLE_MBID_KEYS:
        if key in info:
            if not info[key]:
                del info[key]
            elif not _is_uuid(info[key]):
                raise ListenBrainzError(f"{key} MBID format invalid.")
    for key in _MULTIPLE_MBID_KEYS:
        if key in info:
            if not info[key]:
                del info[key]
                continue
            if not isinstance(info[key], list):
                raise ListenBrainzError(f"{key} MBID format invalid.")
            mbids = [mbid for mbid in info[key] if mbid]
            if not all(_is_uuid(mbid) for mbid in mbids):
                raise ListenBrainzError(f"{key} MBID format invalid.")
            info[key] = mbids


def _duration(value: Any, *, key: str, limit: int) -> int:
    invalid = f"Value for {key} is invalid, should be a positive integer."
    try:
        if isinstance(value, bool):
            raise TypeError
        duration = int(value)
    except (ValueError, TypeError, OverflowError) as error:
        raise ListenBrainzError(invalid) from error
    if duration <= 0:
        raise ListenBrainzError(invalid)
    if duration > limit:
        raise ListenBrainzError(f"Value for {key} is too large, max permitted value is {limit}")
    return duration


def _is_uuid(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _check_no_unicode_null(value: Any) -> None:
    # PostgreSQL cannot store U+0000 in text; ListenBrainz refuses such listens for the same reason.
    if isinstance(value, str):
        if "\x00" in value:
            raise ListenBrainzError(f"{value} contains a unicode null")
    elif isinstance(value, dict):
        for item in value.values():
            _check_no_unicode_null(item)
    elif isinstance(value, list):
        for item in value:
            _check_no_unicode_null(item)
