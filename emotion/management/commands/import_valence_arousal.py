"""Turn a per-song valence/arousal annotation CSV (DEAM, EmoMusic) into a data-set folder.

    python manage.py import_valence_arousal ANNOTATIONS.csv --folder DATASET \\
        --scale 1-9 --audio-path 'MEMD_audio/{song_id}.mp3' [--info songs_info.csv]

Writes ``DATASET/metadata.csv`` (``song_id, path, artist, title, valence, arousal, quadrant``,
valence and arousal in [0, 1]); ``train_mood_model --dataset DATASET --architecture cbsa``
then trains on the songs' own coordinates. A malformed row fails the import with its line
number and nothing is written (``emotion.importers.valence_arousal``).
"""

from __future__ import annotations

from collections import Counter

from django.core.management.base import BaseCommand, CommandError

from emotion.importers.valence_arousal import (
    SCALES,
    ValenceArousalImportError,
    import_valence_arousal,
)


class Command(BaseCommand):
    help = "Import per-song valence/arousal annotations (DEAM, EmoMusic) as a data-set folder."

    def add_arguments(self, parser) -> None:
        parser.add_argument("annotations", metavar="ANNOTATIONS_CSV")
        parser.add_argument("--folder", required=True, help="data-set folder to write")
        parser.add_argument("--scale", choices=list(SCALES), default="1-9")
        parser.add_argument(
            "--audio-path",
            default="{song_id}.mp3",
            help="audio file of a song, relative to the folder, with {song_id}",
        )
        parser.add_argument("--info", help="CSV with song_id, Artist, Song title (optional)")

    def handle(self, *args, annotations, folder, scale, audio_path, info, **options):
        try:
            songs = import_valence_arousal(
                annotations, folder=folder, scale=scale, audio_path=audio_path, info=info
            )
        except ValenceArousalImportError as error:
            raise CommandError(f"{error}; nothing was written") from error
        counts = Counter(song.quadrant for song in songs)
        summary = ", ".join(f"{q} {counts[q]}" for q in sorted(counts))
        self.stdout.write(f"{len(songs)} songs → {folder}/metadata.csv ({summary})")
