"""Plain Django views shared by the APIs."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.urls import Resolver404, resolve, reverse
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt

from common.errors import error_json_response


@csrf_exempt  # API clients send no CSRF token; a 403 page would hide the real answer
def endpoint_not_found(request: HttpRequest, *args, **kwargs) -> HttpResponse:
    """Mounted last under each API's prefix: an unknown path there answers in that API's
    error format (``common.errors``), not with Django's HTML 404 page.

    Being a route itself, this also takes the place of Django's APPEND_SLASH redirect under
    these prefixes, so it does that here: a GET for ``…/plays`` goes on to ``…/plays/``.
    Other methods are not redirected, because clients resend them without their body; their
    404 names the path to use instead.
    """
    path = request.path
    message = f"Not found: there is no endpoint or object at {path}."
    if settings.APPEND_SLASH and not path.endswith("/") and _is_endpoint(f"{request.path_info}/"):
        if request.method in ("GET", "HEAD"):
            return HttpResponsePermanentRedirect(request.get_full_path(force_append_slash=True))
        message = f"There is no endpoint at {path}; send the request to {path}/ instead."
    return error_json_response(
        status_code=404, code="not_found", message=message, path=request.path_info
    )


def _is_endpoint(path: str) -> bool:
    try:
        return resolve(path).func is not endpoint_not_found
    except Resolver404:
        return False


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Django's answer to a request it refuses to read (``handler400``), in the error format.

    Django raises these while parsing, before or inside any view (e.g. a form body or query
    string with more fields than DATA_UPLOAD_MAX_NUMBER_FIELDS); DRF's exception handler never
    sees them, and Django's own answer is an HTML page.
    """
    if isinstance(exception, TooManyFieldsSent):
        code = "too_many_fields"
        message = (
            f"The request has more than {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS} fields (query "
            "parameters and form fields together); send fewer."
        )
    elif isinstance(exception, TooManyFilesSent):
        code = "too_many_files"
        message = f"The request has more than {settings.DATA_UPLOAD_MAX_NUMBER_FILES} files."
    elif isinstance(exception, RequestDataTooBig):
        code = "payload_too_large"
        message = f"The body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes."
    else:
        code, message = "bad_request", "The request is malformed and cannot be read."
    return error_json_response(status_code=400, code=code, message=message, path=request.path_info)


def server_error(request: HttpRequest) -> HttpResponse:
    """Django's answer to an unhandled exception (``handler500``): the API's error format for
    API clients, which cannot read an HTML page; the admin keeps Django's page.

    The exception has already been logged with its traceback by Django; the body says nothing
    about it, as a 500 must not leak internals.
    """
    if request.path.startswith(reverse("admin:index")):
        return defaults.server_error(request)
    return error_json_response(
        status_code=500,
        code="server_error",
        message="The server failed while answering this request; the failure was logged. "
        "Try again later.",
        path=request.path_info,
    )
