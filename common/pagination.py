"""Paginated lists: one envelope (count, next, previous, results), built one way.

A view that lists sets ``pagination_class`` and answers with ``get_paginated_response``;
drf-spectacular reads the view's ``pagination_class`` to document the envelope and the
``page``/``page_size`` parameters, so the schema shows the list as it is returned.
"""

from __future__ import annotations

from django.db.models import QuerySet
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.views import APIView


class StandardPagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 500


def get_paginated_response(
    *,
    pagination_class: type[PageNumberPagination],
    serializer_class: type[BaseSerializer],
    queryset: QuerySet,
    request: Request,
    view: APIView,
) -> Response:
    paginator = pagination_class()
    page = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(serializer_class(page, many=True).data)
