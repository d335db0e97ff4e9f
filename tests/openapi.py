"""Check a response against what the OpenAPI schema (``/api/schema/``) documents for it."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from jsonschema import Draft202012Validator


@cache
def openapi_document() -> dict:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(schema))


def documented_response_schema(*, path: str, method: str, status: int) -> dict:
    """The schema of a response as documented, ``path`` as the schema writes it."""
    operation = openapi_document()["paths"][path][method.lower()]
    return operation["responses"][str(status)]["content"]["application/json"]["schema"]


def assert_matches_documented_response(response, *, path: str, method: str) -> None:
    documented = documented_response_schema(path=path, method=method, status=response.status_code)
    # The response's schema, with the document's components beside it for its $refs.
    schema = {
        "allOf": [_as_json_schema(documented)],
        "components": _as_json_schema(openapi_document()["components"]),
    }
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    body = response.json()
    problems = [
        f"{'/'.join(map(str, error.absolute_path)) or '(body)'}: {error.message}"
        for error in validator.iter_errors(body)
    ]
    assert not problems, f"{method.upper()} {path} does not answer as documented: {problems}"


def _as_json_schema(node: Any) -> Any:
    """OpenAPI 3.0's ``nullable: true`` spelt as JSON Schema: the schema, or null."""
    if isinstance(node, list):
        return [_as_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: _as_json_schema(value) for key, value in node.items()}
    if converted.pop("nullable", False) is True:
        return {"anyOf": [converted, {"type": "null"}]}
    return converted
