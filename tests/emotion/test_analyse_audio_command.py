"""The file-based command must work without a database: pytest-django blocks DB access here."""

import io
import json

import numpy as np
from django.core.management import call_command

from tests.emotion.audio_fixtures import music_wav


def test_analyse_audio_command_writes_one_object_per_file(tmp_path):
    good = tmp_path / "good.wav"
    good.write_bytes(music_wav(seconds=7))
    bad = tmp_path / "bad.mp3"
    bad.write_bytes(b"not audio at all" * 100)
    missing = tmp_path / "missing.wav"
    out = tmp_path / "result.json"

    call_command(
        "analyse_audio",
        str(good),
        str(bad),
        str(missing),
        "--json",
        str(out),
        "--with-features",
        stdout=io.StringIO(),
    )

    results = json.loads(out.read_text())
    assert [r["status"] for r in results] == ["ok", "failed", "failed"]
    ok = results[0]
    assert set(ok) >= {
        "path",
        "status",
        "reason",
        "segments",
        "dims",
        "audio_seconds",
        "cpu_seconds",
        "features",
    }
    assert (ok["segments"], ok["dims"], ok["reason"]) == (2, 550, None)
    assert ok["feature_set"] == "lld50-musicnn-v1"
    assert np.asarray(ok["features"]).shape == (2, 550)
    assert results[1]["reason"] and results[2]["reason"]


def test_analyse_audio_command_extracts_the_seed_llds_alone(tmp_path):
    good = tmp_path / "good.wav"
    good.write_bytes(music_wav(seconds=4))
    out = tmp_path / "result.json"
    call_command(
        "analyse_audio", str(good), "--json", str(out), "--feature-set", "lld50-v1",
        stdout=io.StringIO(),
    )  # fmt: skip
    (result,) = json.loads(out.read_text())
    assert (result["status"], result["dims"], result["feature_set"]) == ("ok", 50, "lld50-v1")
