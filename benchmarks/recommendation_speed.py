"""Speed of recommendations, play ingestion and batch mood inference on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
    python -m benchmarks.recommendation_speed --sizes 10000,100000 --json OUT.json

For each catalogue size (tracks) it grows one synthetic data set: tracks with varied artists,
albums and a few re-releases (song keys computed as ``Track.save`` would), a done analysis of
about ``--segments`` × 50 float32 LLDs per track, emotion tags from the product's 3-layer
model (preset ``default``, trained for a few epochs on synthetic features: speed does not
depend on accuracy) through the real tagging service, ``--listeners`` listeners with API
tokens, and ``--plays-per-track`` × tracks plays over the past 30 days (70 % in the last 7),
copied in with COPY. Then it measures:

* batch mood inference: ``refresh_recently_active_moods`` over every listener, in batches of
  ``--mood-batch-size``, in this process (listeners/s, with the split between SQL, the model
  and the rest);
* ``GET /api/v1/recommendations/`` on a real gunicorn server (``--workers`` sync workers, as
  in docker/compose.yml) from ``--concurrency`` client threads, each request from another
  listener: *warm* (the listener has a fresh mood snapshot, the normal case) and *cold* (no
  snapshot yet: the mood is inferred inside the request). Every request also stores the
  tracks it serves, by design;
* ``POST /api/v1/plays/`` with batches of 1,000 (and 100) new plays, one listener per batch,
  at concurrency 1 and ``--concurrency`` (plays/s). The server has no broker, so each batch's
  debounced mood refresh runs in-process right after the batch is stored (the first batch of
  a listener per worker process per ~2 min); the ingested plays are deleted afterwards.

It works in its own database (``--database-name``, created on DATABASE_URL's server and
dropped at the end unless ``--keep``), never in DATABASE_URL's own database.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
POSTGRES_SCHEMES = {"postgres", "postgresql", "pgsql"}
DEFAULT_DATABASE_NAME = "bench_recommendations"
LABELS = ("Q1", "Q2", "Q3", "Q4")
N_FEATURES = 50
SYNTHETIC_CLIENT = "bench-synthetic"
INGEST_CLIENT = "bench-ingest"
HOW_TO_SET_DATABASE_URL = (
    "this benchmark needs PostgreSQL: set DATABASE_URL to a server it may create a database "
    "on, e.g.\n\n    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\\n"
    "    .venv/bin/python -m benchmarks.recommendation_speed\n\n"
    f"(it creates and drops its own database, {DEFAULT_DATABASE_NAME!r} by default)"
)


# --- Command line and environment ------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        default="10000,100000,1000000",
        help="catalogue sizes in tracks, ascending",
    )
    parser.add_argument("--plays-per-track", type=int, default=10)
    parser.add_argument(
        "--listeners-per-track",
        type=float,
        default=0.1,
        help="listeners grow with the catalogue: 1,000 at 10k tracks, 100k at 1M (the issue's "
        "shape: about 100 plays per listener over 30 days at every size)",
    )
    parser.add_argument(
        "--listeners", type=int, default=None, help="a fixed number of listeners at every size"
    )
    parser.add_argument("--segments", type=int, default=10, help="mean segments per track")
    parser.add_argument("--concurrency", type=int, default=8, help="HTTP client threads")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn sync workers")
    parser.add_argument("--requests", type=int, default=400, help="warm recommendation requests")
    parser.add_argument(
        "--cold-requests", type=int, default=100, help="requests from listeners with no mood yet"
    )
    parser.add_argument("--limit", type=int, default=10, help="tracks per recommendation page")
    parser.add_argument(
        "--ingest-plays", type=int, default=20000, help="plays per ingestion configuration"
    )
    parser.add_argument("--ingest-batch-sizes", default="1000,100")
    parser.add_argument("--mood-batch-size", type=int, default=256)
    parser.add_argument(
        "--server-torch-threads",
        type=int,
        default=None,
        help="OMP_NUM_THREADS for the gunicorn workers (default: the project's own setting, "
        "PROCESS_THREADS or 1, recommender/process_threads.py)",
    )
    parser.add_argument("--train-epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--database-name", default=DEFAULT_DATABASE_NAME)
    parser.add_argument("--keep", action="store_true", help="keep the database and media folder")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args(argv)
    args.sizes = [int(size) for size in args.sizes.split(",") if size.strip()]
    args.ingest_batch_sizes = [int(b) for b in args.ingest_batch_sizes.split(",") if b.strip()]
    if not args.sizes or args.sizes != sorted(set(args.sizes)) or args.sizes[0] < 1:
        parser.error("--sizes must be positive and ascending, e.g. 10000,100000,1000000")
    if any(not 1 <= b <= 1000 for b in args.ingest_batch_sizes):
        parser.error("--ingest-batch-sizes must be between 1 and 1000 (the API's limit)")
    if (args.listeners is not None and args.listeners < 1) or args.listeners_per_track <= 0:
        parser.error("--listeners and --listeners-per-track must be positive")
    if args.concurrency < 1 or args.workers < 1:
        parser.error("--concurrency and --workers must be at least 1")
    if not args.database_name.startswith("bench_"):
        parser.error("--database-name must start with 'bench_': the database is dropped")
    return args


def database_urls(database_name: str) -> tuple[str, str]:
    """(DATABASE_URL as given, the same server with the benchmark's database), or exit."""
    given = os.environ.get("DATABASE_URL", "")
    parts = urlsplit(given)
    if parts.scheme not in POSTGRES_SCHEMES:
        sys.exit(HOW_TO_SET_DATABASE_URL)
    if parts.path.lstrip("/") == database_name:
        sys.exit(f"DATABASE_URL already names {database_name!r}; point it at another database")
    scheme = "postgresql"  # libpq (psycopg) and dj-database-url both read this spelling
    admin = urlunsplit((scheme, parts.netloc, parts.path or "/postgres", parts.query, ""))
    bench = urlunsplit((scheme, parts.netloc, f"/{database_name}", parts.query, ""))
    return admin, bench


def prepare_environment(bench_url: str, media_root: Path) -> None:
    """Settings for this process and the server, set before Django reads them."""
    # No broker: tasks run in-process after commit; no Redis cache: LocMem per process.
    for name in ("CELERY_BROKER_URL", "REDIS_CACHE_URL"):
        os.environ.pop(name, None)
    os.environ.update(
        DJANGO_SETTINGS_MODULE="recommender.settings",
        DJANGO_ENV="development",  # production would refuse to run without a broker
        DATABASE_URL=bench_url,
        DEBUG="false",  # DEBUG keeps every query in memory and slows everything down
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        THROTTLE_USER_RATE="100000000/min",  # the benchmark must never meet a 429
        THROTTLE_ANON_RATE="100000000/min",
        MEDIA_ROOT=str(media_root),
        # Synthetic 50-dim LLD sequences and an LSTM on them, as before the embeddings: this
        # benchmark measures the database and serving path, not the feature set.
        AUDIO_FEATURE_SET="lld50-v1",
        DATA_DIR=str(media_root.parent),
        LOG_LEVEL="WARNING",
    )


@contextmanager
def own_database(admin_url: str, name: str, *, keep: bool) -> Iterator[None]:
    import psycopg
    from psycopg import sql

    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield
    finally:
        if keep:
            print(f"kept database {name!r}", file=sys.stderr)
        else:
            from django.db import connections

            connections.close_all()
            with psycopg.connect(admin_url, autocommit=True) as admin:
                admin.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )


