"""Per-song valence/arousal annotations (DEAM, the 1000-songs EmoMusic set) → a labelled
data-set folder that ``load_labelled_dataset`` reads and a valence/arousal model trains on.

Accepted CSV (one row per song; header names are matched after stripping spaces, as DEAM's
have leading ones):

- ``song_id`` (required, unique, non-empty);
- valence: ``valence_mean`` (DEAM ``static_annotations_averaged_songs_*.csv``),
  ``mean_valence`` (EmoMusic ``static_annotations.csv``) or ``valence``;
- arousal: ``arousal_mean``, ``mean_arousal`` or ``arousal``;
- optional ``artist`` / ``Artist`` and ``title`` / ``Song title``; or the same columns from
  a second file joined on ``song_id`` (``info``: EmoMusic's ``songs_info.csv``, DEAM's
  ``metadata_*.csv``). Without an artist each song is its own group in grouped splits.

Both static sets publish song-level means on the 9-point scale (1–9); their dynamic, per-frame
annotations are on −1…1 (``scale``: "1-9", "-1-1" or "0-1"). Values are mapped linearly to
[0, 1]. The folder gets ``metadata.csv`` with ``song_id, path, artist, title, valence,
arousal, quadrant`` (the quadrant of the point, thresholded at 0.5). ``path`` is
``audio_path`` with ``{song_id}`` filled in, relative to the folder (DEAM:
``MEMD_audio/{song_id}.mp3``; EmoMusic: ``clips_45seconds/{song_id}.mp3``); the audio is the
user's to put there.

All or nothing: every row is checked first, and any malformed row (missing or non-numeric
value, a value outside the scale, an empty or repeated song id) fails the whole file with its
line number; ``metadata.csv`` is then written to a temporary file and renamed over the old one,
so a failed import leaves the folder as it was.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from emotion.ml.classical import quadrant_of_point

SCALES: dict[str, tuple[float, float]] = {"1-9": (1.0, 9.0), "-1-1": (-1.0, 1.0), "0-1": (0.0, 1.0)}
ID_COLUMN = "song_id"
VALENCE_COLUMNS = ("valence_mean", "mean_valence", "valence")
AROUSAL_COLUMNS = ("arousal_mean", "mean_arousal", "arousal")
ARTIST_COLUMNS = ("artist",)
TITLE_COLUMNS = ("title", "song title", "song_title")
METADATA_COLUMNS = ("song_id", "path", "artist", "title", "valence", "arousal", "quadrant")


class ValenceArousalImportError(ValueError):
    """The annotation file cannot be imported; nothing was written."""


@dataclass(frozen=True)
class AnnotatedSong:
    song_id: str
    path: str
    artist: str
    title: str
    valence: float  # in [0, 1]
    arousal: float  # in [0, 1]

    @property
    def quadrant(self) -> str:
        return quadrant_of_point(self.valence, self.arousal)


def _find_column(header: Iterable[str], names: Iterable[str]) -> str | None:
    by_lower = {column.lower(): column for column in header}
    return next((by_lower[name] for name in names if name in by_lower), None)


def _read_rows(path: Path) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """Header (stripped) and (line number, row) pairs; the header is line 1."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            header = [name.strip() for name in next(reader, [])]
            rows = []
            for row in reader:
                if not any(cell.strip() for cell in row):
                    continue  # a blank line, e.g. at the end of the file
                if len(row) != len(header):
                    raise ValenceArousalImportError(
                        f"{path.name} line {reader.line_num}: {len(row)} fields, "
                        f"the header has {len(header)}"
                    )
                rows.append((reader.line_num, dict(zip(header, row, strict=True))))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise ValenceArousalImportError(f"cannot read {path}: {error}") from error
    return header, rows


def _scaled(text: str, *, scale: tuple[float, float], where: str) -> float:
    try:
        value = float(text.strip())
    except ValueError:
        raise ValenceArousalImportError(f"{where} {text.strip()!r} is not a number") from None
    low, high = scale
    if not math.isfinite(value) or not low <= value <= high:
        raise ValenceArousalImportError(f"{where} {value} is outside the scale {low:g}…{high:g}")
    return (value - low) / (high - low)


