"""Plain Django views shared by the APIs."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.urls import Resolver404, resolve
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
