"""The worker-facing entry points: ``analyse_audio`` (decode + checks + features) and ``warm_up``.

Order of checks in ``analyse_audio``: decoding errors (empty, not audio, unsupported codec,
damaged, NaN/inf, too long — see ``decoding``), then silence (peak below −60 dBFS: a
silent track has no mood to tag), then minimum length (``segments``). ``cpu_seconds`` is
``time.process_time`` over decode and extraction, so it measures this process's CPU cost
whatever else the machine is doing.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass

import numpy as np
import soundfile as sf
import soxr

from .decoding import AudioSource, decode_audio
from .definition import (
    ANALYSIS_SAMPLE_RATE,
    DEFAULT_SEGMENT_SECONDS,
    N_LLD_FEATURES,
    SAMPLE_RATE,
    SILENCE_DBFS,
)
from .errors import EmbeddingError, SilentAudioError
from .feature_sets import DEFAULT_FEATURE_SET_VERSION, feature_set
from .lld import extract_lld_sequence
from .musicnn.embedding import embed_segments
from .segments import SegmentLayout, plan_segments
from .spectrogram import log_mel_summary, residual_phase_features

_SILENT_PEAK = 10.0 ** (SILENCE_DBFS / 20.0)
_WARM_UP_SECONDS = 4.0


@dataclass(frozen=True)
class FeatureAnalysis:
    features: np.ndarray  # float32, (n_segments, the feature set's dims)
    audio_seconds: float  # duration of the decoded audio
    cpu_seconds: float  # process CPU time for decode + extraction
    feature_set_version: str
    segment_seconds: float


def analyse_audio(
    source: AudioSource,
    *,
    segment_seconds: float = DEFAULT_SEGMENT_SECONDS,
    max_audio_seconds: float | None = None,
    feature_set_version: str = DEFAULT_FEATURE_SET_VERSION,
) -> FeatureAnalysis:
    """Decode ``source`` (path, bytes or binary file object) and extract its per-segment
    features: the LLDs, then the musicnn embeddings, the log-mel summary and the residual
    phase if the feature set has them, all from the same decode and on the same segments.

    Raises a ``BadAudioError`` subclass, with a ``reason`` to show the uploader, for audio
    that cannot be analysed, and ``EmbeddingError`` when the embedding step fails.
    """
    definition = feature_set(feature_set_version)
    started = time.process_time()
    samples = decode_audio(source, max_audio_seconds=max_audio_seconds)
    reject_silence(samples)
    features = extract_lld_sequence(samples, segment_seconds=segment_seconds)
    if definition.dims > N_LLD_FEATURES:
        layout = plan_segments(len(samples), segment_seconds)
        used = samples[: layout.n_used]
        blocks = [features]
        if definition.has_embeddings:
            blocks.append(_embeddings(used, layout))
        # The log-mel frames and the 11,025 Hz copy are computed again here rather than
        # threaded out of the LLD extraction: 0.03-0.1 s per 30-s clip, only for this set.
        if definition.has_block("log_mel"):
            blocks.append(log_mel_summary(used, layout))
        if definition.has_block("residual_phase"):
            low_rate = soxr.resample(used, SAMPLE_RATE, ANALYSIS_SAMPLE_RATE, quality="HQ")
            blocks.append(residual_phase_features(low_rate, layout))
        features = np.hstack(blocks).astype(np.float32)
    assert features.shape[1] == definition.dims
    return FeatureAnalysis(
        features=features,
        audio_seconds=len(samples) / SAMPLE_RATE,
        cpu_seconds=time.process_time() - started,
        feature_set_version=definition.version,
        segment_seconds=segment_seconds,
    )


def _embeddings(samples: np.ndarray, layout: SegmentLayout) -> np.ndarray:
    try:
        embeddings = embed_segments(samples, layout, SAMPLE_RATE)
    except Exception as error:  # noqa: BLE001 - any failure of the step is the track's outcome
        raise EmbeddingError(
            f"the musicnn embedding step failed ({type(error).__name__}: {error}); "
            "the audio itself decoded fine, so an operator should check the worker "
            "(scripts/bootstrap converts the musicnn weights) and re-analyse the track"
        ) from error
    if not np.isfinite(embeddings).all():
        raise EmbeddingError("the musicnn embeddings came out non-finite; re-analyse the track")
    return embeddings


def reject_silence(samples: np.ndarray) -> None:
    peak = float(np.max(np.abs(samples))) if samples.size else 0.0
    if peak < _SILENT_PEAK:
        level = "digital silence" if peak == 0.0 else f"peak {20 * np.log10(peak):.0f} dBFS"
        raise SilentAudioError(
            f"the track is silent ({level}, below the {SILENCE_DBFS:.0f} dBFS threshold), "
            "so it has no mood to tag; check the file or its volume and re-upload"
        )


def warm_up(feature_set_version: str = DEFAULT_FEATURE_SET_VERSION) -> float:
    """Run the whole pipeline once on a generated clip; return the wall seconds it took.

    Call at worker start-up so lazy imports (librosa pulls in numba), FFT plans, the mel
    filter bank, libsndfile initialisation and loading the musicnn weights are not paid by
    the first real track.
    """
    started = time.perf_counter()
    analyse_audio(_warm_up_clip_wav(), feature_set_version=feature_set_version)
    return time.perf_counter() - started


def _warm_up_clip_wav() -> bytes:
    """A pitched tone with a little noise, so every code path (voiced frames, formants)
    runs, encoded as 16-bit WAV so decoding is exercised too."""
    t = np.arange(int(_WARM_UP_SECONDS * SAMPLE_RATE)) / SAMPLE_RATE
    tone = sum(np.sin(2 * np.pi * 220.0 * k * t) / k for k in range(1, 6))
    noise = np.random.default_rng(0).standard_normal(t.size)
    clip = (0.2 * tone + 0.01 * noise).astype(np.float32)
    buffer = io.BytesIO()
    sf.write(buffer, clip, SAMPLE_RATE, format="WAV", subtype="PCM_16")
    return buffer.getvalue()
