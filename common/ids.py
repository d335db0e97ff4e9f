"""Database ids that come from outside, bounded to what the database can hold.

Every table's key is a ``BigAutoField`` (DEFAULT_AUTO_FIELD): 1 … 2**63 − 1. A bigger number
cannot name a row, and handed to a query it fails in the driver (OverflowError on SQLite), a
500. So ids in URLs and request bodies are checked here, where they enter: a URL with an id
out of range matches no route (404) and a body field with one is invalid (400).
"""

from __future__ import annotations

from rest_framework import serializers

MAX_DATABASE_ID = 2**63 - 1


class DatabaseIdConverter:
    """``<id:name>`` in a URL pattern: an int id in the database's range, else no match."""

    regex = "[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if not 1 <= number <= MAX_DATABASE_ID:
            raise ValueError(f"{value} is not a database id")  # the route does not match
        return number

    def to_url(self, value: int) -> str:
        return str(value)


class DatabaseIdField(serializers.IntegerField):
    """An id in a request body: an integer in the database's range."""

    def __init__(self, **kwargs) -> None:
        super().__init__(min_value=1, max_value=MAX_DATABASE_ID, **kwargs)