def read_annotations(
    annotations: str | os.PathLike[str],
    *,
    scale: str,
    audio_path: str = "{song_id}.mp3",
    info: str | os.PathLike[str] | None = None,
) -> list[AnnotatedSong]:
    """Every song of the annotation CSV, its valence and arousal mapped to [0, 1]; raises
    :class:`ValenceArousalImportError` naming the file and line of the first bad row."""
    if scale not in SCALES:
        raise ValenceArousalImportError(f"unknown scale {scale!r}; choose from {list(SCALES)}")
    if "{song_id}" not in audio_path:
        raise ValenceArousalImportError("audio_path must contain {song_id}")
    path = Path(annotations)
    header, rows = _read_rows(path)
    id_column = _find_column(header, (ID_COLUMN,))
    valence_column = _find_column(header, VALENCE_COLUMNS)
    arousal_column = _find_column(header, AROUSAL_COLUMNS)
    missing = [
        f"one of {names}"
        for column, names in (
            (id_column, (ID_COLUMN,)),
            (valence_column, VALENCE_COLUMNS),
            (arousal_column, AROUSAL_COLUMNS),
        )
        if column is None
    ]
    if missing:
        raise ValenceArousalImportError(f"{path.name} line 1: no column {', '.join(missing)}")
    if not rows:
        raise ValenceArousalImportError(f"{path.name} has no songs")
    names = _song_names(info, header=header, rows=rows)
    songs: list[AnnotatedSong] = []
    seen: dict[str, int] = {}
    for line, row in rows:
        where = f"{path.name} line {line}:"
        song_id = row[id_column].strip()
        if not song_id:
            raise ValenceArousalImportError(f"{where} empty song_id")
        if song_id in seen:
            raise ValenceArousalImportError(
                f"{where} song_id {song_id!r} repeats line {seen[song_id]}"
            )
        seen[song_id] = line
        valence = _scaled(row[valence_column], scale=SCALES[scale], where=f"{where} valence")
        arousal = _scaled(row[arousal_column], scale=SCALES[scale], where=f"{where} arousal")
        artist, title = names.get(song_id, ("", ""))
        songs.append(
            AnnotatedSong(
                song_id=song_id,
                path=audio_path.format(song_id=song_id),
                artist=artist,
                title=title,
                valence=valence,
                arousal=arousal,
            )
        )
    return songs


def _song_names(
    info: str | os.PathLike[str] | None,
    *,
    header: list[str],
    rows: list[tuple[int, dict[str, str]]],
) -> dict[str, tuple[str, str]]:
    """song_id → (artist, title), from the info file if given, else the annotations' own
    artist / title columns (empty where there are none)."""
    if info is not None:
        header, rows = _read_rows(Path(info))
        if _find_column(header, (ID_COLUMN,)) is None:
            raise ValenceArousalImportError(f"{Path(info).name} line 1: no column song_id")
    id_column = _find_column(header, (ID_COLUMN,))
    artist_column = _find_column(header, ARTIST_COLUMNS)
    title_column = _find_column(header, TITLE_COLUMNS)
    return {
        row[id_column].strip(): (
            row[artist_column].strip() if artist_column else "",
            row[title_column].strip() if title_column else "",
        )
        for _, row in rows
    }


def write_dataset_metadata(folder: str | os.PathLike[str], songs: list[AnnotatedSong]) -> Path:
    """``folder/metadata.csv`` for ``songs``, written atomically (temporary file + rename)."""
    target = Path(folder) / "metadata.csv"
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(".metadata.csv.tmp")
    with temporary.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(METADATA_COLUMNS)
        for song in songs:
            writer.writerow(
                [
                    song.song_id,
                    song.path,
                    song.artist,
                    song.title,
                    f"{song.valence:.6f}",
                    f"{song.arousal:.6f}",
                    song.quadrant,
                ]
            )
    os.replace(temporary, target)
    return target


def import_valence_arousal(
    annotations: str | os.PathLike[str],
    *,
    folder: str | os.PathLike[str],
    scale: str,
    audio_path: str = "{song_id}.mp3",
    info: str | os.PathLike[str] | None = None,
) -> list[AnnotatedSong]:
    """Read and check the whole annotation file, then write the folder's ``metadata.csv``."""
    songs = read_annotations(annotations, scale=scale, audio_path=audio_path, info=info)
    write_dataset_metadata(folder, songs)
    return songs
