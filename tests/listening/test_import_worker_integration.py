"""Imports through a real Celery worker process consuming from the broker."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from listening.models import ImportJob, ImportStatus, Play
from tests.worker_process import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_the_worker_imports_an_export_and_then_deletes_the_uploaded_file(
    celery_worker, listener_client, listener, media_root
):
    export = [
        {"endTime": "2024-01-01 10:00", "artistName": "Band", "trackName": "One", "msPlayed": 9000},
        {"endTime": "2024-01-01 10:05", "artistName": "Band", "trackName": "Two", "msPlayed": 9000},
    ]
    response = listener_client.post(
        "/api/v1/imports/",
        {"file": SimpleUploadedFile("history.json", json.dumps(export).encode())},
        format="multipart",
    )
    assert response.status_code == 202
    job_id = response.json()["id"]
    stored = media_root / ImportJob.objects.get(pk=job_id).file.name
    assert stored.is_file()

    wait_for(
        lambda: ImportJob.objects.get(pk=job_id).status in {ImportStatus.DONE, ImportStatus.FAILED},
        timeout=60,
        what="the worker to import the file",
    )
    job = ImportJob.objects.get(pk=job_id)
    assert job.status == ImportStatus.DONE, job.failure_reason
    assert Play.objects.filter(listener=listener).count() == 2
    # IMPORT_FILE_RETENTION's default, on the worker: the file goes once the plays are stored.
    wait_for(lambda: not stored.exists(), timeout=10, what="the uploaded file to be deleted")
    assert not ImportJob.objects.get(pk=job_id).file
