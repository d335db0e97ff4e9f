"""Requests refused before any view sees them (oversized bodies, NUL characters), and the
rate-limit headers every API response carries.

Django enforces DATA_UPLOAD_MAX_MEMORY_SIZE only when ``request.body`` is read, and DRF's
parsers read the stream directly, so without this a huge JSON body would be parsed in full.
Multipart uploads (audio) stream to temporary files and get a separate, larger limit. A path
listed in REQUEST_BODY_LIMITS_BY_PATH has a limit of its own, and its API's own refusal (an
API that imitates another service answers as that service does).
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.module_loading import import_string

from common.errors import error_json_response
from common.throttling import rate_limit_of

NUL = "\x00"


class RequestBodyLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return error_json_response(
                status_code=400, code="bad_content_length", message="Content-Length is invalid."
            )
        own_limit = settings.REQUEST_BODY_LIMITS_BY_PATH.get(request.path_info)
        if own_limit is not None:
            if length > own_limit["max_bytes"]:
                refuse = import_string(own_limit["refuse"])
                return refuse(request, length=length, limit=own_limit["max_bytes"])
            return self.get_response(request)

        is_upload = request.content_type == "multipart/form-data"
        limit = (
            settings.AUDIO_MAX_UPLOAD_BYTES if is_upload else settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        )
        if length > limit:
            what = "an upload" if is_upload else "a request body"
            return error_json_response(
                status_code=413,
                code="payload_too_large",
                message=(
                    f"The body is {length} bytes; the limit for {what} is {limit} bytes. "
                    "Split the batch into smaller requests."
                    if not is_upload
                    else f"The upload is {length} bytes; the limit is {limit} bytes."
                ),
            )
        return self.get_response(request)


class RefuseNulCharactersMiddleware:
    """Refuse a NUL character (U+0000) in the path, a query parameter or a header: 400.

    PostgreSQL text cannot hold NUL, so ``?q=%00`` reaching a query would fail there as a 500
    (SQLite would search for it). Views read these values in many ways (filter serializers,
    ``query_params``, authentication headers); checking once here covers them all. Request
    bodies are checked where they are read: DRF's CharField refuses NUL, and so do the
    ListenBrainz endpoints, by ListenBrainz's rule.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        where = self._where_nul_is(request)
        if where is not None:
            return error_json_response(
                status_code=400,
                code="invalid",
                message=f"{where} contains a NUL character (U+0000), which is not allowed.",
                path=request.path_info,
            )
        return self.get_response(request)

    @staticmethod
    def _where_nul_is(request: HttpRequest) -> str | None:
        if NUL in request.path:
            return "The path"
        for name, values in request.GET.lists():
            if NUL in name or any(NUL in value for value in values):
                return f"Query parameter {name.replace(NUL, '')!r}"
        for key, value in request.META.items():
            if key.startswith("HTTP_") and isinstance(value, str) and NUL in value:
                return f"Header {key.removeprefix('HTTP_').replace('_', '-').title()!r}"
        return None


class RateLimitHeadersMiddleware:
    """ListenBrainz's rate-limit headers (``common.throttling``) on every response under the
    paths in RATE_LIMIT_HEADERS_PATH_PREFIXES: successes, errors, throttled requests, unknown
    paths and bodies refused by the guards below it alike, so a client can pace itself from
    any answer.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.path_info.startswith(tuple(settings.RATE_LIMIT_HEADERS_PATH_PREFIXES)):
            rate_limit = rate_limit_of(request)
            if rate_limit is not None:
                for name, value in rate_limit.headers().items():
                    response[name] = value
        return response
