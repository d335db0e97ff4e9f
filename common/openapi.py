"""How the OpenAPI schema (drf-spectacular) is generated from the views."""

from __future__ import annotations

from drf_spectacular import openapi


class AutoSchema(openapi.AutoSchema):
    """Names each serializer's component after where it is defined.

    Views declare their own nested ``InputSerializer`` and ``OutputSerializer``. By class name
    alone, every view's ``OutputSerializer`` would become the one component ``Output`` and
    document one view's shape for all of them. The qualified name (``MeApi.OutputSerializer``
    -> ``MeApiOutput``) is unique per view, so no view needs to pick a name by hand.
    """

    def get_serializer_name(self, serializer, direction) -> str:
        return type(serializer).__qualname__.replace(".", "")


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
