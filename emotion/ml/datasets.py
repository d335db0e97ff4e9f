"""Labelled audio data sets (``metadata.csv`` + audio files) → LLD sequences, with a cache.

The folder layout is that of ``../shared/datasets/4q``: a ``metadata.csv`` whose ``path``
column is relative to the folder. Only ``path``, the label column, ``artist`` and ``title`` are
required. Optional ``valence`` and ``arousal`` columns (in [0, 1], as the valence/arousal
importer writes them: ``emotion.importers.valence_arousal``) give every clip its point, which
a valence/arousal model trains on instead of its quadrant's centre. Extracted features are
cached in one ``.npz`` per (data set, feature-set version, segment length), keyed per file by
absolute path + size + mtime, so re-running an experiment does not decode 720 MP3s again, and
a changed file or extractor is never served stale. The cache of a wider feature set (one that
holds every block of the requested set with the same definitions, as ``lld50-musicnn-mel-v1``
holds ``lld50-musicnn-v1``) serves the narrower one through those columns.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import json
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_FEATURE_CACHE_DIR = REPO_ROOT / ".cache" / "features"
REQUIRED_COLUMNS = ("path", "artist", "title")


def default_datasets_dir() -> Path:
    """``$EMOTION_DATASETS_DIR`` or ``<repo>/../shared/datasets``."""
    configured = os.environ.get("EMOTION_DATASETS_DIR")
    return Path(configured) if configured else REPO_ROOT.parent / "shared" / "datasets"


@dataclass(frozen=True)
class DatasetFailure:
    path: str
    reason: str


@dataclass
class LabelledDataset:
    sequences: list[np.ndarray]
    labels: list[str]
    artists: list[str]
    titles: list[str]
    paths: list[str]
    failures: list[DatasetFailure] = field(default_factory=list)
    # Optional per-clip label confidence (4Q: quadrant_agreement); None where absent.
    confidences: list[float] | None = None
    song_ids: list[str] = field(default_factory=list)
    feature_set_version: str = "unknown"
    segment_seconds: float = 3.0
    # Per-clip (valence, arousal) in [0, 1] when metadata.csv has both columns; else None.
    valence_arousal: list[tuple[float, float]] | None = None

    @classmethod
    def empty(
        cls, *, feature_set_version: str, segment_seconds: float, **fields: Any
    ) -> LabelledDataset:
        return cls(
            sequences=[],
            labels=[],
            artists=[],
            titles=[],
            paths=[],
            feature_set_version=feature_set_version,
            segment_seconds=segment_seconds,
            **fields,
        )

    def __len__(self) -> int:
        return len(self.sequences)

    def subset(self, indices: Sequence[int]) -> LabelledDataset:
        def pick(values: list[Any] | None) -> list[Any] | None:
            return None if values is None else [values[i] for i in indices]

        return LabelledDataset(
            sequences=[self.sequences[i] for i in indices],
            labels=[self.labels[i] for i in indices],
            artists=[self.artists[i] for i in indices],
            titles=[self.titles[i] for i in indices],
            paths=[self.paths[i] for i in indices],
            failures=list(self.failures),
            confidences=pick(self.confidences),
            song_ids=pick(self.song_ids) if self.song_ids else [],
            feature_set_version=self.feature_set_version,
            segment_seconds=self.segment_seconds,
            valence_arousal=pick(self.valence_arousal),
        )

    def describe(self) -> dict[str, Any]:
        """Summary for artifact metadata / reports (what the model was trained on)."""
        counts: dict[str, int] = {}
        for label in self.labels:
            counts[label] = counts.get(label, 0) + 1
        return {
            "n_clips": len(self),
            "n_artists": len(set(self.artists)),
            "label_counts": dict(sorted(counts.items())),
            "n_failures": len(self.failures),
            "feature_set_version": self.feature_set_version,
            "segment_seconds": self.segment_seconds,
            "valence_arousal": self.valence_arousal is not None,
        }


def read_metadata(folder: str | os.PathLike[str], *, label_column: str = "quadrant") -> list[dict]:
    metadata_path = Path(folder) / "metadata.csv"
    if not metadata_path.is_file():
        raise FileNotFoundError(f"no metadata.csv in {folder}")
    with metadata_path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        columns = set(reader.fieldnames or [])
        missing = [c for c in (*REQUIRED_COLUMNS, label_column) if c not in columns]
        if missing:
            raise ValueError(f"{metadata_path} lacks required columns {missing}")
        return list(reader)


VALENCE_AROUSAL_COLUMNS = ("valence", "arousal")


def _parse_point(row: dict, *, line: int) -> tuple[float, float]:
    """A row's (valence, arousal) in [0, 1]; ``line`` is its line in metadata.csv."""
    point = []
    for column in VALENCE_AROUSAL_COLUMNS:
        text = (row.get(column) or "").strip()
        try:
            value = float(text)
        except ValueError:
            raise ValueError(
                f"metadata.csv line {line}: {column} {text!r} is not a number"
            ) from None
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"metadata.csv line {line}: {column} {value} is outside [0, 1]")
        point.append(value)
    return point[0], point[1]


