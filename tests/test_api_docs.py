"""Swagger UI works without the public internet: every asset comes from this service."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from django.test import Client

ASSET_URL = re.compile(r"<(?:script|link)\b[^>]*?\b(?:src|href)=\"([^\"]+)\"")


@pytest.fixture
def static_client(settings) -> Client:
    # Serve static files from the apps' folders, as runserver does, so no collectstatic is
    # needed. WhiteNoise reads the setting when a client's middleware is first built.
    settings.WHITENOISE_USE_FINDERS = True
    return Client()


@pytest.mark.django_db
def test_swagger_ui_loads_its_scripts_and_styles_from_this_service(static_client, settings):
    page = static_client.get("/api/docs/")
    assert page.status_code == 200
    assets = ASSET_URL.findall(page.content.decode())
    assert any(url.endswith("swagger-ui-bundle.js") for url in assets), assets
    assert any(url.endswith("swagger-ui.css") for url in assets), assets

    for url in assets:
        parts = urlsplit(url)
        assert not parts.scheme and not parts.netloc, f"{url} is loaded from another host"
        assert url.startswith(settings.STATIC_URL), url
        response = static_client.get(url)
        assert response.status_code == 200, url
        assert b"".join(response.streaming_content), f"{url} is empty"
