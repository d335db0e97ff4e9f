"""The synthetic music fixture: deterministic, fast, and in the quadrants' directions."""

from __future__ import annotations

import io
import time

import numpy as np
import pytest
import soundfile as sf

from emotion import synth
from emotion.features import SAMPLE_RATE, analyse_audio, extract_lld_sequence
from emotion.features.definition import ENERGY_SLICE, ZCR_SLICE


@pytest.fixture(scope="module")
def clips() -> dict[str, np.ndarray]:
    return {q: synth.render_clip(q, seed=3) for q in synth.QUADRANTS}


def test_same_seed_same_samples() -> None:
    first = synth.render_clip("Q2", seed=11, seconds=4.0)
    again = synth.render_clip("Q2", seed=11, seconds=4.0)
    other = synth.render_clip("Q2", seed=12, seconds=4.0)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_clip_format(clips: dict[str, np.ndarray]) -> None:
    assert synth.SAMPLE_RATE == SAMPLE_RATE
    for samples in clips.values():
        assert samples.dtype == np.float32
        assert samples.shape == (8 * SAMPLE_RATE,)
        assert np.isfinite(samples).all() and np.max(np.abs(samples)) <= 1.0


def test_rendering_is_fast() -> None:
    started = time.process_time()
    for quadrant in synth.QUADRANTS:
        synth.render_clip(quadrant, seed=5)
    assert (time.process_time() - started) / 4 < 0.2


def test_arousal_cues(clips: dict[str, np.ndarray]) -> None:
    tempo = {q: synth.plan_clip(q, seed=3).tempo_bpm for q in synth.QUADRANTS}
    notes_per_second = {q: len(synth.plan_clip(q, seed=3).melody) / 8.0 for q in synth.QUADRANTS}
    energy = {q: extract_lld_sequence(x)[:, ENERGY_SLICE].mean() for q, x in clips.items()}
    zcr = {q: extract_lld_sequence(x)[:, ZCR_SLICE].mean() for q, x in clips.items()}
    for high in ("Q1", "Q2"):
        for low in ("Q3", "Q4"):
            assert tempo[high] > tempo[low]
            assert notes_per_second[high] > notes_per_second[low]
            assert energy[high] > energy[low] + 3.0
            assert zcr[high] > zcr[low]


def test_valence_cues() -> None:
    assert synth.QUADRANT_STYLES["Q1"].scale == synth.QUADRANT_STYLES["Q4"].scale  # major
    for quadrant in ("Q2", "Q3"):
        assert 3 in synth.QUADRANT_STYLES[quadrant].scale  # minor third
        assert 4 not in synth.QUADRANT_STYLES[quadrant].scale
    low_q3 = synth.plan_clip("Q3", seed=3).tonic_midi
    high_q1 = synth.plan_clip("Q1", seed=3).tonic_midi
    assert high_q1 > low_q3 + 12


def test_catalogue_is_plausible_and_reproducible() -> None:
    catalogue = synth.render_catalogue(2, seed=1, seconds=2.0)
    again = synth.render_catalogue(2, seed=1, seconds=2.0)
    assert [t.quadrant for t in catalogue] == ["Q1", "Q1", "Q2", "Q2", "Q3", "Q3", "Q4", "Q4"]
    assert [(t.title, t.artist, t.album) for t in catalogue] == [
        (t.title, t.artist, t.album) for t in again
    ]
    assert len({t.title for t in catalogue}) == len(catalogue)
    assert all(t.title and t.artist and t.album for t in catalogue)
    np.testing.assert_array_equal(catalogue[0].samples, again[0].samples)


def test_written_wav_analyses(clips: dict[str, np.ndarray]) -> None:
    buffer = io.BytesIO()
    synth.write_wav(buffer, clips["Q4"])
    info = sf.info(io.BytesIO(buffer.getvalue()))
    assert (info.samplerate, info.channels, info.subtype) == (SAMPLE_RATE, 1, "PCM_16")
    analysis = analyse_audio(buffer.getvalue())
    assert analysis.features.shape[0] == 3  # 8 s: 2 whole segments + a 2 s remainder


def test_unknown_quadrant() -> None:
    with pytest.raises(ValueError, match="Q5"):
        synth.render_clip("Q5", seed=0)