def load_labelled_dataset(
    folder: str | os.PathLike[str],
    *,
    label_column: str = "quadrant",
    confidence_column: str | None = "quadrant_agreement",
    segment_seconds: float = 3.0,
    cache_dir: str | os.PathLike[str] | None = None,
    progress: bool = True,
    workers: int = 1,
    limit_per_label: int | None = None,
    extractor: Callable[..., Any] | None = None,
    feature_set_version: str | None = None,
) -> LabelledDataset:
    """Extract (or read cached) feature sequences for every row of ``folder/metadata.csv``.

    Files that fail with ``BadAudioError`` (or are missing, or have no label) are skipped and
    listed in ``failures``. ``cache_dir=None`` disables caching (pass
    ``DEFAULT_FEATURE_CACHE_DIR`` for the repo's ``.cache/features``). ``limit_per_label`` keeps
    the first N rows of each label (in file order), for quick tests. ``extractor`` replaces
    ``emotion.features.analyse_audio`` (tests). ``feature_set_version`` defaults to
    ``emotion.features.DEFAULT_FEATURE_SET_VERSION``.
    """
    from emotion.features import DEFAULT_FEATURE_SET_VERSION, AnalysisError, analyse_audio

    feature_set_version = feature_set_version or DEFAULT_FEATURE_SET_VERSION
    analyse = functools.partial(
        extractor or analyse_audio,
        segment_seconds=segment_seconds,
        feature_set_version=feature_set_version,
    )
    folder_path = Path(folder).resolve()
    rows = read_metadata(folder_path, label_column=label_column)
    with_points = bool(rows) and all(column in rows[0] for column in VALENCE_AROUSAL_COLUMNS)
    # Checked before any audio is decoded; line numbers count the header as line 1.
    point_of_row = {
        id(row): _parse_point(row, line=line)
        for line, row in enumerate(rows, start=2)
        if with_points
    }
    failures: list[DatasetFailure] = []
    selected: list[dict] = []
    per_label: dict[str, int] = {}
    for row in rows:
        label = (row.get(label_column) or "").strip()
        relative = (row.get("path") or "").strip()
        if not label or not relative:
            failures.append(DatasetFailure(path=relative, reason=f"missing {label_column} or path"))
            continue
        if limit_per_label is not None:
            if per_label.get(label, 0) >= limit_per_label:
                continue
            per_label[label] = per_label.get(label, 0) + 1
        selected.append(row)

    cache = _FeatureCache(
        cache_dir=Path(cache_dir) if cache_dir is not None else None,
        folder=folder_path,
        feature_set_version=feature_set_version,
        segment_seconds=segment_seconds,
    )
    keys: list[str | None] = []
    to_extract: list[tuple[int, Path]] = []
    for index, row in enumerate(selected):
        audio_path = folder_path / row["path"].strip()
        try:
            stat = audio_path.stat()
        except OSError:
            keys.append(None)
            continue
        key = f"{audio_path}|{stat.st_size}|{stat.st_mtime_ns}"
        keys.append(key)
        if cache.get(key) is None:
            to_extract.append((index, audio_path))

    extracted: dict[int, np.ndarray | str] = {}
    if to_extract:

        def keep(index: int, result: np.ndarray | str) -> None:
            extracted[index] = result
            key = keys[index]
            if isinstance(result, np.ndarray) and key is not None:
                cache.put(key, result)

        _extract_all(
            to_extract,
            analyse=analyse,
            analysis_error=AnalysisError,
            on_result=keep,
            on_checkpoint=cache.save,
            progress=progress,
            workers=workers,
        )
    cache.save()  # also keeps what a wider set's cache served (a no-op when nothing changed)

    dataset = LabelledDataset.empty(
        feature_set_version=feature_set_version,
        segment_seconds=segment_seconds,
        failures=failures,
        confidences=[] if confidence_column else None,
        valence_arousal=[] if with_points else None,
    )
    for index, row in enumerate(selected):
        relative = row["path"].strip()
        key = keys[index]
        if key is None:
            failures.append(DatasetFailure(path=relative, reason="file not found"))
            continue
        result = extracted.get(index)
        features = result if isinstance(result, np.ndarray) else cache.get(key)
        if features is None:
            failures.append(DatasetFailure(path=relative, reason=str(result or "not extracted")))
            continue
        dataset.sequences.append(features)
        dataset.labels.append(row[label_column].strip())
        dataset.artists.append((row.get("artist") or "").strip() or f"unknown:{relative}")
        dataset.titles.append((row.get("title") or "").strip())
        dataset.paths.append(relative)
        dataset.song_ids.append((row.get("song_id") or "").strip())
        if dataset.valence_arousal is not None:
            dataset.valence_arousal.append(point_of_row[id(row)])
        if dataset.confidences is not None:
            dataset.confidences.append(_parse_confidence(row.get(confidence_column or "")))
    if dataset.confidences is not None and all(c == 1.0 for c in dataset.confidences):
        # No (usable) confidence column: don't pretend to have one.
        dataset.confidences = None
    return dataset


