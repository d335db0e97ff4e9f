"""Apps depend on each other in one direction only; this keeps it so."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent

# app -> the project apps it may import. Lower layers never import higher ones.
ALLOWED_DEPENDENCIES = {
    "common": set(),
    "users": {"common"},
    "catalogue": {"common"},
    "listening": {"common", "users", "catalogue"},
    "emotion": {"common", "catalogue"},
    "recommender": {"common", "users", "catalogue", "listening", "emotion"},
}


def imported_apps(app: str) -> dict[str, str]:
    """Project apps imported anywhere in ``app`` -> one file that imports it."""
    found = {}
    for path in (REPO_ROOT / app).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top in ALLOWED_DEPENDENCIES and top != app:
                    found.setdefault(top, str(path.relative_to(REPO_ROOT)))
    return found


@pytest.mark.parametrize("app", sorted(ALLOWED_DEPENDENCIES))
def test_app_imports_only_lower_layers(app):
    forbidden = {
        other: where
        for other, where in imported_apps(app).items()
        if other not in ALLOWED_DEPENDENCIES[app]
    }
    assert not forbidden, f"{app} must not import {forbidden}"


def test_feature_extraction_and_models_do_not_need_django():
    for package in ("emotion/features", "emotion/ml"):
        for path in (REPO_ROOT / package).rglob("*.py"):
            tree = ast.parse(path.read_text())
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and node.module:
                    assert not node.module.startswith("django"), path
                if isinstance(node, ast.Import):
                    assert all(not a.name.startswith("django") for a in node.names), path
