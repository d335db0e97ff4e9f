"""The valence/arousal importer: DEAM and EmoMusic layouts become a data-set folder with
points in [0, 1] and their quadrant; a malformed row fails the whole file with its line
number and nothing is written; the folder then trains a valence/arousal model on its points."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from emotion.features import LLD_FEATURE_SET_VERSION
from emotion.importers.valence_arousal import (
    ValenceArousalImportError,
    import_valence_arousal,
    read_annotations,
)
from emotion.ml.datasets import load_labelled_dataset
from emotion.ml.presets import PRESETS
from emotion.ml.training import train_on_dataset

# DEAM's static_annotations_averaged_songs_1_2000.csv: spaces after the commas, 1–9.
DEAM = """song_id, valence_mean, valence_std, arousal_mean, arousal_std
2, 3.1, 0.94, 3, 0.63
3, 7, 1.2, 8.2, 1.1
4, 9, 0.5, 1, 0.4
5, 1, 0.3, 5, 0.5
"""
# EmoMusic's static_annotations.csv (arousal first) and songs_info.csv.
EMOMUSIC = """song_id,mean_arousal,std_arousal,mean_valence,std_valence
10,6.2,1.0,4.4,1.1
12,2.0,0.8,7.5,0.9
"""
EMOMUSIC_INFO = """song_id,file_name,Artist,Song title,Genre
10,10.mp3,Some Band,First Song,Rock
12,12.mp3,Other Artist,Second Song,Pop
"""


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def metadata(folder: Path) -> list[dict[str, str]]:
    with (folder / "metadata.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_a_deam_file_becomes_a_dataset_folder(tmp_path):
    folder = tmp_path / "deam"
    songs = import_valence_arousal(
        write(tmp_path / "static.csv", DEAM),
        folder=folder,
        scale="1-9",
        audio_path="MEMD_audio/{song_id}.mp3",
    )
    rows = metadata(folder)
    assert list(rows[0]) == ["song_id", "path", "artist", "title", "valence", "arousal", "quadrant"]
    assert [r["song_id"] for r in rows] == ["2", "3", "4", "5"]
    assert rows[0]["path"] == "MEMD_audio/2.mp3"
    points = [(float(r["valence"]), float(r["arousal"])) for r in rows]
    np.testing.assert_allclose(points, [(2.1 / 8, 0.25), (0.75, 7.2 / 8), (1.0, 0.0), (0.0, 0.5)])
    # Thresholded at 0.5; arousal exactly 0.5 counts as high.
    assert [r["quadrant"] for r in rows] == ["Q3", "Q1", "Q4", "Q2"]
    assert [s.quadrant for s in songs] == ["Q3", "Q1", "Q4", "Q2"]


def test_an_emomusic_file_with_its_song_info(tmp_path):
    folder = tmp_path / "emomusic"
    import_valence_arousal(
        write(tmp_path / "static_annotations.csv", EMOMUSIC),
        folder=folder,
        scale="1-9",
        audio_path="clips_45seconds/{song_id}.mp3",
        info=write(tmp_path / "songs_info.csv", EMOMUSIC_INFO),
    )
    rows = metadata(folder)
    assert [(r["artist"], r["title"]) for r in rows] == [
        ("Some Band", "First Song"),
        ("Other Artist", "Second Song"),
    ]
    assert [(float(r["valence"]), float(r["arousal"])) for r in rows] == [
        (pytest.approx(3.4 / 8), pytest.approx(5.2 / 8)),
        (pytest.approx(6.5 / 8), pytest.approx(1.0 / 8)),
    ]
    assert [r["quadrant"] for r in rows] == ["Q2", "Q4"]


def test_the_minus_one_to_one_scale(tmp_path):
    songs = read_annotations(
        write(tmp_path / "a.csv", "song_id,valence,arousal\n1,-1,0.5\n2,1,-0.5\n"), scale="-1-1"
    )
    assert [(s.valence, s.arousal) for s in songs] == [(0.0, 0.75), (1.0, 0.25)]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (DEAM.replace("7, 1.2, 8.2", "7, 1.2, high"), r"line 3: arousal 'high' is not a number"),
        (DEAM.replace("9, 0.5, 1,", "9.5, 0.5, 1,"), r"line 4: valence 9.5 is outside the scale"),
        (DEAM.replace("3, 7, 1.2", " , 7, 1.2"), r"line 3: empty song_id"),
        (DEAM.replace("5, 1, 0.3", "3, 1, 0.3"), r"line 5: song_id '3' repeats line 3"),
        (DEAM.replace("4, 9, 0.5, 1, 0.4", "4, 9, 0.5"), r"line 4: 3 fields"),
        (DEAM.replace("3, 7, 1.2, 8.2", "3, 7, 1.2, nan"), r"line 3: arousal nan is outside"),
        (DEAM.replace("arousal_mean", "energy"), r"line 1: no column one of"),
        ("song_id,valence,arousal\n", "has no songs"),
    ],
)
def test_a_malformed_row_fails_the_file_with_its_line_and_writes_nothing(tmp_path, text, message):
    folder = tmp_path / "dataset"
    folder.mkdir()
    (folder / "metadata.csv").write_text("earlier import\n")
    with pytest.raises(ValenceArousalImportError, match=message):
        import_valence_arousal(write(tmp_path / "bad.csv", text), folder=folder, scale="1-9")
    assert (folder / "metadata.csv").read_text() == "earlier import\n"
    assert sorted(p.name for p in folder.iterdir()) == ["metadata.csv"]


def test_the_command_imports_and_refuses_a_bad_file(tmp_path, capsys):
    folder = tmp_path / "deam"
    call_command(
        "import_valence_arousal", str(write(tmp_path / "ok.csv", DEAM)), folder=str(folder)
    )
    assert "4 songs" in capsys.readouterr().out and len(metadata(folder)) == 4
    bad = write(tmp_path / "bad.csv", DEAM.replace("9, 0.5, 1,", "9, 0.5, x,"))
    other = tmp_path / "other"
    with pytest.raises(CommandError, match="line 4: arousal 'x' is not a number"):
        call_command("import_valence_arousal", str(bad), folder=str(other))
    assert not other.exists()


class FakeAnalysis:
    def __init__(self, features):
        self.features = features


def test_an_imported_folder_trains_on_its_own_points(tmp_path):
    """The folder's valence/arousal columns reach the model (the audio is faked: plumbing)."""
    rng = np.random.default_rng(0)
    lines = ["song_id,valence,arousal,artist"]
    for i in range(24):
        lines.append(f"{i},{rng.uniform(1, 9):.2f},{rng.uniform(1, 9):.2f},artist {i // 2}")
    folder = tmp_path / "set"
    import_valence_arousal(
        write(tmp_path / "a.csv", "\n".join(lines) + "\n"), folder=folder, scale="1-9"
    )
    rows = metadata(folder)
    for row in rows:
        (folder / row["path"]).write_bytes(b"not audio: the extractor below is fake")
    points = {row["path"]: (float(row["valence"]), float(row["arousal"])) for row in rows}

    def extractor(path, **_):
        valence, arousal = points[Path(path).name]
        features = np.random.default_rng(int(Path(path).stem)).normal(size=(4, 50))
        features[:, 0] += 3 * valence
        features[:, 1] += 3 * arousal
        return FakeAnalysis(features.astype(np.float32))

    dataset = load_labelled_dataset(
        folder,
        cache_dir=None,
        progress=False,
        extractor=extractor,
        feature_set_version=LLD_FEATURE_SET_VERSION,
    )
    assert dataset.valence_arousal == [points[p] for p in dataset.paths]
    assert dataset.labels == [row["quadrant"] for row in rows]
    model = train_on_dataset(
        dataset,
        preset=PRESETS["svr"].with_overrides(input_blocks=("lld",), model__selected_features=8),
    )
    assert model.metrics["valence_arousal_targets"] == "given points"
    assert model.metrics["trained_on"]["valence_arousal"] is True


def test_a_folder_with_a_bad_point_is_refused_before_any_audio_is_read(tmp_path):
    folder = tmp_path / "set"
    folder.mkdir()
    (folder / "metadata.csv").write_text(
        "path,artist,title,quadrant,valence,arousal\na.wav,x,y,Q1,0.7,0.8\nb.wav,x,y,Q1,0.7,1.8\n"
    )

    def extractor(path, **_):
        raise AssertionError("no audio should be read")

    with pytest.raises(ValueError, match=r"line 3: arousal 1.8 is outside \[0, 1\]"):
        load_labelled_dataset(folder, cache_dir=None, progress=False, extractor=extractor)