def _parse_confidence(value: str | None) -> float:
    try:
        confidence = float(value) if value not in (None, "") else 1.0
    except ValueError:
        return 1.0
    return confidence if np.isfinite(confidence) and confidence > 0 else 1.0


def _analyse_one(analyse: Callable[..., Any], path: Path, analysis_error: type) -> np.ndarray | str:
    try:
        analysis = analyse(path)
    except analysis_error as error:
        return f"cannot analyse: {error}"
    features = np.asarray(analysis.features, dtype=np.float32)
    if features.ndim != 2 or features.shape[0] < 1:
        return f"no segments extracted (shape {features.shape})"
    return features


def _single_threaded_worker() -> None:
    # One torch thread per process: the processes already use every core.
    import torch

    torch.set_num_threads(1)


_CHECKPOINT_EVERY = 50  # clips; an interrupted extraction keeps what it had done


def _extract_all(
    jobs: list[tuple[int, Path]],
    *,
    analyse: Callable[..., Any],
    analysis_error: type,
    on_result: Callable[[int, np.ndarray | str], None],
    on_checkpoint: Callable[[], None],
    progress: bool,
    workers: int,
) -> None:
    from tqdm import tqdm

    bar = tqdm(total=len(jobs), desc="extracting features", unit="clip", disable=not progress)

    def finished(done: int, index: int, result: np.ndarray | str) -> None:
        on_result(index, result)
        bar.update(1)
        if done % _CHECKPOINT_EVERY == 0:
            on_checkpoint()

    if workers <= 1:
        for done, (index, path) in enumerate(jobs, start=1):
            finished(done, index, _analyse_one(analyse, path, analysis_error))
    else:
        with ProcessPoolExecutor(max_workers=workers, initializer=_single_threaded_worker) as pool:
            futures = {
                pool.submit(_analyse_one, analyse, path, analysis_error): index
                for index, path in jobs
            }
            for done, future in enumerate(futures, start=1):
                finished(done, futures[future], future.result())
    bar.close()