# --- Synthetic data --------------------------------------------------------------------------


def synthetic_sequences(
    rng: np.random.Generator, count: int, *, mean_segments: int, strength: tuple[float, float]
) -> tuple[list[np.ndarray], np.ndarray]:
    """``count`` float32 LLD sequences and their hidden emotion (index into LABELS).

    Emotion k raises features 5k…5k+4 by a random amount in ``strength``, so the model tags
    tracks across all emotions with varied confidence.
    """
    emotions = rng.integers(0, len(LABELS), size=count)
    low = max(1, mean_segments - 4)
    lengths = rng.integers(low, low + 2 * (mean_segments - low) + 1, size=count)
    owner = np.repeat(np.arange(count), lengths)
    rows = rng.standard_normal((int(lengths.sum()), N_FEATURES), dtype=np.float32)
    shift = rng.uniform(*strength, size=count).astype(np.float32)
    for k in range(len(LABELS)):
        mask = emotions[owner] == k
        rows[mask, 5 * k : 5 * k + 5] += shift[owner[mask], None]
    return np.split(rows, np.cumsum(lengths)[:-1]), emotions


@dataclass
class Dataset:
    """What has been built so far, to grow it to the next size."""

    rng: np.random.Generator
    mean_segments: int
    listener_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    tokens: list[str] = field(default_factory=list)
    listener_weights: np.ndarray = field(default_factory=lambda: np.zeros(0))
    track_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    titles: list[str] = field(default_factory=list)
    artists: list[str] = field(default_factory=list)
    albums: list[str] = field(default_factory=list)
    plays: int = 0

    @property
    def listener_activity(self) -> np.ndarray:
        """Each listener's share of the plays."""
        return self.listener_weights / self.listener_weights.sum()


WORDS = (
    "sun", "rain", "night", "blue", "fire", "river", "gold", "heart", "road", "dream", "city",
    "ocean", "wild", "silent", "summer", "winter", "light", "shadow", "echo", "stone", "glass",
    "paper", "neon", "velvet",
)  # fmt: skip


def listeners_at(size: int, args: argparse.Namespace) -> int:
    if args.listeners is not None:
        return args.listeners
    return max(1, round(size * args.listeners_per_track))


def create_listeners(data: Dataset, count: int) -> float:
    """Add listeners with API tokens until there are ``count``."""
    from django.contrib.auth.hashers import make_password
    from rest_framework.authtoken.models import Token
    from tqdm import tqdm

    from users.models import User

    started = time.perf_counter()
    existing = len(data.listener_ids)
    if count <= existing:
        return 0.0
    unusable = make_password(None)  # what set_unusable_password stores, without the hashing
    users = [
        User(username=f"bench-listener-{i}", email=f"bench-listener-{i}@example.org")
        for i in range(existing, count)
    ]
    for user in users:
        user.password = unusable
    created: list[Any] = []
    for start in tqdm(range(0, len(users), 1000), desc="listeners", unit="batch", leave=False):
        created += User.objects.bulk_create(users[start : start + 1000])
    tokens = [Token(key=Token.generate_key(), user=user) for user in created]
    Token.objects.bulk_create(tokens, batch_size=1000)
    new_ids = np.array([user.pk for user in created], dtype=np.int64)
    data.listener_ids = np.concatenate([data.listener_ids, new_ids])
    data.tokens += [token.key for token in tokens]
    # Some listeners play far more than others (log-normal activity).
    weights = data.rng.lognormal(0.0, 1.0, size=len(created))
    data.listener_weights = np.concatenate([data.listener_weights, weights])
    return time.perf_counter() - started


def _copy_escape(value: str) -> str:
    return (
        value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    )


def copy_rows(cursor, model, values: dict[str, Sequence[str]], *, now_text: str) -> int:
    """COPY rows into ``model``'s table: ``values`` maps columns to their text, one per row;
    other columns get ``now_text`` (auto_now / auto_now_add) or the field's default."""
    fields = [f for f in model._meta.concrete_fields if f.column in values or not f.primary_key]
    columns = [f.column for f in fields]
    count = len(next(iter(values.values())))
    column_texts = []
    for f in fields:
        if f.column in values:
            column_texts.append(values[f.column])
            continue
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            text = now_text
        else:
            default = f.get_default()
            text = "\\N" if default is None else _copy_escape(str(default))
        column_texts.append([text] * count)
    text = "\n".join("\t".join(row) for row in zip(*column_texts, strict=True))
    sql = f"COPY {model._meta.db_table} ({', '.join(columns)}) FROM STDIN"
    with cursor.cursor.copy(sql) as copy:
        copy.write(text + "\n")
    return count


def reserve_ids(cursor, model, count: int) -> list[int]:
    """``count`` ids from the table's own sequence, for rows written by COPY."""
    table, pk = model._meta.db_table, model._meta.pk.column
    cursor.execute(
        "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
        [table, pk, count],
    )
    return [row[0] for row in cursor.fetchall()]


