"""Dataset folders in the 4Q format (metadata.csv + audio) rendered by the synthetic generator,
for commands that read one. Plumbing only: no accuracy is read from synthetic clips."""

from __future__ import annotations

import csv
from pathlib import Path

from emotion.synth import render_catalogue, write_wav


def write_dataset(folder: Path, *, per_quadrant: int, seed: int) -> Path:
    folder.mkdir(parents=True)
    rows = []
    for track in render_catalogue(per_quadrant, seed=seed, seconds=4.0):
        path = Path("audio") / track.quadrant / f"{track.seed}.wav"
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        write_wav(folder / path, track.samples)
        rows.append(
            {
                "path": str(path),
                "quadrant": track.quadrant,
                "artist": track.artist,
                "title": track.title,
            }
        )
    with (folder / "metadata.csv").open("w", newline="") as metadata:
        writer = csv.DictWriter(metadata, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return folder