class _FeatureCache:
    """One .npz per (data set folder, feature-set version, segment length)."""

    def __init__(
        self,
        *,
        cache_dir: Path | None,
        folder: Path,
        feature_set_version: str,
        segment_seconds: float,
    ) -> None:
        self.entries: dict[str, np.ndarray] = {}
        self.dirty = False
        self.path: Path | None = None
        self.identity = {
            "folder": str(folder),
            "feature_set_version": feature_set_version,
            "segment_seconds": float(segment_seconds),
        }
        if cache_dir is None:
            return
        digest = hashlib.sha256(json.dumps(self.identity, sort_keys=True).encode()).hexdigest()
        self.path = cache_dir / f"{folder.name}-{digest[:16]}.npz"
        if self.path.is_file():
            self._load(self.path)
        for other in sorted(cache_dir.glob(f"{folder.name}-*.npz")):
            if other != self.path:
                self._take_from_wider_set(other)

    def _read(self, path: Path) -> tuple[dict, dict[str, np.ndarray]] | None:
        try:
            with np.load(path, allow_pickle=False) as archive:
                identity = json.loads(str(archive["identity"]))
                keys = [str(k) for k in archive["keys"]]
                offsets = archive["offsets"]
                stacked = archive["features"]
        except (OSError, KeyError, ValueError):
            # A broken cache is just a cold cache.
            return None
        return identity, {key: stacked[offsets[i] : offsets[i + 1]] for i, key in enumerate(keys)}

    def _load(self, path: Path) -> None:
        read = self._read(path)
        if read is not None and read[0] == self.identity:
            self.entries.update({key: array.copy() for key, array in read[1].items()})

    def _take_from_wider_set(self, path: Path) -> None:
        """Fill missing clips from the cache of a feature set that holds every block of this
        one with the same definitions (``lld50-musicnn-mel-v1`` holds ``lld50-musicnn-v1``):
        its columns are the same numbers, so they need not be extracted again."""
        from emotion.features.feature_sets import (
            FEATURE_SETS,
            IncompatibleFeaturesError,
            columns_for,
        )

        read = self._read(path)
        if read is None:
            return
        identity, entries = read
        wanted = self.identity["feature_set_version"]
        other = identity.get("feature_set_version")
        same_clips = all(identity.get(k) == self.identity[k] for k in ("folder", "segment_seconds"))
        if not same_clips or other not in FEATURE_SETS or wanted not in FEATURE_SETS:
            return
        try:
            columns = columns_for(
                model_feature_set=wanted,
                blocks=FEATURE_SETS[wanted].block_names,
                analyses_feature_set=other,
            )
        except IncompatibleFeaturesError:
            return
        for key, array in entries.items():
            if key not in self.entries:
                self.entries[key] = array[:, columns].copy()
                self.dirty = True

    def get(self, key: str) -> np.ndarray | None:
        return self.entries.get(key)

    def put(self, key: str, features: np.ndarray) -> None:
        self.entries[key] = features
        self.dirty = True

    def save(self) -> None:
        if self.path is None or not self.dirty or not self.entries:
            return
        keys = sorted(self.entries)
        arrays = [self.entries[k] for k in keys]
        offsets = np.cumsum([0] + [a.shape[0] for a in arrays]).astype(np.int64)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(self.path.stem + ".tmp.npz")
        np.savez(
            temporary,
            identity=np.array(json.dumps(self.identity, sort_keys=True)),
            keys=np.array(keys),
            offsets=offsets,
            features=np.concatenate(arrays, axis=0).astype(np.float32),
        )
        os.replace(temporary, self.path)
        self.dirty = False
