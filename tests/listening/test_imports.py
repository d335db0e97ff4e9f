"""Importing Spotify and ListenBrainz exports: all of a file, or nothing and a clear reason."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from celery.exceptions import Retry
from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import FileSystemStorage, default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from catalogue.services import create_track
from listening import services
from listening.importers import parse_import
from listening.models import ImportJob, ImportStatus, Play
from listening.tasks import run_import_job, sweep_imports
from recommender.settings import env_file_retention
from tests.conftest import client_for
from tests.factories import ListenerFactory

URL = "/api/v1/imports/"
MBID = "e225fb84-dc9a-419e-adcd-9890f59ec432"

SPOTIFY_ACCOUNT_DATA = [
    {"endTime": "2024-01-01 10:00", "artistName": "Band", "trackName": "Known", "msPlayed": 200500},
    {"endTime": "2024-01-01 10:05", "artistName": "Nobody", "trackName": "Rare", "msPlayed": 1000},
    {"endTime": "2024-01-01 10:05", "artistName": "Nobody", "trackName": "Rare", "msPlayed": 1000},
]


def extended(ts: str, track: str | None, artist: str | None, album: str | None, **extra) -> dict:
    return {
        "ts": ts,
        "platform": "android",
        "ms_played": 210000,
        "conn_country": "DE",
        "master_metadata_track_name": track,
        "master_metadata_album_artist_name": artist,
        "master_metadata_album_album_name": album,
        "spotify_track_uri": "spotify:track:4uLU6hMCjMI75M1A2tKUQC" if track else None,
        "episode_name": None,
        "episode_show_name": None,
        "spotify_episode_uri": None,
        "reason_start": "trackdone",
        "reason_end": "trackdone",
        "shuffle": False,
        "skipped": None,
        "offline": False,
        "incognito_mode": False,
        **extra,
    }


SPOTIFY_EXTENDED = [
    extended("2024-02-01T10:00:00Z", "Known (Remastered 2011)", "Band", "Album"),
    extended("2024-02-01T11:00:00Z", "Rare B-Side", "Band", "Singles"),
    extended("2024-02-01T12:00:00Z", None, None, None, episode_name="Episode 1"),
    extended("2999-01-01T00:00:00Z", "From The Future", "Band", "Album"),
]

LISTENBRAINZ_LINES = [
    {
        "listened_at": 1704103200,
        "track_metadata": {
            "track_name": "Whatever",
            "artist_name": "Someone",
            "additional_info": {"recording_mbid": MBID, "submission_client": "Navidrome"},
        },
    },
    {
        "listened_at": 1704106800,
        "user_name": "someone",
        "inserted_at": 1704106801,
        "recording_msid": "0e5d8f30-4b5d-4a0a-8c4b-3e0d6d4f3b2a",
        "track_metadata": {
            "track_name": "Only Here",
            "artist_name": "Elsewhere",
            "release_name": "Far",
            "mbid_mapping": {"recording_mbid": "2f2a5a3c-6bc1-4a8e-9b0a-0c1d2e3f4a5b"},
        },
    },
]


def as_json(entries) -> bytes:
    return json.dumps(entries).encode()


def as_json_lines(entries) -> bytes:
    return "\n".join(json.dumps(entry) for entry in entries).encode() + b"\n"


def upload(client, content: bytes, *, name: str = "export.json", format: str | None = None):
    data = {"file": SimpleUploadedFile(name, content, content_type="application/json")}
    if format is not None:
        data["format"] = format
    return client.post(URL, data, format="multipart")


@pytest.fixture
def run_imports(django_capture_on_commit_callbacks):
    """Run what the upload queues (the import task, in-process) as the request commits."""

    def post(client, content: bytes, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            response = upload(client, content, **kwargs)
        return response

    return post


@pytest.fixture
def known_track(db):
    return create_track(title="Known", artist="Band", album="Album")


def test_a_spotify_account_data_export_is_imported(
    listener_client, listener, known_track, run_imports
):
    response = run_imports(listener_client, as_json(SPOTIFY_ACCOUNT_DATA), format="spotify")
    assert response.status_code == 202
    assert response.json()["status"] == "queued"

    job = listener_client.get(f"{URL}{response.json()['id']}/").json()
    assert job["status"] == "done", job["failure_reason"]
    assert (job["processed"], job["total"]) == (3, 3)
    assert job["summary"] == {
        "accepted": 2,
        "duplicate": 1,
        "unmatched": 1,
        "skipped": 0,
        "rejected": 0,
    }
    matched = Play.objects.get(listener=listener, track=known_track)
    # Spotify records when the stream ended; the play starts ms_played earlier.
    assert matched.played_at == dt.datetime(2024, 1, 1, 9, 56, 39, tzinfo=dt.UTC)
    assert (matched.ms_played, matched.client) == (200500, "Spotify (import)")
    unmatched = Play.objects.get(listener=listener, track__isnull=True)
    assert (unmatched.track_name, unmatched.artist_name) == ("Rare", "Nobody")


def test_an_extended_spotify_history_skips_podcasts_and_rejects_impossible_times(
    listener_client, listener, known_track, run_imports
):
    response = run_imports(listener_client, as_json(SPOTIFY_EXTENDED))
    job = ImportJob.objects.get(pk=response.json()["id"])
    assert job.format == "spotify"  # told from the content
    assert job.status == ImportStatus.DONE
    assert job.summary == {
        "accepted": 2,
        "duplicate": 0,
        "unmatched": 1,
        "skipped": 1,
        "rejected": 1,
    }
    assert Play.objects.get(listener=listener, track=known_track).release_name == "Album"
    assert Play.objects.get(listener=listener, track__isnull=True).release_name == "Singles"


def test_a_listenbrainz_export_is_imported(listener_client, listener, run_imports):
    track = create_track(title="Anything", artist="Anyone", musicbrainz_recording_id=MBID)
    response = run_imports(listener_client, as_json_lines(LISTENBRAINZ_LINES), name="2024-01.jsonl")
    job = ImportJob.objects.get(pk=response.json()["id"])
    assert (job.format, job.status, job.original_name) == ("listenbrainz", "done", "2024-01.jsonl")
    assert job.summary["accepted"] == 2 and job.summary["unmatched"] == 1

    matched = Play.objects.get(listener=listener, track=track)
    assert matched.played_at == dt.datetime(2024, 1, 1, 10, 0, tzinfo=dt.UTC)
    assert matched.client == "Navidrome"
    unmatched = Play.objects.get(listener=listener, track__isnull=True)
    # ListenBrainz's own mapping to MusicBrainz is kept for matching later.
    assert str(unmatched.recording_mbid) == "2f2a5a3c-6bc1-4a8e-9b0a-0c1d2e3f4a5b"


def test_an_older_listenbrainz_export_as_one_json_array_is_imported(
    listener_client, listener, run_imports
):
    response = run_imports(listener_client, as_json(LISTENBRAINZ_LINES))
    job = ImportJob.objects.get(pk=response.json()["id"])
    assert (job.format, job.status, job.summary["accepted"]) == ("listenbrainz", "done", 2)


def test_importing_the_same_file_again_accepts_nothing_new(
    listener_client, listener, known_track, run_imports
):
    first = run_imports(listener_client, as_json(SPOTIFY_EXTENDED)).json()
    second = run_imports(listener_client, as_json(SPOTIFY_EXTENDED)).json()
    summary = ImportJob.objects.get(pk=second["id"]).summary
    assert (summary["accepted"], summary["duplicate"]) == (0, 2)
    assert first["id"] != second["id"]
    assert Play.objects.filter(listener=listener).count() == 2


def good_spotify_entry(minute: int) -> dict:
    return {
        "endTime": f"2024-01-01 10:{minute:02d}",
        "artistName": "Band",
        "trackName": f"Song {minute}",
        "msPlayed": 1000,
    }


@pytest.mark.parametrize(
    ("content", "format", "reason"),
    [
        (b'[{"endTime": "2024-01-01 10:00", ', "spotify", "the file is not valid JSON"),
        (b'{"endTime": "2024-01-01 10:00"}', "spotify", "not a JSON list"),
        (
            as_json([good_spotify_entry(1), {**good_spotify_entry(2), "msPlayed": None}]),
            "spotify",
            "entry 2: msPlayed None is not a number of milliseconds",
        ),
        (
            as_json([good_spotify_entry(1), good_spotify_entry(2), {"when": "today"}]),
            "spotify",
            "entry 3: neither endTime",
        ),
        (
            as_json([good_spotify_entry(1), {**good_spotify_entry(2), "endTime": "1/1/2024"}]),
            "spotify",
            "entry 2: endTime '1/1/2024' is not a time like '2024-01-01 10:00'",
        ),
        (
            as_json_lines(LISTENBRAINZ_LINES) + b'{"listened_at": 1704106800, "track_',
            "listenbrainz",
            "line 3: not valid JSON",
        ),
        (
            as_json_lines([LISTENBRAINZ_LINES[0], {"track_metadata": {}}]),
            "listenbrainz",
            "line 2: listened_at is missing",
        ),
        (
            as_json_lines([LISTENBRAINZ_LINES[0], {"listened_at": 1704106800}]),
            "listenbrainz",
            "line 2: track_metadata is missing",
        ),
        (as_json_lines(LISTENBRAINZ_LINES) + b"\xff\xfe", "listenbrainz", "not UTF-8"),
        (b"[" * 100_000, "spotify", "the file is not valid JSON: nested deeper than 64 levels"),
        (
            as_json_lines(LISTENBRAINZ_LINES) + b"[" * 100_000,
            "listenbrainz",
            "line 3: not valid JSON (nested deeper than 64 levels",
        ),
    ],
    ids=[
        "truncated-json",
        "not-a-list",
        "bad-ms-played",
        "unknown-shape",
        "bad-end-time",
        "bad-json-line",
        "no-listened-at",
        "no-track-metadata",
        "not-utf-8",
        "nested-too-deep",
        "line-nested-too-deep",
    ],
)
def test_a_malformed_file_fails_with_a_reason_and_stores_nothing(
    listener_client, listener, run_imports, content, format, reason
):
    response = run_imports(listener_client, content, format=format)
    job = listener_client.get(f"{URL}{response.json()['id']}/").json()
    assert job["status"] == "failed"
    assert reason in job["failure_reason"]
    assert job["summary"] == {}
    assert not Play.objects.exists()


def test_an_error_while_storing_leaves_nothing_half_imported(
    listener_client, listener, run_imports, settings, monkeypatch
):
    settings.MAX_PLAYS_PER_BATCH = 2
    real_record_plays = services.record_plays
    calls = []

    def fail_on_the_second_batch(**kwargs):
        calls.append(kwargs)
        if len(calls) == 2:
            raise RuntimeError("database went away")
        return real_record_plays(**kwargs)

    monkeypatch.setattr(services, "record_plays", fail_on_the_second_batch)
    content = as_json([good_spotify_entry(minute) for minute in range(5)])
    with pytest.raises(RuntimeError):
        run_imports(listener_client, content, format="spotify")

    job = ImportJob.objects.get(listener=listener)
    assert job.status == ImportStatus.FAILED and "nothing was stored" in job.failure_reason
    assert not Play.objects.exists()


def test_an_import_announces_its_plays_once(
    listener_client, listener, run_imports, plays_recorded_calls, settings
):
    settings.MAX_PLAYS_PER_BATCH = 2
    run_imports(listener_client, as_json([good_spotify_entry(m) for m in range(5)]))
    assert plays_recorded_calls == [{"listener_id": listener.id, "count": 5}]


def test_import_jobs_are_visible_to_their_owner_only(listener_client, listener, run_imports):
    job_id = run_imports(listener_client, as_json(SPOTIFY_ACCOUNT_DATA)).json()["id"]
    other = client_for(ListenerFactory())

    assert other.get(f"{URL}{job_id}/").status_code == 404
    assert other.get(URL).json()["count"] == 0
    assert listener_client.get(f"{URL}{job_id}/").status_code == 200
    assert [job["id"] for job in listener_client.get(URL).json()["results"]] == [job_id]


def test_a_file_in_no_known_format_is_a_400(listener_client, listener):
    response = upload(listener_client, b"endTime,artistName\n2024-01-01,Band\n", name="x.csv")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert "format" in response.json()["error"]["details"]
    assert not ImportJob.objects.exists()


def test_an_empty_file_is_a_400(listener_client, listener):
    response = upload(listener_client, b"", format="spotify")
    assert response.status_code == 400
    assert not ImportJob.objects.exists()


def test_a_file_over_the_import_limit_is_a_413(listener_client, listener, settings):
    settings.IMPORT_MAX_UPLOAD_BYTES = 100
    response = upload(listener_client, as_json(SPOTIFY_ACCOUNT_DATA), format="spotify")
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "payload_too_large" and "limit" in error["message"]
    assert not ImportJob.objects.exists()


def test_parsing_reports_progress_as_it_goes():
    lines = [
        {"listened_at": 1704103200 + i, "track_metadata": {"track_name": "T", "artist_name": "A"}}
        for i in range(2500)
    ]
    progress = []
    parsed = parse_import(
        data=as_json_lines(lines),
        format="listenbrainz",
        on_progress=lambda done, total: progress.append((done, total)),
    )
    assert len(parsed.plays) == 2500
    assert progress == [(1000, 2500), (2000, 2500), (2500, 2500)]


# --- Imports no task will finish, and what becomes of uploaded files ---------------------------


def stored_file_name(job_id: int) -> str:
    return ImportJob.objects.get(pk=job_id).file.name


def test_a_successful_import_deletes_its_file_by_default(
    listener_client, listener, run_imports, media_root
):
    response = run_imports(listener_client, as_json(SPOTIFY_ACCOUNT_DATA), name="history.json")
    job = ImportJob.objects.get(pk=response.json()["id"])

    assert job.status == ImportStatus.DONE
    assert not job.file
    assert not list(media_root.rglob("*.json"))
    # The listener still sees what they imported and how it went.
    shown = listener_client.get(f"{URL}{job.id}/").json()
    assert (shown["file_name"], shown["summary"]["accepted"]) == ("history.json", 2)


def test_a_failed_import_keeps_its_file_by_default(listener_client, listener, run_imports):
    response = run_imports(listener_client, b'{"not": "a list"}', format="spotify")
    job = ImportJob.objects.get(pk=response.json()["id"])

    assert job.status == ImportStatus.FAILED
    assert default_storage.exists(job.file.name)
    assert sweep_imports.delay().get() == {"failed_stalled": 0, "deleted_files": 0}
    assert default_storage.exists(job.file.name)


def test_with_retention_keep_no_file_is_deleted(listener_client, listener, run_imports, settings):
    settings.IMPORT_FILE_RETENTION = "keep"
    response = run_imports(listener_client, as_json(SPOTIFY_ACCOUNT_DATA))
    job = ImportJob.objects.get(pk=response.json()["id"])

    assert job.status == ImportStatus.DONE
    assert default_storage.exists(job.file.name)
    assert sweep_imports.delay().get()["deleted_files"] == 0
    assert default_storage.exists(job.file.name)


def test_with_retention_in_days_the_sweep_deletes_files_of_imports_finished_that_long_ago(
    listener_client, listener, run_imports, settings
):
    settings.IMPORT_FILE_RETENTION = 7
    done_long_ago, failed_long_ago, done_lately = (
        run_imports(listener_client, content, format="spotify").json()["id"]
        for content in (
            as_json([good_spotify_entry(1)]),
            b"not json",
            as_json([good_spotify_entry(2)]),
        )
    )
    eight_days_ago = timezone.now() - dt.timedelta(days=8)
    ImportJob.objects.filter(pk__in=[done_long_ago, failed_long_ago]).update(
        finished_at=eight_days_ago
    )
    names = {job_id: stored_file_name(job_id) for job_id in (done_long_ago, failed_long_ago)}
    assert all(default_storage.exists(name) for name in names.values())

    assert sweep_imports.delay().get()["deleted_files"] == 2

    assert not any(default_storage.exists(name) for name in names.values())
    assert not stored_file_name(done_long_ago) and not stored_file_name(failed_long_ago)
    assert default_storage.exists(stored_file_name(done_lately))


def test_a_file_whose_deletion_failed_is_deleted_by_the_next_sweep(
    listener_client, listener, run_imports, monkeypatch
):
    real_delete = FileSystemStorage.delete

    def storage_down(self, name):
        raise ConnectionError("storage unreachable")

    monkeypatch.setattr(FileSystemStorage, "delete", storage_down)
    response = run_imports(listener_client, as_json(SPOTIFY_ACCOUNT_DATA))
    job = ImportJob.objects.get(pk=response.json()["id"])
    # The import succeeded all the same; only its clean-up waits.
    assert job.status == ImportStatus.DONE
    assert default_storage.exists(job.file.name)

    monkeypatch.setattr(FileSystemStorage, "delete", real_delete)
    assert sweep_imports.delay().get()["deleted_files"] == 1
    assert not default_storage.exists(job.file.name)
    assert not stored_file_name(job.id)


def test_an_import_whose_file_left_storage_fails_with_the_reason(
    listener_client, listener, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = upload(listener_client, as_json(SPOTIFY_ACCOUNT_DATA), format="spotify")
    default_storage.delete(stored_file_name(response.json()["id"]))
    for run in queued:
        run()

    job = listener_client.get(f"{URL}{response.json()['id']}/").json()
    assert job["status"] == "failed"
    assert "no longer in storage" in job["failure_reason"]


def test_an_import_whose_retries_run_out_fails_with_the_reason(
    listener_client, listener, monkeypatch, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        job_id = upload(listener_client, as_json(SPOTIFY_ACCOUNT_DATA), format="spotify").json()[
            "id"
        ]

    def storage_down(self, name, mode="rb"):
        raise ConnectionError("storage unreachable")

    monkeypatch.setattr(FileSystemStorage, "_open", storage_down)
    # In-process, a retry is raised rather than run, so each attempt is applied here.
    with pytest.raises(Retry):
        run_import_job.apply(args=(job_id,), retries=run_import_job.max_retries - 1)
    assert ImportJob.objects.get(pk=job_id).status == ImportStatus.RUNNING

    with pytest.raises(ConnectionError):
        run_import_job.apply(args=(job_id,), retries=run_import_job.max_retries)

    job = ImportJob.objects.get(pk=job_id)
    assert job.status == ImportStatus.FAILED
    assert "unavailable through 6 attempts" in job.failure_reason
    assert "ConnectionError: storage unreachable" in job.failure_reason
    assert not Play.objects.exists()


def test_the_sweep_fails_running_imports_no_task_will_finish(listener, settings):
    now = timezone.now()
    stall = dt.timedelta(minutes=settings.IMPORT_STALL_MINUTES)

    def job(status: str, started_at: dt.datetime | None) -> ImportJob:
        return ImportJob.objects.create(
            listener=listener, format="spotify", file="imports/x.json", status=status,
            started_at=started_at,
        )  # fmt: skip

    abandoned = job(ImportStatus.RUNNING, now - stall - dt.timedelta(minutes=1))
    still_running = job(ImportStatus.RUNNING, now - dt.timedelta(minutes=5))
    waiting = job(ImportStatus.QUEUED, None)

    assert sweep_imports.delay().get()["failed_stalled"] == 1

    abandoned.refresh_from_db()
    assert abandoned.status == ImportStatus.FAILED
    assert abandoned.finished_at is not None
    assert f"for {settings.IMPORT_STALL_MINUTES} minutes after its last attempt started" in (
        abandoned.failure_reason
    )
    assert "Nothing was stored; upload the file again" in abandoned.failure_reason
    assert ImportJob.objects.get(pk=still_running.pk).status == ImportStatus.RUNNING
    assert ImportJob.objects.get(pk=waiting.pk).status == ImportStatus.QUEUED
    # A late retry of the failed job leaves it failed: nothing is imported behind its back.
    assert services.run_import(job=abandoned).status == ImportStatus.FAILED


@pytest.mark.parametrize(
    ("raw", "value"),
    [("", "delete-on-success"), ("keep", "keep"), (" delete-on-success ", "delete-on-success"),
     ("30", 30), ("0", 0)],
)  # fmt: skip
def test_the_file_retention_setting_reads_a_policy_or_days(monkeypatch, raw, value):
    monkeypatch.setenv("IMPORT_FILE_RETENTION", raw)
    assert env_file_retention("IMPORT_FILE_RETENTION", "delete-on-success") == value


@pytest.mark.parametrize("raw", ["forever", "-1", "7d", "1.5"])
def test_an_unknown_file_retention_is_a_configuration_error(monkeypatch, raw):
    monkeypatch.setenv("IMPORT_FILE_RETENTION", raw)
    with pytest.raises(ImproperlyConfigured, match="delete-on-success, keep, or a number of days"):
        env_file_retention("IMPORT_FILE_RETENTION", "delete-on-success")
