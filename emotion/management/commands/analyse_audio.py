"""Analyse audio files straight from disk, without the database.

    python manage.py analyse_audio PATH [PATH ...] --json OUT [--with-features]

Writes a JSON list with one object per file and exits 0 even when some files fail: a failed
file is a result, reported with its reason, not an error of the command.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand
from tqdm import tqdm

from emotion.features import FEATURE_SETS, AnalysisError, analyse_audio, feature_set


class Command(BaseCommand):
    help = "Extract per-segment feature sequences from audio files (no database) as JSON."

    def add_arguments(self, parser) -> None:
        parser.add_argument("paths", nargs="+", metavar="PATH")
        parser.add_argument("--json", dest="json_path", required=True, metavar="OUT")
        parser.add_argument("--with-features", action="store_true")
        parser.add_argument("--segment-seconds", type=float, default=settings.AUDIO_SEGMENT_SECONDS)
        parser.add_argument("--max-seconds", type=float, default=settings.AUDIO_MAX_SECONDS)
        parser.add_argument(
            "--feature-set", choices=sorted(FEATURE_SETS), default=settings.AUDIO_FEATURE_SET
        )

    def handle(
        self, *args, paths, json_path, with_features, segment_seconds, max_seconds, **options
    ):
        results = []
        for path in tqdm(paths, desc="analysing", unit="file", disable=len(paths) < 2):
            results.append(
                analyse_one_file(
                    Path(path),
                    with_features=with_features,
                    segment_seconds=segment_seconds,
                    max_seconds=max_seconds,
                    feature_set_version=options["feature_set"],
                )
            )
        Path(json_path).write_text(json.dumps(results, indent=1))
        failed = sum(result["status"] == "failed" for result in results)
        self.stdout.write(f"{len(results) - failed} ok, {failed} failed -> {json_path}")


def analyse_one_file(
    path: Path,
    *,
    with_features: bool,
    segment_seconds: float,
    max_seconds: float,
    feature_set_version: str,
) -> dict:
    result: dict = {
        "path": str(path),
        "status": "failed",
        "reason": None,
        "feature_set": feature_set_version,
        "segments": 0,
        "dims": feature_set(feature_set_version).dims,
        "audio_seconds": None,
        "cpu_seconds": None,
    }
    try:
        with path.open("rb") as audio_file:
            analysis = analyse_audio(
                audio_file,
                segment_seconds=segment_seconds,
                max_audio_seconds=max_seconds,
                feature_set_version=feature_set_version,
            )
    except AnalysisError as error:
        result["reason"] = error.reason
    except OSError as error:
        result["reason"] = f"cannot read the file: {error.strerror or error}"
    else:
        result.update(
            status="ok",
            segments=int(analysis.features.shape[0]),
            dims=int(analysis.features.shape[1]),
            audio_seconds=round(analysis.audio_seconds, 3),
            cpu_seconds=round(analysis.cpu_seconds, 4),
        )
        if with_features:
            result["features"] = analysis.features.tolist()
    if with_features and result["status"] == "failed":
        result["features"] = []
    return result
