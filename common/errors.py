"""One error format for every API response that is not a success.

    {"error": {"status": 400, "code": "invalid", "message": "...", "details": {...}}}

``message`` is a sentence a client developer can act on; ``details`` carries field errors
when there are any. Headers DRF sets (``Retry-After`` on 429, ``WWW-Authenticate`` on 401)
are kept.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.utils.module_loading import import_string
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler


def error_body(*, status_code: int, code: str, message: str, details: Any = None) -> dict:
    body: dict[str, Any] = {"status": status_code, "code": code, "message": message}
    if details is not None:
        body["details"] = details
    return {"error": body}


def error_json_response(
    *, status_code: int, code: str, message: str, path: str = ""
) -> JsonResponse:
    """For code that runs outside DRF (middleware, plain Django views).

    With the request's ``path`` (its ``path_info``, without a script prefix), the body takes
    the error shape of the API that path belongs to: ``ERROR_BODIES_BY_PATH_PREFIX`` names a
    builder per path prefix (the ListenBrainz endpoints answer in ListenBrainz's shape); any
    other path gets this service's format.
    """
    build_body = error_body
    for prefix, builder in settings.ERROR_BODIES_BY_PATH_PREFIX.items():
        if path.startswith(prefix):
            build_body = import_string(builder)
            break
    return JsonResponse(
        build_body(status_code=status_code, code=code, message=message), status=status_code
    )


def _first_message(details: Any) -> str | None:
    if isinstance(details, str):
        return details
    if isinstance(details, list) and details:
        return _first_message(details[0])
    if isinstance(details, dict):
        for field, value in details.items():
            message = _first_message(value)
            if message:
                return message if field == "non_field_errors" else f"{field}: {message}"
    return None


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    # Services validate with Django's ValidationError so they stay usable outside the API.
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(as_serializer_error(exc))
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None:
        return None

    if isinstance(exc, exceptions.ValidationError):
        code = "invalid"
        details = response.data
        message = _first_message(details) or "The request is invalid."
    else:
        code = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
        code = code if isinstance(code, str) else "error"
        detail = response.data.get("detail") if isinstance(response.data, dict) else None
        message = str(detail) if detail else "The request failed."
        details = None
        if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
            details = {"retry_after_seconds": int(exc.wait + 0.999)}

    response.data = error_body(
        status_code=response.status_code, code=code, message=message, details=details
    )
    return response
