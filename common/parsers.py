"""The one way JSON from outside is read: ``json.loads`` with a nesting-depth limit.

Python's parser recurses once per nesting level, so a body of 100,000 ``[`` ends in a
RecursionError (a 500), and a document a few hundred levels deep parses but then breaks code
that walks it recursively. No document this service accepts needs more than a handful of
levels, so anything deeper than ``MAX_JSON_DEPTH`` is refused as invalid JSON, with the
position of the first bracket too many.

Every JSON request body goes through here: the REST API's parser (``DepthLimitedJSONParser``,
the DRF default), the ListenBrainz endpoints and the listening-history imports.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Callable
from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.utils.json import strict_constant

MAX_JSON_DEPTH = 64

# A JSON string (so brackets inside one are not counted) or a bracket.
_STRING_OR_BRACKET = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)


def parse_json(
    text: str,
    *,
    max_depth: int = MAX_JSON_DEPTH,
    parse_constant: Callable[[str], Any] | None = None,
) -> Any:
    """The document in ``text``; ``json.JSONDecodeError`` when it is invalid or too deep.

    ``parse_constant`` is ``json.loads``'s: called for NaN and Infinity, which JSON lacks.
    """
    try:
        document = json.loads(text, parse_constant=parse_constant)
    except RecursionError:
        raise _too_deep(text, max_depth=max_depth) from None
    if _deeper_than(document, max_depth):
        raise _too_deep(text, max_depth=max_depth)
    return document


def _deeper_than(document: Any, max_depth: int) -> bool:
    # Iterative, so checking a deep document cannot itself hit the recursion limit.
    containers = [(document, 1)] if isinstance(document, dict | list) else []
    while containers:
        container, depth = containers.pop()
        if depth > max_depth:
            return True
        children = container.values() if isinstance(container, dict) else container
        containers.extend(
            (child, depth + 1) for child in children if isinstance(child, dict | list)
        )
    return False


def _too_deep(text: str, *, max_depth: int) -> json.JSONDecodeError:
    depth, position = 0, 0
    for token in _STRING_OR_BRACKET.finditer(text):
        bracket = token.group()
        if bracket in "[{":
            depth += 1
            if depth > max_depth:
                position = token.start()
                break
        elif bracket in "]}":
            depth -= 1
    return json.JSONDecodeError(f"nested deeper than {max_depth} levels", text, position)


class DepthLimitedJSONParser(parsers.JSONParser):
    """DRF's JSON parser (same charset handling and strictness), reading through ``parse_json``."""

    def parse(self, stream, media_type=None, parser_context=None) -> Any:
        encoding = parsers.get_encoding(parser_context or {})
        try:
            text = codecs.getreader(encoding)(stream).read()
            return parse_json(text, parse_constant=strict_constant if self.strict else None)
        except ValueError as error:
            raise ParseError(f"JSON parse error - {error}") from error
