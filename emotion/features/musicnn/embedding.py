"""Per-segment musicnn embeddings, on the same segments as the LLDs.

For every segment of a ``SegmentLayout`` (22,050 Hz sample boundaries), both models read the
log-mel frames whose centres fall inside the segment, at most one 3-s patch (187 frames),
and return their tag probabilities and penultimate layer. The log-mel is computed once per
track and shared by both models, and the segments go through each model in batches.
"""

from __future__ import annotations

import functools

import numpy as np
import soxr
import torch

from ..segments import SegmentLayout
from . import frontend
from .model import N_TAGS, PENULTIMATE_UNITS
from .weights import MUSICNN_MODELS, load_musicnn

# Per model: tags then penultimate, in MUSICNN_MODELS order.
EMBEDDING_BLOCKS = tuple(
    (f"{name.split('_')[0].lower()}_{part}", size)
    for name in MUSICNN_MODELS
    for part, size in (("tags", N_TAGS), ("penultimate", PENULTIMATE_UNITS))
)
EMBEDDING_DIMS = sum(size for _, size in EMBEDDING_BLOCKS)
# Segments per forward pass: a 30-s clip in one go, while a 20-minute track's activations
# stay near 100 MB instead of growing with its length.
_BATCH_SEGMENTS = 10


@functools.cache
def _models() -> tuple[torch.nn.Module, ...]:
    """Both networks, loaded once per process."""
    return tuple(load_musicnn(name) for name in MUSICNN_MODELS)


def segment_frame_spans(layout: SegmentLayout, sample_rate: int) -> list[tuple[int, int]]:
    """(first frame, frame count) of each segment on musicnn's 16 kHz, hop-256 frame grid.

    A frame belongs to the segment containing its centre, as on the LLD grid; a segment
    reads at most one patch, so 3-s segments read 187 of their 187 or 188 frames.
    """
    scale = frontend.SAMPLE_RATE  # frame i is centred at i·256/16000 s = i·256·sr/16000 samples
    step = frontend.HOP_LENGTH * sample_rate
    firsts = -(-layout.starts * scale // step)
    ends = -(-layout.ends * scale // step)
    counts = np.minimum(ends - firsts, frontend.PATCH_FRAMES)
    return [(int(first), int(count)) for first, count in zip(firsts, counts, strict=True)]


def embed_segments(signal: np.ndarray, layout: SegmentLayout, sample_rate: int) -> np.ndarray:
    """``(n_segments, EMBEDDING_DIMS)`` float32: per segment, MSD tags and penultimate, then
    MTT tags and penultimate. ``signal`` is the mono float32 audio the layout was planned on."""
    audio = soxr.resample(signal, sample_rate, frontend.SAMPLE_RATE, quality="HQ")
    log_mel = frontend.log_mel(audio)
    spans = segment_frame_spans(layout, sample_rate)
    output = np.empty((len(spans), EMBEDDING_DIMS), dtype=np.float32)
    # Group segments by length: full patches batch together, a short last one goes alone.
    by_length: dict[int, list[int]] = {}
    for index, (first, count) in enumerate(spans):
        available = max(0, min(count, len(log_mel) - first))
        by_length.setdefault(available, []).append(index)
    with torch.inference_mode():
        for length, indices in by_length.items():
            for start in range(0, len(indices), _BATCH_SEGMENTS):
                batch_indices = indices[start : start + _BATCH_SEGMENTS]
                patches = np.stack(
                    [log_mel[spans[i][0] : spans[i][0] + length] for i in batch_indices]
                )
                output[batch_indices] = _embed_patches(torch.from_numpy(patches))
    return output


def _embed_patches(patches: torch.Tensor) -> np.ndarray:
    parts = []
    for model in _models():
        result = model(patches)
        parts += [result.tags, result.penultimate]
    return torch.cat(parts, dim=1).numpy()
