"""parse_json: json.loads with a nesting-depth limit, for every JSON body the service reads."""

from __future__ import annotations

import json

import pytest

from common.parsers import MAX_JSON_DEPTH, parse_json


def nested(levels: int) -> str:
    return "[" * levels + "]" * levels


def test_a_document_is_parsed_as_json_loads_would():
    text = '{"plays": [{"track": 1, "tags": ["a", "b"]}], "note": null}'
    assert parse_json(text) == json.loads(text)


def test_nesting_up_to_the_limit_is_accepted():
    assert parse_json(nested(MAX_JSON_DEPTH)) == json.loads(nested(MAX_JSON_DEPTH))


@pytest.mark.parametrize(
    "text",
    [
        nested(MAX_JSON_DEPTH + 1),  # parses, but is too deep to hand on
        nested(5_000),  # deeper than Python's recursion limit
        "[" * 100_000,  # unclosed: the parser would recurse until a RecursionError
        '{"a": ' * (MAX_JSON_DEPTH + 1) + "1" + "}" * (MAX_JSON_DEPTH + 1),
    ],
    ids=["one-level-too-deep", "5000-levels", "100000-open-brackets", "nested-objects"],
)
def test_deeper_nesting_is_invalid_json_with_the_position_of_the_first_bracket_too_many(text):
    with pytest.raises(json.JSONDecodeError, match=f"nested deeper than {MAX_JSON_DEPTH}") as error:
        parse_json(text)
    assert text[error.value.pos] in "[{"
    assert error.value.pos == MAX_JSON_DEPTH * (1 if text[0] == "[" else len('{"a": '))


def test_brackets_inside_strings_do_not_count():
    text = json.dumps({"track_name": "[" * 1000 + '\\"{' * 1000})
    assert parse_json(text) == json.loads(text)


def test_a_syntax_error_is_reported_as_by_json_loads():
    with pytest.raises(json.JSONDecodeError, match="Expecting value: line 1 column 2"):
        parse_json("[")


def test_nan_is_refused_when_the_caller_asks_for_strict_json():
    def refuse(constant: str):
        raise ValueError(f"{constant} is not JSON")

    with pytest.raises(ValueError, match="NaN is not JSON"):
        parse_json("[NaN]", parse_constant=refuse)
