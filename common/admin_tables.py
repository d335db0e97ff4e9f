"""Readable HTML tables of the JSON the models store, for the admin's read-only fields.

The stock admin prints a JSONField as raw JSON; staff read architectures, training data,
explanations and distributions far more easily as tables. Everything is escaped through
``format_html``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import localtime

EMPTY = "—"


class ViewOnlyAdmin:
    """For a ModelAdmin of rows the application writes (snapshots, recommendations, beat runs,
    journeys): staff read them, but typing one in or editing it would forge history."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


# Charts on change pages: 680 px, the width a read-only field has at 1,280 px with the admin's
# navigation open.
CHART_WIDTH_INCHES = 6.8


def readable_value(value: Any) -> str | SafeString:
    """One JSON value as text; nested objects and lists of objects become nested tables."""
    if value is None or value == "" or value == [] or value == {}:
        return EMPTY
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, Mapping):
        return key_value_table(value)
    if isinstance(value, list | tuple):
        if all(isinstance(item, Mapping) for item in value):
            return rows_table(value)
        return ", ".join(str(readable_value(item)) for item in value)
    return str(value)


def key_value_table(
    data: Mapping[str, Any], *, names: Mapping[str, str] | None = None
) -> SafeString:
    """A two-column table: each key (or its name in ``names``) and its readable value."""
    if not data:
        return mark_safe(EMPTY)
    names = names or {}
    rows = format_html_join(
        "",
        '<tr><th scope="row">{}</th><td>{}</td></tr>',
        (
            (names.get(key, str(key).replace("_", " ")), readable_value(value))
            for key, value in data.items()
        ),
    )
    return format_html('<table class="readable">{}</table>', rows)


def rows_table(
    rows: Sequence[Mapping[str, Any]], *, columns: Sequence[tuple[str, str]] | None = None
) -> SafeString:
    """One row per object; ``columns`` are (key, heading) pairs, by default every key seen."""
    if not rows:
        return mark_safe(EMPTY)
    if columns is None:
        keys = list(dict.fromkeys(key for row in rows for key in row))
        columns = [(key, key.replace("_", " ")) for key in keys]
    header = format_html_join("", "<th>{}</th>", ((heading,) for _, heading in columns))
    body = format_html_join(
        "",
        "<tr>{}</tr>",
        (
            (
                format_html_join(
                    "", "<td>{}</td>", ((readable_value(row.get(key)),) for key, _ in columns)
                ),
            )
            for row in rows
        ),
    )
    return format_html('<table class="readable"><tr>{}</tr>{}</table>', header, body)


def percent(value: float | None) -> str:
    """A probability as a whole percentage (``72 %``), or the empty mark."""
    return EMPTY if value is None else f"{100 * value:.0f} %"


def truncated(text: str, length: int = 32) -> str:
    """``text`` cut to ``length`` characters with an ellipsis, so list columns stay narrow."""
    return text if len(text) <= length else text[: length - 1] + "…"


def short_datetime(value: datetime | None) -> str:
    """``2026-11-23 14:45`` in the current time zone: half the width of the admin's default
    date format, so list columns stay narrow."""
    return EMPTY if value is None else f"{localtime(value):%Y-%m-%d %H:%M}"
