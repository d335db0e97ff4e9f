"""``bulk_create`` of rows with JSON columns, fast on PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from django.db import models
from django.db.models import JSONField, Value

ModelT = TypeVar("ModelT", bound=models.Model)


def bulk_create_with_json_parameters(
    model: type[ModelT], objects: Sequence[ModelT], *, json_fields: Sequence[str], **options: Any
) -> list[ModelT]:
    """``model.objects.bulk_create(objects, **options)``, sending each row's ``json_fields``
    as query parameters of their own; the objects keep their plain values.

    Django 5.2 bulk-inserts plain values on PostgreSQL as one array per column (``UNNEST``),
    and psycopg builds an array of JSON documents by escaping every quote of every document
    in Python with a regular expression. An expression among a row's values keeps the insert
    on ``VALUES``, whose parameters libpq escapes in C. Measured on the speed benchmark's
    data (PostgreSQL 15, medians): a recommendation page's ten 1.8 kB explanations
    3.4 → 2.0 ms; a mood batch's 256 snapshots 61–82 → 47 ms. Other databases are unaffected.
    """
    plain = [{name: getattr(obj, name) for name in json_fields} for obj in objects]
    for obj, values in zip(objects, plain, strict=True):
        for name, value in values.items():
            setattr(obj, name, Value(value, output_field=JSONField()))
    try:
        return model.objects.bulk_create(objects, **options)
    finally:
        for obj, values in zip(objects, plain, strict=True):
            for name, value in values.items():
                setattr(obj, name, value)
