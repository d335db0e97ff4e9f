from __future__ import annotations

import os
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from emotion.features import feature_set
from emotion.ml.artifact import artifact_to_bytes, load_artifact
from emotion.ml.datasets import (
    load_labelled_dataset,
)
from emotion.ml.evaluation import (
    artist_grouped_folds,
    cross_validate,
    evaluate_model,
    model_candidate,
    plot_confusion_matrix,
    plot_learning_curves,
)
from emotion.ml.training import train_on_dataset


def _write_folder(folder: Path, rows: list[dict[str, str]]) -> None:
    header = "song_id,artist,title,quadrant,quadrant_agreement,path\n"
    lines = [
        f"{r['song_id']},{r['artist']},{r['title']},{r['quadrant']},{r.get('agreement', '')},"
        f"{r['path']}\n"
        for r in rows
    ]
    (folder / "metadata.csv").write_text(header + "".join(lines), encoding="utf-8")


def test_bad_and_missing_files_are_reported_and_features_cached(tmp_path):
    from emotion.features import BadAudioError

    audio = tmp_path / "audio"
    audio.mkdir()
    for name in ("a.mp3", "b.mp3", "broken.mp3"):
        (audio / name).write_bytes(name.encode() * 10)
    rows = [
        {
            "song_id": "1",
            "artist": "X",
            "title": "a",
            "quadrant": "Q1",
            "agreement": "0.75",
            "path": "audio/a.mp3",
        },
        {
            "song_id": "2",
            "artist": "Y",
            "title": "b",
            "quadrant": "Q3",
            "agreement": "1.0",
            "path": "audio/b.mp3",
        },
        {"song_id": "3", "artist": "Z", "title": "c", "quadrant": "Q2", "path": "audio/broken.mp3"},
        {"song_id": "4", "artist": "W", "title": "d", "quadrant": "Q4", "path": "audio/gone.mp3"},
    ]
    _write_folder(tmp_path, rows)
    calls = []

    def fake_extractor(path, *, segment_seconds, feature_set_version):
        calls.append(Path(path).name)
        if Path(path).name == "broken.mp3":
            raise BadAudioError("cannot decode")
        return SimpleNamespace(features=np.full((4, 50), len(calls), dtype=np.float32))

    cache = tmp_path / "cache"
    dataset = load_labelled_dataset(
        tmp_path, cache_dir=cache, progress=False, extractor=fake_extractor
    )
    assert dataset.labels == ["Q1", "Q3"]
    assert dataset.artists == ["X", "Y"]
    assert dataset.confidences == [0.75, 1.0]
    assert {f.path: f.reason.split(":")[0] for f in dataset.failures} == {
        "audio/broken.mp3": "cannot analyse",
        "audio/gone.mp3": "file not found",
    }
    # Second load: served from cache, the extractor only sees the file that failed.
    calls.clear()
    again = load_labelled_dataset(
        tmp_path, cache_dir=cache, progress=False, extractor=fake_extractor
    )
    assert calls == ["broken.mp3"]
    for first, second in zip(dataset.sequences, again.sequences, strict=True):
        np.testing.assert_array_equal(first, second)
    # A changed file (size / mtime) is extracted again.
    (audio / "a.mp3").write_bytes(b"changed" * 20)
    os.utime(audio / "a.mp3", ns=(time.time_ns(), time.time_ns() + 10**9))
    calls.clear()
    load_labelled_dataset(tmp_path, cache_dir=cache, progress=False, extractor=fake_extractor)
    assert sorted(calls) == ["a.mp3", "broken.mp3"]


def test_a_wider_feature_sets_cache_serves_the_sets_it_holds(tmp_path):
    (tmp_path / "audio").mkdir()
    rows = []
    for index, quadrant in enumerate(("Q1", "Q2")):
        (tmp_path / "audio" / f"{index}.mp3").write_bytes(b"x" * (index + 10))
        rows.append({"song_id": str(index), "artist": f"A{index}", "title": "t",
                     "quadrant": quadrant, "path": f"audio/{index}.mp3"})  # fmt: skip
    _write_folder(tmp_path, rows)
    calls = []

    def fake_extractor(path, *, segment_seconds, feature_set_version):
        calls.append((Path(path).name, feature_set_version))
        width = feature_set(feature_set_version).dims
        return SimpleNamespace(features=np.arange(3 * width, dtype=np.float32).reshape(3, width))

    cache = tmp_path / "cache"
    load = dict(cache_dir=cache, progress=False, extractor=fake_extractor)
    wide = load_labelled_dataset(tmp_path, feature_set_version="lld50-musicnn-mel-v1", **load)
    assert len(calls) == 2
    calls.clear()
    # The default set and the LLD set are the first 550 and 50 columns of the wider one.
    for version, width in (("lld50-musicnn-v1", 550), ("lld50-v1", 50)):
        narrow = load_labelled_dataset(tmp_path, feature_set_version=version, **load)
        assert calls == []
        for wider, sequence in zip(wide.sequences, narrow.sequences, strict=True):
            np.testing.assert_array_equal(sequence, wider[:, :width])
    # The other way round holds nothing to take: the wider set is extracted.
    narrow_only = {**load, "cache_dir": tmp_path / "narrow-cache"}
    load_labelled_dataset(tmp_path, feature_set_version="lld50-musicnn-v1", **narrow_only)
    calls.clear()
    load_labelled_dataset(tmp_path, feature_set_version="lld50-musicnn-mel-v1", **narrow_only)
    assert len(calls) == 2


def test_missing_label_column_is_a_clear_error(tmp_path):
    (tmp_path / "metadata.csv").write_text("artist,title,path\nX,a,a.mp3\n")
    with pytest.raises(ValueError, match="quadrant"):
        load_labelled_dataset(tmp_path, progress=False)


@pytest.mark.dataset
def test_short_cross_validation_of_the_default_architecture_on_real_4q(tmp_path, four_q_subset):
    dataset = four_q_subset
    width = feature_set(dataset.feature_set_version).dims
    assert all(s.shape[1] == width and s.shape[0] >= 1 for s in dataset.sequences)
    (result,) = cross_validate(
        sequences=dataset.sequences,
        labels=dataset.labels,
        groups=dataset.artists,
        candidates=[
            model_candidate("default", "default", feature_set_version=dataset.feature_set_version)
        ],
        n_folds=4,
        seed=0,
        progress=False,
    )
    summary = result.summary()
    # Chance is 0.25 and the seed's LSTM on LLDs scores about 0.5 on all 720 clips; the
    # embeddings separate the quadrants on 120 training clips per fold already.
    assert summary["macro_f1_mean"] > 0.55, summary["fold_metrics"]

    # The artifact round trip of the default architecture, evaluated on one fold's artists.
    train, test = artist_grouped_folds(dataset.labels, dataset.artists, n_folds=4, seed=0)[0]
    assert not {dataset.artists[i] for i in train} & {dataset.artists[i] for i in test}
    model = train_on_dataset(dataset.subset(train), preset="default", seed=0)
    loaded = load_artifact(
        artifact_to_bytes(model),
        expected_feature_set_version=dataset.feature_set_version,
        expected_labels=["Q1", "Q2", "Q3", "Q4"],
    )
    held_out = dataset.subset(test)
    metrics = evaluate_model(loaded, sequences=held_out.sequences, labels=held_out.labels)
    assert metrics["n"] == len(test)
    assert metrics["accuracy"] > 0.5, metrics
    assert plot_confusion_matrix(metrics, tmp_path / "c.png").stat().st_size > 1000
    assert plot_learning_curves([model.metrics["history"]], tmp_path / "l.png").exists()
