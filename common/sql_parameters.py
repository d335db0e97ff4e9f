"""Many values sent to PostgreSQL as few query parameters.

Django and psycopg (with client-side binding, Django's default) handle every parameter in
Python; for the thousands of values of one batch that costs more than the query itself.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterable, Sequence
from contextlib import nullcontext
from typing import Any, TypeVar

from django.db import connection, connections, models, router, transaction
from django.db.models import AutoField, JSONField, Value
from django.db.models.constants import OnConflict
from django.db.models.expressions import RawSQL
from django.db.models.sql import InsertQuery

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


def insert_skipping_conflicts(
    model: type[ModelT], objects: Sequence[ModelT], *, key: str
) -> list[ModelT] | None:
    """Insert ``objects`` as ``bulk_create(objects, ignore_conflicts=True)`` does, and return
    those inserted, in their order, with their primary keys set: a row that conflicts is
    skipped, and left out. None where the database cannot return inserted rows (nothing is
    inserted then): read them back instead. The objects must not have primary keys yet.

    ``bulk_create`` sets no primary key when it ignores conflicts: ``RETURNING`` leaves out
    the rows skipped, so the rows returned cannot be matched to the objects by position.
    Here each row returns ``key`` as well, a field whose values (integers or strings) are
    distinct among ``objects``, which says whose row it is. Unlike ``bulk_create``, one
    statement runs outside a transaction (it is atomic by itself): no ``BEGIN`` and
    ``COMMIT`` round trips.

    PostgreSQL: the rows travel as one JSON parameter (``json_populate_recordset``, as mood
    snapshots do in ``recommender.services._store_snapshots``), so the statement's text is
    the same for every batch: psycopg parses a statement of more than 50 parameters in
    Python each time, and quotes each parameter there (a recommendation page: 160, about
    0.8 of 1.3 ms of CPU). Values go as the json module writes them (``json_default``:
    datetimes, UUIDs), floats in their exact text form, and the table's row type gives
    each its column's type. Other databases: Django's own INSERT, with ``RETURNING``.
    """
    using = router.db_for_write(model)
    database = connections[using]
    if not (
        database.features.can_return_rows_from_bulk_insert
        and database.features.supports_ignore_conflicts
    ):
        return None
    if not objects:
        return []
    opts = model._meta
    fields = [
        field
        for field in opts.concrete_fields
        if not field.generated and not isinstance(field, AutoField)
    ]
    by_key: dict[Any, ModelT] = {}
    for obj in objects:
        if obj._is_pk_set():
            raise ValueError(f"{obj!r} already has a primary key")
        obj._prepare_related_fields_for_save(operation_name="bulk_create")
        by_key[getattr(obj, key)] = obj
    if len(by_key) != len(objects):
        raise ValueError(f"the objects' {key} values are not distinct")
    returning = [opts.pk, opts.get_field(key)]
    if database.vendor == "postgresql":
        document = json.dumps(
            [{field.column: field.pre_save(obj, True) for field in fields} for obj in objects],
            default=json_default,
        )
        statements = [(_insert_from_json_sql(model, fields, returning, using), [document])]
    else:
        batch_size = max(database.ops.bulk_batch_size(fields, objects), 1)
        statements = []
        for start in range(0, len(objects), batch_size):
            query = InsertQuery(model, on_conflict=OnConflict.IGNORE)
            query.insert_values(fields, objects[start : start + batch_size])
            compiler = query.get_compiler(using=using)
            compiler.returning_fields = returning
            statements += compiler.as_sql()
    rows = []
    several = len(statements) > 1
    with (
        transaction.atomic(using=using, savepoint=False) if several else nullcontext(),
        database.cursor() as cursor,
    ):
        for sql, params in statements:
            cursor.execute(sql, params)
            rows += cursor.fetchall()
    for pk, key_value in rows:
        obj = by_key[key_value]
        obj.pk = pk
        obj._state.adding = False
        obj._state.db = using
    return [obj for obj in objects if not obj._state.adding]


_insert_from_json_statements: dict[tuple, str] = {}


def _insert_from_json_sql(
    model: type[models.Model], fields: Sequence, returning: Sequence, using: str
) -> str:
    cache_key = (model, tuple(fields), tuple(returning), using)
    statement = _insert_from_json_statements.get(cache_key)
    if statement is None:
        quote = connections[using].ops.quote_name
        table = quote(model._meta.db_table)
        columns = ", ".join(quote(field.column) for field in fields)
        returned = ", ".join(quote(field.column) for field in returning)
        statement = (
            f"INSERT INTO {table} ({columns}) "
            f"SELECT {columns} FROM json_populate_recordset(NULL::{table}, %s) "
            f"ON CONFLICT DO NOTHING RETURNING {returned}"
        )
        _insert_from_json_statements[cache_key] = statement
    return statement


def in_one_parameter(values: Iterable, sql_type: str) -> Iterable | RawSQL:
    """The right-hand side of an ``__in`` lookup: on PostgreSQL, one JSON parameter.

    A play batch looks up 1,000 track ids and 1,000 times, a mood batch the sequences of
    2,400 tracks; as one parameter each, Django prepares and psycopg quotes every one in
    Python (5-15 ms a lookup), and the statement is too long for psycopg's cache of parsed
    queries. ``sql_type`` is the column's type (``bigint``, ``timestamptz``, ...).
    """
    if connection.vendor != "postgresql":
        return values
    document = json.dumps(list(values), default=json_default)
    return RawSQL(f"SELECT value::{sql_type} FROM json_array_elements_text(%s)", [document])


def json_default(value: Any) -> str:
    """``json.dumps``'s ``default`` for values bound for SQL: what the json module cannot
    write itself, as PostgreSQL reads it back."""
    if isinstance(value, dt.datetime | uuid.UUID):
        return value.isoformat() if isinstance(value, dt.datetime) else str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
