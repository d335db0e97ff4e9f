"""How a track is cut into segments, and how analysis frames map onto them.

Rules (in samples at ``SAMPLE_RATE``):

* Segments are consecutive and non-overlapping, ``S = round(segment_seconds * SAMPLE_RATE)``
  samples long, starting at sample 0.
* The trailing remainder after the last whole segment becomes a final, shorter segment if
  it is at least half a segment long, and is dropped otherwise. So a 30 s clip gives 10
  segments of 3 s (15 of 2 s), and a 29.98 s MP3 decode still gives 10, not 9.
* A clip shorter than one segment becomes a single segment of its own length if it is at
  least ``MIN_AUDIO_SECONDS`` long; anything shorter raises ``AudioTooShortError``.

All frame-based analyses share one frame grid: hop 512 samples at 22,050 Hz (23.2 ms;
hop 256 at the 11,025 Hz analysis rate), frame ``i`` *centred* on sample ``i * 512`` (as
librosa's ``center=True``). A frame belongs to the segment that contains its centre; the
frames whose centres lie in the analysed span are the only ones computed. Frames near a
segment boundary see a little of the neighbouring segment, as they would in any
frame-based analysis of the whole track.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .definition import HOP_LENGTH, SAMPLE_RATE
from .errors import AudioTooShortError

MIN_AUDIO_SECONDS = 1.0
MIN_SEGMENT_SECONDS = 0.5


@dataclass(frozen=True)
class SegmentLayout:
    starts: np.ndarray  # first sample of each segment
    ends: np.ndarray  # one past the last sample of each segment
    n_frames: int  # frames of the shared grid whose centre lies in [0, n_used)
    frame_segment: np.ndarray  # segment index of every frame
    first_frames: np.ndarray  # index of each segment's first frame (for np.add.reduceat)

    @property
    def n_segments(self) -> int:
        return len(self.starts)

    @property
    def n_used(self) -> int:
        """Samples covered by segments (the dropped remainder is not analysed)."""
        return int(self.ends[-1])

    def frames_per_segment(self) -> np.ndarray:
        return np.diff(np.append(self.first_frames, self.n_frames))


def plan_segments(n_samples: int, segment_seconds: float) -> SegmentLayout:
    if not math.isfinite(segment_seconds) or segment_seconds < MIN_SEGMENT_SECONDS:
        raise ValueError(f"segment_seconds must be at least {MIN_SEGMENT_SECONDS}")
    if n_samples < MIN_AUDIO_SECONDS * SAMPLE_RATE:
        raise AudioTooShortError(
            f"the audio is only {n_samples / SAMPLE_RATE:.2f} s long; at least "
            f"{MIN_AUDIO_SECONDS:.0f} s is needed to analyse its mood"
        )
    segment = round(segment_seconds * SAMPLE_RATE)
    n_whole, remainder = divmod(n_samples, segment)
    if n_whole == 0:
        starts, ends = np.array([0]), np.array([n_samples])
    else:
        starts = np.arange(n_whole) * segment
        ends = starts + segment
        if remainder >= segment / 2:
            starts = np.append(starts, n_whole * segment)
            ends = np.append(ends, n_samples)

    n_used = int(ends[-1])
    n_frames = -(-n_used // HOP_LENGTH)  # centres 0, 512, ... < n_used
    centres = np.arange(n_frames) * HOP_LENGTH
    frame_segment = np.searchsorted(starts, centres, side="right") - 1
    first_frames = -(-starts // HOP_LENGTH)
    return SegmentLayout(starts, ends, n_frames, frame_segment, first_frames)


def centred_frames(signal: np.ndarray, frame_length: int, hop: int, n_frames: int) -> np.ndarray:
    """A read-only (n_frames, frame_length) view; frame i is centred on sample i*hop.

    The signal is zero-padded at both ends, like librosa's ``center=True`` with
    ``pad_mode="constant"``.
    """
    half = frame_length // 2
    needed = (n_frames - 1) * hop + frame_length
    right = max(0, needed - half - len(signal))
    padded = np.pad(signal, (half, right))
    return sliding_window_view(padded, frame_length)[::hop][:n_frames]


def segment_means(per_frame: np.ndarray, layout: SegmentLayout) -> np.ndarray:
    """Mean over each segment's frames (rows of ``per_frame``)."""
    sums = np.add.reduceat(per_frame, layout.first_frames, axis=0)
    counts = layout.frames_per_segment().reshape((-1,) + (1,) * (per_frame.ndim - 1))
    return sums / counts


def subwindow_edges(layout: SegmentLayout, n_windows: int) -> np.ndarray:
    """(n_segments, n_windows + 1) sample boundaries of equal sub-windows per segment."""
    lengths = (layout.ends - layout.starts)[:, None]
    return layout.starts[:, None] + (lengths * np.arange(n_windows + 1)) // n_windows
