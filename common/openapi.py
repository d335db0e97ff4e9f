"""How the OpenAPI schema (drf-spectacular) is generated from the views."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular import openapi
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import SAFE_METHODS, AllowAny, IsAuthenticated

# The error format of common.errors (error_body), as the schema documents it. The docstrings
# are the components' descriptions, for client developers.


class ApiErrorSerializer(serializers.Serializer):
    """What went wrong."""

    status = serializers.IntegerField(help_text="the response's HTTP status")
    code = serializers.CharField(
        help_text="a stable word for the kind of error, e.g. invalid, not_found, throttled"
    )
    message = serializers.CharField(help_text="a sentence a client developer can act on")
    details = serializers.JSONField(
        required=False,
        help_text="the errors per field of invalid input; retry_after_seconds when throttled",
    )


class ErrorResponseSerializer(serializers.Serializer):
    """Every answer that is not a success has this shape."""

    error = ApiErrorSerializer()


def error_response(description: str) -> OpenApiResponse:
    """A response in the error format, for a view to document an error of its own (a 409, a
    503); the errors every operation can meet are added by ``AutoSchema``."""
    return OpenApiResponse(ErrorResponseSerializer, description=description)


class AutoSchema(openapi.AutoSchema):
    """Names each serializer's component after where it is defined, and documents the errors.

    Views declare their own nested ``InputSerializer`` and ``OutputSerializer``. By class name
    alone, every view's ``OutputSerializer`` would become the one component ``Output`` and
    document one view's shape for all of them. The qualified name (``MeApi.OutputSerializer``
    -> ``MeApiOutput``) is unique per view, so no view needs to pick a name by hand.

    The errors that come from the API's plumbing rather than from one view (the request
    guards, authentication, permissions, throttling, paths and pages) are added to every
    operation they can happen to, here, so no view lists them by hand and none is forgotten.
    A view documents only its own errors (``error_response``).
    """

    def get_serializer_name(self, serializer, direction) -> str:
        return type(serializer).__qualname__.replace(".", "")

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        responses = operation["responses"]
        # A view whose exception handler writes another API's shape (ListenBrainz) names it.
        error_serializer = getattr(self.view, "error_response_serializer", ErrorResponseSerializer)
        for status_code, description in self._plumbing_errors(operation).items():
            if str(status_code) not in responses:
                responses[str(status_code)] = self._get_response_for_code(
                    OpenApiResponse(error_serializer, description=description), str(status_code)
                )
        if any(p["in"] == "query" for p in operation.get("parameters", [])) and (
            "414" not in responses
        ):
            # Repeatable parameters let a URL grow past what the HTTP server reads (gunicorn:
            # 4,094 bytes of request line). That server answers before the service does, so
            # the body is its own (an HTML page), not the error format.
            responses["414"] = {
                "description": "The URL is longer than the HTTP server accepts (gunicorn: "
                "4,094 bytes for the method, path and query); that server answers, with a "
                "body of its own."
            }
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def _plumbing_errors(self, operation: dict) -> dict[int, str]:
        """The statuses, with what they mean here, that ``operation`` can answer with besides
        its own."""
        view = self.view
        has_path_parameters = any(p["in"] == "path" for p in operation.get("parameters", []))
        is_page = self.method == "GET" and getattr(view, "pagination_class", None) is not None
        authenticators = view.get_authenticators()
        permissions = view.get_permissions()
        errors = {
            400: "The request is invalid; the message says why: a field's value, a body that "
            "is not JSON or is nested too deep, too many fields, or a NUL character in the "
            "path, a query parameter or a header."
        }
        if authenticators:
            errors[401] = "No token was sent (Authorization: Token <key>), or it is not valid."
        only_staff = not all(isinstance(p, (IsAuthenticated, AllowAny)) for p in permissions)
        needs_csrf = self.method not in SAFE_METHODS and any(
            isinstance(a, SessionAuthentication) for a in authenticators
        )
        forbidden = []
        if only_staff:
            forbidden.append("Only staff may do this.")
        if needs_csrf:
            forbidden.append("A browser session (not a token) sent no CSRF token.")
        if forbidden:
            errors[403] = " ".join(forbidden)
        not_found = []
        if has_path_parameters:
            not_found.append(
                "No such object for this listener, or an id out of range (1 to 2^63 - 1)."
            )
        if is_page:
            not_found.append("No such page.")
        if not_found:
            errors[404] = " ".join(not_found)
        if "requestBody" in operation and self.path not in settings.REQUEST_BODY_LIMITS_BY_PATH:
            # A path with a limit of its own answers with that API's own refusal (a 400).
            errors[413] = "The body is larger than the limit; the message says which."
        if "requestBody" in operation and view.parser_classes:
            # A view without parsers reads its body itself, whatever the Content-Type.
            errors[415] = "The body's Content-Type is not one this operation reads."
        if view.get_throttles():
            errors[429] = "Too many requests: retry after the Retry-After header's seconds."
        return errors


def document_each_route_once(endpoints: list[tuple], **kwargs) -> list[tuple]:
    """Leave out the trailing-slash spelling of a route that is also served without one.

    A few routes answer at both ``…/feedback`` and ``…/feedback/`` (recommender/api_urls.py);
    both in the schema would be two operations with one operationId. The spelling without
    the slash is the documented one.
    """
    routes = {(path, method, callback.cls) for path, _, method, callback in endpoints}
    return [
        (path, regex, method, callback)
        for path, regex, method, callback in endpoints
        if not (path.endswith("/") and (path[:-1], method, callback.cls) in routes)
    ]