def grow_catalogue(data: Dataset, size: int, *, chunk: int = 2000) -> tuple[int, float]:
    """Add tracks (with done analyses) up to ``size``, written by COPY; returns (added,
    seconds)."""
    from django.conf import settings
    from django.db import connection, transaction
    from django.utils import timezone
    from tqdm import tqdm

    from catalogue.dedup import song_key
    from catalogue.models import Track
    from emotion.features import LLD_FEATURE_SET_VERSION
    from emotion.models import AnalysisStatus, TrackAnalysis

    first, rng = len(data.track_ids), data.rng
    added = size - first
    if added <= 0:
        return 0, 0.0
    segment_seconds = float(settings.AUDIO_SEGMENT_SECONDS)
    started = time.perf_counter()
    new_ids: list[int] = []
    progress = tqdm(total=added, desc="tracks + analyses (COPY)", unit="track", leave=False)
    for start in range(first, size, chunk):
        stop = min(size, start + chunk)
        sequences, _ = synthetic_sequences(
            rng, stop - start, mean_segments=data.mean_segments, strength=(0.3, 3.0)
        )
        tracks = []
        for index, sequence in zip(range(start, stop), sequences, strict=True):
            if index > 50 and rng.random() < 0.02:
                # A re-release of an earlier song: the same song key, another track.
                original = int(rng.integers(0, index))
                title = f"{data.titles[original]} (Remastered {rng.integers(1990, 2025)})"
                artist, album = data.artists[original], data.albums[original]
            else:
                artist_number = int(rng.integers(0, max(10, size // 12)))
                first_word, second_word = WORDS[index % len(WORDS)], WORDS[index // 7 % len(WORDS)]
                title = f"{first_word.title()} {second_word} {index}"
                artist = f"Artist {artist_number}"
                album = f"Album {artist_number}-{rng.integers(0, 4)}"
            data.titles.append(title)
            data.artists.append(artist)
            data.albums.append(album)
            tracks.append(
                Track(
                    title=title,
                    artist=artist,
                    album=album,
                    song_key=song_key(title=title, artist=artist, album=album),
                    duration_ms=int(len(sequence) * segment_seconds * 1000),
                )
            )
        now_text = timezone.now().isoformat()
        with transaction.atomic(), connection.cursor() as cursor:
            ids = reserve_ids(cursor, Track, len(tracks))
            copy_rows(
                cursor,
                Track,
                {
                    "id": [str(i) for i in ids],
                    "title": [_copy_escape(t.title) for t in tracks],
                    "artist": [_copy_escape(t.artist) for t in tracks],
                    "album": [_copy_escape(t.album) for t in tracks],
                    "song_key": [_copy_escape(t.song_key) for t in tracks],
                    "duration_ms": [str(t.duration_ms) for t in tracks],
                },
                now_text=now_text,
            )
            copy_rows(
                cursor,
                TrackAnalysis,
                {
                    "track_id": [str(i) for i in ids],
                    "status": [str(AnalysisStatus.DONE)] * len(ids),
                    "feature_set_version": [LLD_FEATURE_SET_VERSION] * len(ids),
                    "segment_seconds": [str(segment_seconds)] * len(ids),
                    "n_segments": [str(len(sequence)) for sequence in sequences],
                    # bytea in COPY's text format: \x and hex, the backslash escaped.
                    "features": [
                        "\\\\x" + np.ascontiguousarray(sequence, dtype=np.float32).tobytes().hex()
                        for sequence in sequences
                    ],
                    "audio_seconds": [
                        str(len(sequence) * segment_seconds) for sequence in sequences
                    ],
                    "extraction_cpu_seconds": ["0.05"] * len(ids),
                    "requested_at": [now_text] * len(ids),
                    "started_at": [now_text] * len(ids),
                    "finished_at": [now_text] * len(ids),
                },
                now_text=now_text,
            )
        for track, track_id in zip(tracks, ids, strict=True):
            track.pk = track_id
        new_ids += [track.pk for track in tracks]
        progress.update(len(tracks))
    progress.close()
    data.track_ids = np.concatenate([data.track_ids, np.array(new_ids, dtype=np.int64)])
    return added, time.perf_counter() - started


def tag_new_tracks(version, track_ids: Sequence[int]) -> tuple[float, Counter]:
    """Tag tracks through the real service, in the inference queue's batch size."""
    from django.conf import settings
    from django.db.models import Count
    from tqdm import tqdm

    from emotion.models import TrackEmotion
    from emotion.services.tagging import tag_tracks_with_model

    batch = settings.MOOD_TAGGING_BATCH_SIZE
    started = time.perf_counter()
    for start in tqdm(range(0, len(track_ids), batch), desc="tagging", unit="batch", leave=False):
        tag_tracks_with_model(version=version, track_ids=list(track_ids[start : start + batch]))
    seconds = time.perf_counter() - started
    labels = Counter(
        dict(TrackEmotion.objects.order_by().values_list("label").annotate(n=Count("track")))
    )
    return seconds, labels


def add_plays(data: Dataset, total: int, *, chunk: int = 100_000) -> tuple[int, float]:
    """COPY plays until there are ``total``: over listeners by activity, over tracks by a
    long-tailed popularity plus each listener's favourites, over the past 30 days."""
    from django.db import connection, transaction
    from django.utils import timezone
    from tqdm import tqdm

    from listening.models import Play

    wanted = total - data.plays
    if wanted <= 0:
        return 0, 0.0
    rng = data.rng
    n_tracks, n_listeners = len(data.track_ids), len(data.listener_ids)
    popularity = 1.0 / (np.arange(n_tracks) + 10.0) ** 0.9
    popularity /= popularity.sum()
    popular_order = rng.permutation(n_tracks)
    favourites = rng.integers(0, n_tracks, size=(n_listeners, 40))
    activity = data.listener_activity

    now = timezone.now()
    now_us = np.datetime64(now.replace(tzinfo=None), "us")

    started = time.perf_counter()
    written = 0
    progress = tqdm(total=wanted, desc="plays (COPY)", unit="play", unit_scale=True, leave=False)
    with transaction.atomic(), connection.cursor() as cursor:
        while written < wanted:
            n = min(chunk, wanted - written)
            listeners = rng.choice(n_listeners, size=n, p=activity)
            from_favourites = rng.random(n) < 0.5
            tracks = popular_order[rng.choice(n_tracks, size=n, p=popularity)]
            tracks[from_favourites] = favourites[
                listeners[from_favourites], rng.integers(0, 40, size=int(from_favourites.sum()))
            ]
            recent = rng.random(n) < 0.7
            age_us = np.where(
                recent,
                rng.uniform(60e6, 7 * 86400e6, size=n),
                rng.uniform(7 * 86400e6, 30 * 86400e6, size=n),
            ).astype(np.int64)
            played = now_us - age_us.astype("timedelta64[us]")
            received = played + rng.integers(1_000_000, 600_000_000, size=n).astype(
                "timedelta64[us]"
            )
            received = np.minimum(received, now_us)
            # (listener, track, played_at) is unique: drop the (rare) repeats.
            _, keep = np.unique(
                np.stack([listeners, tracks, age_us], axis=1), axis=0, return_index=True
            )
            keep.sort()
            values = {
                "listener_id": data.listener_ids[listeners[keep]].astype(str),
                "track_id": data.track_ids[tracks[keep]].astype(str),
                "played_at": np.char.add(np.datetime_as_string(played[keep], unit="us"), "+00"),
                "received_at": np.char.add(np.datetime_as_string(received[keep], unit="us"), "+00"),
                "ms_played": rng.integers(30_000, 240_000, size=len(keep)).astype(str),
                "client": np.full(len(keep), SYNTHETIC_CLIENT),
            }
            copy_rows(
                cursor, Play, {k: v.tolist() for k, v in values.items()}, now_text=now.isoformat()
            )
            written += len(keep)
            progress.update(len(keep))
    progress.close()
    data.plays += written
    return written, time.perf_counter() - started


def vacuum_analyze() -> float:
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")
    return time.perf_counter() - started


def train_and_activate_model(*, epochs: int, seed: int, mean_segments: int):
    """The seed's LSTM on the LLDs, trained briefly on synthetic features."""
    from django.conf import settings

    from emotion.features import LLD_FEATURE_SET_VERSION
    from emotion.ml import PRESETS, train_mood_model
    from emotion.services.registry import activate_model_version, register_model_version

    rng = np.random.default_rng(seed + 1)
    sequences, emotions = synthetic_sequences(
        rng, 400, mean_segments=mean_segments, strength=(2.5, 3.5)
    )
    config = PRESETS["seed-lstm"].with_overrides(max_epochs=epochs, patience=epochs)
    started = time.perf_counter()
    model = train_mood_model(
        sequences,
        [LABELS[k] for k in emotions],
        preset=config,
        seed=seed,
        label_order=LABELS,
        feature_set_version=LLD_FEATURE_SET_VERSION,
        segment_seconds=float(settings.AUDIO_SEGMENT_SECONDS),
        trained_on={"source": "benchmarks.recommendation_speed synthetic features"},
    )
    version = register_model_version(model=model)
    activate_model_version(version=version)  # nothing to tag yet: the catalogue is empty
    version.refresh_from_db()
    return version, time.perf_counter() - started, model.model_config.to_dict()


# --- Measuring in this process ---------------------------------------------------------------


@contextmanager
def sql_timer() -> Iterator[dict[str, float]]:
    """Wall time spent in SQL statements (execute + fetch of the result) and their count."""
    from django.db import connection

    totals = {"seconds": 0.0, "queries": 0}

    def wrapper(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            totals["seconds"] += time.perf_counter() - started
            totals["queries"] += 1

    with connection.execute_wrapper(wrapper):
        yield totals


def measure_batch_inference(*, listeners: int, batch_size: int, version) -> dict[str, Any]:
    """``refresh_recently_active_moods`` over every listener, as the beat task runs it."""
    from unittest import mock

    from django.utils import timezone
    from tqdm import tqdm

    from emotion.ml import TrainedMoodModel
    from emotion.selectors import load_mood_model
    from recommender import services
    from users.models import User

    load_mood_model(version=version)  # a worker loads it once per process
    real_infer = services.infer_listener_moods
    real_predict = TrainedMoodModel.predict_proba
    model_seconds = [0.0]
    batch_seconds: list[float] = []
    bases: Counter = Counter()
    progress = tqdm(total=listeners, desc="batch mood inference", unit="listener", leave=False)

    def infer(*, listeners, now=None):
        started = time.perf_counter()
        snapshots = real_infer(listeners=listeners, now=now)
        batch_seconds.append(time.perf_counter() - started)
        bases.update(snapshot.basis for snapshot in snapshots)
        progress.update(len(listeners))
        return snapshots

    def predict(self, sequences, **kwargs):
        started = time.perf_counter()
        try:
            return real_predict(self, sequences, **kwargs)
        finally:
            model_seconds[0] += time.perf_counter() - started

    since = timezone.now() - dt.timedelta(days=31)  # every listener with plays
    with (
        mock.patch.object(services, "infer_listener_moods", infer),
        mock.patch.object(TrainedMoodModel, "predict_proba", predict),
        sql_timer() as sql,
    ):
        started = time.perf_counter()
        count = services.refresh_recently_active_moods(active_since=since, batch_size=batch_size)
        seconds = time.perf_counter() - started
    progress.close()
    # Listeners with no plays in the window get no snapshot from the batch; give them their
    # cold-start one (untimed), so every listener of the warm HTTP run has a mood already.
    without = User.objects.filter(mood_snapshots__isnull=True)
    if without.exists():
        services.infer_listener_moods(listeners=list(without))
    return {
        "listeners": count,
        "batch_size": batch_size,
        "seconds": seconds,
        "listeners_per_second": count / seconds if seconds else None,
        "sql_seconds": sql["seconds"],
        "sql_queries": sql["queries"],
        "model_seconds": model_seconds[0],
        "other_seconds": seconds - sql["seconds"] - model_seconds[0],
        "outside_batches_seconds": seconds - sum(batch_seconds),
        "batch_seconds_median": statistics.median(batch_seconds) if batch_seconds else None,
        "snapshot_bases": dict(bases),
    }


def explain_analyze(sql: str, params: Sequence[Any]) -> dict[str, Any]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql, params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    root = plan[0]
    nodes: list[str] = []

    def walk(node: dict) -> None:
        name = node["Node Type"]
        if "Relation Name" in node:
            name += f" on {node['Relation Name']}"
        if "Index Name" in node:
            name += f" using {node['Index Name']}"
        nodes.append(name)
        for child in node.get("Plans", []):
            walk(child)

    walk(root["Plan"])
    # Pages touched (cache hits and reads, the root's totals include its children's): what
    # shows whether a query reads only the rows it needs as the tables grow.
    buffers = root["Plan"].get("Shared Hit Blocks", 0) + root["Plan"].get("Shared Read Blocks", 0)
    return {
        "ms": root["Execution Time"],
        "planning_ms": root.get("Planning Time"),
        "buffers": buffers,
        "nodes": nodes,
    }


def explain_request_queries(listener_id: int, *, limit: int) -> list[dict[str, Any]]:
    """EXPLAIN ANALYZE every SELECT one warm recommendation request runs (then rolled back)."""
    from django.db import connection, transaction

    from recommender.services import recommend_tracks
    from users.models import User

    captured: list[tuple[str, Sequence[Any]]] = []

    def capture(execute, sql, params, many, context):
        if sql.lstrip().upper().startswith("SELECT"):
            captured.append((sql, params))
        return execute(sql, params, many, context)

    listener = User.objects.get(pk=listener_id)
    with transaction.atomic():
        with connection.execute_wrapper(capture):
            recommend_tracks(listener=listener, limit=limit)
        plans = [
            {"sql": " ".join(sql.split())[:200], **explain_analyze(sql, params)}
            for sql, params in captured
        ]
        transaction.set_rollback(True)
    return sorted(plans, key=lambda plan: -plan["ms"])


def explain_mood_selection(listener_ids: Sequence[int]) -> dict[str, Any]:
    """The batch mood inference's one query for a batch's top tracks of the week."""
    from django.conf import settings
    from django.utils import timezone

    from listening.selectors import most_played_tracks_of_listeners

    now = timezone.now()
    captured: list[tuple[str, Sequence[Any]]] = []

    def capture(execute, sql, params, many, context):
        captured.append((sql, params))
        return execute(sql, params, many, context)

    from django.db import connection

    with connection.execute_wrapper(capture):
        most_played_tracks_of_listeners(
            listener_ids=listener_ids,
            since=now - dt.timedelta(days=settings.MOOD_WINDOW_DAYS),
            until=now,
            limit=settings.MOOD_TOP_K,
            own_choices_only=settings.MOOD_IGNORES_RECOMMENDED_PLAYS,
        )
    ((sql, params),) = captured  # one query for the whole batch
    return explain_analyze(sql, params)


def explain_play_history(listener_id: int) -> dict[str, Any]:
    """The first page of a listener's history (GET /api/v1/plays/), by listener alone."""
    from listening.selectors import list_plays
    from users.models import User

    page = list_plays(listener=User.objects.get(pk=listener_id))[:50]
    sql, params = page.query.sql_with_params()
    return explain_analyze(sql, params)


def explain_popularity_of_often_played(*, tracks: int) -> dict[str, Any]:
    """Ranking's popularity count for a page's candidates when they are the most played
    tracks (the worst case: a request's own candidates are chosen by emotion, not by plays)."""
    from django.conf import settings
    from django.db.models import Count
    from django.utils import timezone

    from listening.models import Play
    from recommender.selectors import track_play_counts

    most_played = (
        Play.objects.filter(track__isnull=False)
        .values("track_id")
        .annotate(plays=Count("*"))
        .order_by("-plays")
        .values_list("track_id", flat=True)[:tracks]
    )
    since = timezone.now() - dt.timedelta(days=settings.RECOMMENDATION_POPULARITY_DAYS)
    captured: list[tuple[str, Sequence[Any]]] = []

    def capture(execute, sql, params, many, context):
        captured.append((sql, params))
        return execute(sql, params, many, context)

    from django.db import connection

    track_ids = list(most_played)
    with connection.execute_wrapper(capture):
        track_play_counts(track_ids=track_ids, since=since)
    ((sql, params),) = captured
    return explain_analyze(sql, params)


def explain_active_listeners(minutes: float) -> dict[str, Any]:
    from django.utils import timezone

    from recommender.selectors import listeners_active_since

    queryset = listeners_active_since(since=timezone.now() - dt.timedelta(minutes=minutes))
    sql, params = queryset.query.sql_with_params()
    return explain_analyze(sql, params)


# --- Measuring over HTTP ---------------------------------------------------------------------


class CpuAccount:
    """CPU used by other programs on the machine while a block runs (approximate).

    System-wide busy CPU time minus that of this process, its children (gunicorn) and the
    PostgreSQL backends serving the benchmark's database. Short-lived connections of ours
    that end within the block count as others', so this over-estimates a little.
    """

    def __init__(self, database_name: str) -> None:
        self.database_name = database_name
        self.other_cores: float | None = None

    def _busy(self) -> tuple[float, float]:
        import psutil

        times = psutil.cpu_times()
        total = sum(times) - times.idle - getattr(times, "iowait", 0.0)
        own = 0.0
        me = psutil.Process()
        processes = [me, *me.children(recursive=True)]
        for process in psutil.process_iter(["name", "cmdline"]):
            cmdline = " ".join(process.info.get("cmdline") or [])
            if cmdline.startswith("postgres:") and f" {self.database_name} " in cmdline:
                processes.append(process)
        for process in processes:
            try:
                cpu = process.cpu_times()
                own += cpu.user + cpu.system
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                pass
        return total, own

    def __enter__(self) -> CpuAccount:
        self._started = time.monotonic()
        self._total, self._own = self._busy()
        return self

    def __exit__(self, *exc_info) -> None:
        total, own = self._busy()
        seconds = time.monotonic() - self._started
        if seconds > 0:
            self.other_cores = max(0.0, (total - self._total) - (own - self._own)) / seconds


class Server:
    """gunicorn serving the project on a free local port, with this process's environment."""

    def __init__(self, *, workers: int, log_path: Path, torch_threads: int | None) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        command = [
            sys.executable, "-m", "gunicorn", "recommender.wsgi:application",
            "--workers", str(workers), "--bind", f"127.0.0.1:{self.port}",
            "--timeout", "300", "--graceful-timeout", "10", "--log-level", "warning",
        ]  # fmt: skip
        env = dict(os.environ)
        if torch_threads is not None:
            env["OMP_NUM_THREADS"] = str(torch_threads)
        with log_path.open("ab") as log:
            self.process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=log, stderr=log)

    def wait_until_ready(self, timeout: float = 120) -> float:
        import requests

        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{self.log_path.read_text()[-4000:]}")
            try:
                if requests.get(f"{self.base_url}/healthz", timeout=2).status_code == 200:
                    return time.monotonic() - started
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer in {timeout} s; see {self.log_path}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@dataclass
class Job:
    method: str
    path: str
    token: str
    body: bytes | None = None


@dataclass
class RunResult:
    latencies: list[float]
    seconds: float
    errors: int
    statuses: Counter
    error_samples: list[str]
    bodies: list[Any]


def run_jobs(base_url: str, jobs: Sequence[Job], *, concurrency: int, desc: str) -> RunResult:
    """Send every job from ``concurrency`` threads (a keep-alive session each); time each."""
    import requests
    from tqdm import tqdm

    local = threading.local()

    def send(job: Job) -> tuple[float, int, Any, str]:
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
        headers = {"Authorization": f"Token {job.token}"}
        if job.body is not None:
            headers["Content-Type"] = "application/json"
        started = time.perf_counter()
        try:
            response = session.request(
                job.method, base_url + job.path, data=job.body, headers=headers, timeout=300
            )
            elapsed = time.perf_counter() - started
        except requests.RequestException as error:
            return time.perf_counter() - started, 0, None, repr(error)
        try:
            body = response.json()
        except ValueError:
            body = None
        problem = "" if response.status_code == 200 else response.text[:300]
        return elapsed, response.status_code, body, problem

    latencies, bodies, samples, statuses = [], [], [], Counter()
    progress = tqdm(total=len(jobs), desc=desc, unit="req", leave=False)
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        for future in as_completed([pool.submit(send, job) for job in jobs]):
            elapsed, status, body, problem = future.result()
            latencies.append(elapsed)
            statuses[status] += 1
            if status == 200:
                bodies.append(body)
            elif len(samples) < 5:
                samples.append(f"{status}: {problem}")
            progress.update()
    seconds = time.perf_counter() - started
    progress.close()
    errors = sum(n for status, n in statuses.items() if status != 200)
    return RunResult(latencies, seconds, errors, statuses, samples, bodies)


def latency_summary(result: RunResult) -> dict[str, Any]:
    ms = np.array(result.latencies) * 1000
    return {
        "requests": len(result.latencies),
        "errors": result.errors,
        "statuses": {str(k): v for k, v in sorted(result.statuses.items())},
        "error_samples": result.error_samples,
        "seconds": result.seconds,
        "throughput_per_second": len(ms) / result.seconds if result.seconds else None,
        "p50_ms": float(np.percentile(ms, 50)) if ms.size else None,
        "p95_ms": float(np.percentile(ms, 95)) if ms.size else None,
        "p99_ms": float(np.percentile(ms, 99)) if ms.size else None,
        "mean_ms": float(ms.mean()) if ms.size else None,
        "max_ms": float(ms.max()) if ms.size else None,
    }


class ListenerPicker:
    """Hands out listeners in turn, so each request comes from another listener."""

    def __init__(self, count: int, *, reserved: int) -> None:
        self.count, self.reserved, self.next = count, reserved, reserved

    def take(self, n: int) -> list[int]:
        """Indices of the next ``n`` listeners (past the reserved ones), wrapping around."""
        span = self.count - self.reserved
        picked = [self.reserved + (self.next - self.reserved + i) % span for i in range(n)]
        self.next = self.reserved + (self.next - self.reserved + n) % span
        return picked


def forget_moods(data: Dataset, indices: Sequence[int]) -> None:
    from recommender.models import MoodSnapshot

    MoodSnapshot.objects.filter(listener_id__in=data.listener_ids[list(indices)].tolist()).delete()


def recommendation_jobs(data: Dataset, indices: Sequence[int], *, limit: int) -> list[Job]:
    path = f"/api/v1/recommendations/?limit={limit}"
    return [Job("GET", path, data.tokens[i]) for i in indices]


def warm_up_server(server: Server, data: Dataset, *, workers: int, limit: int) -> None:
    """Pay each worker's first-request costs (imports, model load) before measuring."""
    warm_up = list(range(min(len(data.tokens), 4 * workers)))
    forget_moods(data, warm_up)  # so the warm-up also loads the model in the workers
    jobs = recommendation_jobs(data, warm_up, limit=limit)
    run_jobs(server.base_url, jobs, concurrency=2 * workers, desc="warm-up")


def measure_recommendations(
    server: Server, data: Dataset, picker: ListenerPicker, args: argparse.Namespace
) -> dict[str, Any]:
    from recommender.models import MoodSnapshot

    figures: dict[str, Any] = {}
    runs = (
        # One client: the latency of a request on an otherwise idle server.
        ("warm_1_client", max(1, args.requests // 4), 1),
        ("warm", args.requests, args.concurrency),
        ("cold_1_client", max(1, args.cold_requests // 4), 1),
        ("cold", args.cold_requests, args.concurrency),
    )
    for kind, count, concurrency in runs:
        if count <= 0:
            continue
        indices = picker.take(count)
        if kind.startswith("cold"):
            forget_moods(data, indices)
        else:
            ids = data.listener_ids[indices].tolist()
            with_snapshot = (
                MoodSnapshot.objects.filter(listener_id__in=ids)
                .values("listener_id")
                .distinct()
                .count()
            )
            assert with_snapshot == len(set(ids)), "warm listeners must have a mood snapshot"
        result = run_jobs(
            server.base_url,
            recommendation_jobs(data, indices, limit=args.limit),
            concurrency=concurrency,
            desc=f"recommendations ({kind})",
        )
        summary = {"concurrency": concurrency, **latency_summary(result)}
        served = [len(body.get("results", [])) for body in result.bodies if body]
        summary["mean_tracks_served"] = statistics.fmean(served) if served else 0.0
        summary["mood_bases"] = dict(
            Counter(body["mood"]["basis"] for body in result.bodies if body and body.get("mood"))
        )
        figures[kind] = summary
    return figures


def ingest_jobs(data: Dataset, indices: Sequence[int], *, batch: int) -> list[Job]:
    """One batch of ``batch`` new plays per listener, over the past 6 days, JSON ready."""
    rng = data.rng
    now = dt.datetime.now(dt.UTC)
    jobs = []
    for index in indices:
        tracks = data.track_ids[rng.integers(0, len(data.track_ids), size=batch)]
        ages = rng.uniform(120, 6 * 86400, size=batch)
        plays = [
            {
                "track": int(track),
                "played_at": (now - dt.timedelta(seconds=float(age))).isoformat(),
                "ms_played": 180_000,
                "client": INGEST_CLIENT,
            }
            for track, age in zip(tracks, ages, strict=True)
        ]
        body = json.dumps({"plays": plays}).encode()
        jobs.append(Job("POST", "/api/v1/plays/", data.tokens[index], body))
    return jobs


def measure_ingestion(
    server: Server, data: Dataset, picker: ListenerPicker, args: argparse.Namespace
) -> list[dict[str, Any]]:
    from django.db import connection

    figures = []
    for batch in args.ingest_batch_sizes:
        for concurrency in sorted({1, args.concurrency}):
            n_batches = max(1, args.ingest_plays // batch)
            jobs = ingest_jobs(data, picker.take(n_batches), batch=batch)
            result = run_jobs(
                server.base_url,
                jobs,
                concurrency=concurrency,
                desc=f"plays: {batch}/batch, concurrency {concurrency}",
            )
            summary = latency_summary(result)
            accepted = sum(body.get("accepted", 0) for body in result.bodies if body)
            duplicates = sum(body.get("duplicate", 0) for body in result.bodies if body)
            rejected = sum(body.get("rejected", 0) for body in result.bodies if body)
            figures.append(
                {
                    "batch": batch,
                    "concurrency": concurrency,
                    "plays_sent": batch * len(jobs),
                    "accepted": accepted,
                    "duplicate": duplicates,
                    "rejected": rejected,
                    "plays_per_second": accepted / result.seconds if result.seconds else None,
                    **summary,
                }
            )
    with connection.cursor() as cursor:  # back to exactly plays-per-track × tracks
        cursor.execute("DELETE FROM listening_play WHERE client = %s", [INGEST_CLIENT])
    return figures


# --- Reporting -------------------------------------------------------------------------------


def machine_info() -> dict[str, Any]:
    import psutil
    import torch
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server_version = cursor.fetchone()[0]
        settings_ = {}
        for name in ("shared_buffers", "work_mem", "max_connections", "synchronous_commit"):
            cursor.execute(f"SHOW {name}")
            settings_[name] = cursor.fetchone()[0]
    cpu_model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass

    def git(*command: str) -> str:
        try:
            return subprocess.run(
                ["git", *command], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    return {
        "git_commit": git("rev-parse", "HEAD"),
        "git_uncommitted_changes": bool(git("status", "--porcelain")),
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu_model,
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "postgresql": server_version,
        "postgresql_settings": settings_,
    }


def _n(value: float | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def print_size(report: dict[str, Any], args: argparse.Namespace) -> None:
    build, mood = report["build"], report["batch_mood_inference"]
    print(
        f"\n== {report['tracks']:,} tracks, {report['plays']:,} plays, "
        f"{report['listeners']:,} listeners =="
    )
    print(
        f"build      listeners {build['listeners_seconds']:.1f} s; "
        f"+{build['tracks_added']:,} tracks with analyses in "
        f"{build['tracks_seconds']:.1f} s; +{build['plays_added']:,} plays (COPY) in "
        f"{build['plays_seconds']:.1f} s; VACUUM ANALYZE {build['vacuum_seconds']:.1f} s"
    )
    print(
        f"tagging    {build['tracks_added']:,} tracks in {build['tagging_seconds']:.1f} s = "
        f"{_n(build['tagging_tracks_per_second'])} tracks/s "
        f"(tags: {', '.join(f'{k} {v:,}' for k, v in sorted(build['tag_labels'].items()))})"
    )
    print(
        f"mood batch {mood['listeners']:,} listeners in {mood['seconds']:.2f} s = "
        f"{_n(mood['listeners_per_second'])} listeners/s  (batches of {mood['batch_size']}; "
        f"SQL {mood['sql_seconds']:.2f} s in {mood['sql_queries']:,} queries, model "
        f"{mood['model_seconds']:.2f} s, rest {mood['other_seconds']:.2f} s; listing active "
        f"listeners and loading them {mood['outside_batches_seconds']:.2f} s)"
    )
    load = report["load_average"]
    threads = args.server_torch_threads or "PROCESS_THREADS (1)"
    print(
        f"HTTP       gunicorn {args.workers} sync workers (torch threads: {threads}), "
        f"limit={args.limit}; other programs used ~"
        f"{_n(report['other_programs_cpu_cores_during_http'], 2)} of {os.cpu_count()} cores "
        f"meanwhile (load average {load['before_http']:.1f} before, {load['after_http']:.1f} after)"
    )
    header = f"{'':30}{'req':>6}{'err':>5}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'req/s':>8}"
    print(header)
    for kind, figures in report["recommendations"].items():
        label = f"recommendations {kind.split('_')[0]}, conc {figures['concurrency']}"
        print(
            f"{label:30}{figures['requests']:>6}{figures['errors']:>5}"
            f"{_n(figures['p50_ms'], 1):>9}{_n(figures['p95_ms'], 1):>9}"
            f"{_n(figures['p99_ms'], 1):>9}{_n(figures['throughput_per_second'], 1):>8}"
        )
    print(f"{'':30}{'plays':>8}{'err':>5}{'p50 ms':>9}{'p95 ms':>9}{'plays/s':>9}")
    for figures in report["ingestion"]:
        label = f"plays, {figures['batch']}/batch, conc {figures['concurrency']}"
        print(
            f"{label:30}{figures['accepted']:>8,}{figures['errors']:>5}"
            f"{_n(figures['p50_ms'], 0):>9}{_n(figures['p95_ms'], 0):>9}"
            f"{_n(figures['plays_per_second']):>9}"
        )
    slowest = report["diagnostics"]["recommendation_queries"][:3]
    if slowest:
        print("slowest SELECTs of one warm recommendation request (EXPLAIN ANALYZE):")
        for plan in slowest:
            print(f"  {plan['ms']:7.2f} ms {plan['buffers']:>6} pages  {plan['sql'][:80]}")
    for key, what in (
        ("active_listeners_15_min", "listing listeners active in the last 15 min (beat task)"),
        ("mood_selection_batch", f"top-k of the week for {args.mood_batch_size} listeners"),
        ("play_history_page", "first page of one listener's history"),
        ("popularity_of_often_played", f"30-day plays of the {4 * args.limit} most played tracks"),
    ):
        plan = report["diagnostics"][key]
        print(
            f"{what}: {plan['ms']:.1f} ms, {plan['buffers']:,} pages, "
            f"plan: {', '.join(plan['nodes'])}"
        )


def _get(*keys: str | int) -> Callable[[dict], Any]:
    def getter(report: dict) -> Any:
        value: Any = report
        for key in keys:
            value = value[key]
        return value

    return getter


def _plays_per_second(batch: int, concurrency: int) -> Callable[[dict], Any]:
    def getter(report: dict) -> Any:
        for figures in report["ingestion"]:
            if figures["batch"] == batch and figures["concurrency"] == concurrency:
                return figures["plays_per_second"]
        return None

    return getter


def summary_rows(args: argparse.Namespace) -> list[tuple[str, Callable[[dict], Any], int]]:
    rows: list[tuple[str, Callable[[dict], Any], int]] = [
        ("plays", _get("plays"), 0),
        ("listeners", _get("listeners"), 0),
        ("set-up of this size s", _get("build", "seconds"), 0),
    ]
    for kind, what in (
        ("warm_1_client", "warm, 1 client,"),
        ("warm", f"warm, conc {args.concurrency},"),
        ("cold_1_client", "cold, 1 client,"),
        ("cold", f"cold, conc {args.concurrency},"),
    ):
        for key, label, digits in (
            ("p50_ms", "p50 ms", 1),
            ("p95_ms", "p95 ms", 1),
            ("p99_ms", "p99 ms", 1),
            ("throughput_per_second", "req/s", 1),
        ):
            rows.append((f"recs {what} {label}", _get("recommendations", kind, key), digits))
    for batch in args.ingest_batch_sizes:
        for concurrency in sorted({1, args.concurrency}):
            rows.append(
                (
                    f"plays/s, {batch}/batch, conc {concurrency}",
                    _plays_per_second(batch, concurrency),
                    0,
                )
            )
    rows += [
        ("mood batch listeners/s", _get("batch_mood_inference", "listeners_per_second"), 0),
        ("catalogue tagging tracks/s", _get("build", "tagging_tracks_per_second"), 0),
        (
            "list active listeners (15 min) ms",
            _get("diagnostics", "active_listeners_15_min", "ms"),
            1,
        ),
    ]
    return rows


def print_summary(reports: list[dict[str, Any]], args: argparse.Namespace) -> dict[str, Any]:
    sizes = [r["tracks"] for r in reports]
    rows = summary_rows(args)
    width = 36
    print("\n== growth with the catalogue ==")
    header = f"{'tracks':{width}}" + "".join(f"{s:>12,}" for s in sizes)
    if len(sizes) > 1:
        header += f"{'last/first':>12}"
    print(header)
    table: dict[str, Any] = {"tracks": sizes}
    for label, getter, digits in rows:
        try:
            values = [getter(r) for r in reports]
        except (KeyError, TypeError):
            continue
        line = f"{label:{width}}" + "".join(f"{_n(v, digits):>12}" for v in values)
        ratio = None
        if len(values) > 1 and values[0] and values[-1] is not None:
            ratio = values[-1] / values[0]
            line += f"{ratio:>11.2f}x"
        print(line)
        table[label] = {"values": values, "last_over_first": ratio}
    return table


# --- Main ------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    admin_url, bench_url = database_urls(args.database_name)
    work_dir = Path(tempfile.mkdtemp(prefix="bench-recommendations-"))
    media_root = work_dir / "media"
    media_root.mkdir()
    prepare_environment(bench_url, media_root)
    # This process runs the batch mood inference as a worker would: with a worker's threads.
    from recommender.process_threads import configure_process_threads

    configure_process_threads()
    try:
        with own_database(admin_url, args.database_name, keep=args.keep):
            import django

            django.setup()
            import logging

            from django.core.management import call_command

            # Eager tasks make Celery build a (never used) producer pool on the default broker
            # URL, and kombu warns that the URL has no host name: noise here.
            logging.getLogger("kombu.connection").setLevel(logging.ERROR)

            call_command("migrate", verbosity=0, interactive=False)
            output = run(args, work_dir)
    finally:
        if args.keep:
            print(f"kept media and logs in {work_dir}", file=sys.stderr)
        else:
            shutil.rmtree(work_dir, ignore_errors=True)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(output, indent=2, default=str) + "\n")
    failed = any(
        figures["errors"]
        for report in output["sizes"]
        for figures in [*report["recommendations"].values(), *report["ingestion"]]
    )
    return 2 if failed else 0


def run(args: argparse.Namespace, work_dir: Path) -> dict[str, Any]:
    started = time.perf_counter()
    machine = machine_info()
    print(
        f"PostgreSQL {machine['postgresql']}, {machine['cpu_count']} CPUs "
        f"({machine['cpu_model']}), {machine['memory_gib']} GiB, {machine['platform']}",
        file=sys.stderr,
    )
    data = Dataset(rng=np.random.default_rng(args.seed), mean_segments=args.segments)
    version, training_seconds, architecture = train_and_activate_model(
        epochs=args.train_epochs, seed=args.seed, mean_segments=args.segments
    )
    # The first listeners warm the server up; measured requests come from the others.
    reserved = 4 * args.workers
    picker = ListenerPicker(reserved + 1, reserved=reserved)
    listeners_seconds = 0.0
    reports: list[dict[str, Any]] = []
    server: Server | None = None
    try:
        for size in args.sizes:
            listeners_added_seconds = create_listeners(
                data, max(reserved + 1, listeners_at(size, args))
            )
            listeners_seconds += listeners_added_seconds
            picker.count = len(data.listener_ids)
            tracks_added, tracks_seconds = grow_catalogue(data, size)
            tagging_seconds, tag_labels = tag_new_tracks(
                version, data.track_ids[size - tracks_added :].tolist()
            )
            plays_added, plays_seconds = add_plays(data, size * args.plays_per_track)
            vacuum_seconds = vacuum_analyze()
            with CpuAccount(args.database_name) as others_during_mood:
                mood = measure_batch_inference(
                    listeners=len(data.listener_ids),
                    batch_size=args.mood_batch_size,
                    version=version,
                )
            mood["other_programs_cpu_cores"] = others_during_mood.other_cores
            if server is None:
                server = Server(
                    workers=args.workers,
                    log_path=work_dir / "gunicorn.log",
                    torch_threads=args.server_torch_threads,
                )
                server.wait_until_ready()
            warm_up_server(server, data, workers=args.workers, limit=args.limit)
            sample = int(data.listener_ids[picker.take(1)[0]])
            diagnostics = {
                "recommendation_queries": explain_request_queries(sample, limit=args.limit),
                "active_listeners_15_min": explain_active_listeners(15),
                "mood_selection_batch": explain_mood_selection(
                    data.listener_ids[: args.mood_batch_size].tolist()
                ),
                "play_history_page": explain_play_history(sample),
                "popularity_of_often_played": explain_popularity_of_often_played(
                    tracks=4 * args.limit
                ),
            }
            load_before = os.getloadavg()[0]
            with CpuAccount(args.database_name) as others:
                recommendations = measure_recommendations(server, data, picker, args)
                ingestion = measure_ingestion(server, data, picker, args)
            load_after = os.getloadavg()[0]
            report = {
                "tracks": size,
                "plays": data.plays,
                "listeners": len(data.listener_ids),
                "build": {
                    "listeners_seconds": listeners_added_seconds,
                    "tracks_added": tracks_added,
                    "tracks_seconds": tracks_seconds,
                    "tagging_seconds": tagging_seconds,
                    "tagging_tracks_per_second": (
                        tracks_added / tagging_seconds if tagging_seconds else None
                    ),
                    "tag_labels": dict(tag_labels),
                    "plays_added": plays_added,
                    "plays_seconds": plays_seconds,
                    "vacuum_seconds": vacuum_seconds,
                    "seconds": listeners_added_seconds
                    + tracks_seconds
                    + tagging_seconds
                    + plays_seconds
                    + vacuum_seconds,
                },
                "batch_mood_inference": mood,
                "recommendations": recommendations,
                "ingestion": ingestion,
                "diagnostics": diagnostics,
                # 1-min load average around the HTTP runs: more than the benchmark's own load
                # means something else was using the CPUs.
                "load_average": {"before_http": load_before, "after_http": load_after},
                "other_programs_cpu_cores_during_http": others.other_cores,
            }
            reports.append(report)
            print_size(report, args)
    finally:
        if server is not None:
            server.stop()
    summary = print_summary(reports, args)
    total_seconds = time.perf_counter() - started
    print(f"\ntotal {total_seconds / 60:.1f} min", file=sys.stderr)
    return {
        "benchmark": "recommendation_speed",
        "machine": machine,
        "config": {
            **{k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
            "model_architecture": architecture,
            "model_training_seconds": training_seconds,
            "listeners_seconds": listeners_seconds,
            "server": "gunicorn sync workers; no broker (tasks in-process); LocMem cache",
        },
        "sizes": reports,
        "summary": summary,
        "total_seconds": total_seconds,
    }


if __name__ == "__main__":
    raise SystemExit(main())
