"""The 50 low-level descriptors (LLDs): constants and the one table that defines them.

Every segment of a track becomes one 50-number vector. This module is the single source of
truth for what each number means; the README table is copied from ``FEATURE_DEFINITIONS``.
Bump ``LLD_FEATURE_SET_VERSION`` whenever any definition, constant or algorithm here or in the
extraction modules changes, so stored vectors from an older definition are never mixed with
new ones.

Why these definitions (the groups follow the research paper: 18 MFCC, 8 formant,
10 energy, 6 pitch, 8 zero-crossing-rate values):

* **MFCC c1..c18, segment mean.** Computed as librosa does (power STFT, n_fft 2048, hop 512,
  Hann window, 40 Slaney mel bands, ``10·log10(max(P, 1e-10))``, orthonormal DCT-II), once
  for the whole track, then averaged per segment. c0 is dropped: it is only the overall
  log level, which the energy group already carries, and without it a gain change leaves
  the MFCC group unchanged (a gain is a constant offset of every log-mel band, which only
  the DCT's constant basis vector c0 sees). librosa's default 80 dB ``top_db`` clipping is
  *not* applied, because it is relative to the loudest frame of whatever array it is given:
  with it a segment's MFCCs would depend on the rest of the track.
  Averaging the log-mel bands first and taking the DCT afterwards is the same number as
  averaging per-frame MFCCs (the DCT is linear), and cheaper.
* **Formants F1–F4 and bandwidths B1–B4.** The classical LPC definition (autocorrelation
  method, order 12 on audio at 11,025 Hz, i.e. the ``fs/1000 + 2`` rule), because it is what
  "formant" means in the speech literature the paper borrows from. In music these are the
  resonances of the spectral envelope (timbre/brightness), not vocal-tract formants.
  They are averaged over the segment's voiced (periodic) frames, where an all-pole envelope
  is meaningful; a segment with no voiced frame falls back to its non-silent frames, and a
  silent segment gives zeros.
* **Short-term average energy, 10 sub-windows:** ``max(0, 10·log10(mean(x²)) + 80)``, i.e.
  the level in dB above −80 dBFS. Logarithmic because loudness perception is; referenced to
  full scale (not normalised per track) because how loud a recording is mastered carries
  arousal information; floored at −80 dBFS (below 16-bit dither and MP3 noise floors) so
  digital silence is exactly 0 instead of −∞, and every value is non-negative. A full-scale
  sine reads about 77; a ×4 gain adds 12.04 to every value.
* **Pitch, 6 values** from a YIN tracker (see ``pitch.py``) over the segment's voiced
  frames: mean, standard deviation, 10th and 90th percentiles of F0 in Hz (percentiles
  rather than min/max, which octave errors dominate), the voiced-frame ratio, and the
  mean absolute frame-to-frame change in semitones between consecutive voiced frames
  (pitch movement, independent of register). A segment without voiced frames gives zeros.
* **Zero-crossing rate, 8 sub-windows:** sign changes between adjacent samples divided by
  the number of adjacent-sample pairs (0–1; a zero sample counts as positive, as in
  librosa), a cheap noisiness/brightness measure.

Energy and ZCR sub-windows split the segment into equal parts (integer sample boundaries
``start + floor(j·n/k)``), so a shorter final segment still gives 10 and 8 values.
"""

from __future__ import annotations

from dataclasses import dataclass

LLD_FEATURE_SET_VERSION = "lld50-v1"

SAMPLE_RATE = 22_050
N_LLD_FEATURES = 50
DEFAULT_SEGMENT_SECONDS = 3.0

# --- parameters that the definitions above depend on (changing any needs a version bump) ---
N_MFCC = 18
N_MELS = 40
N_FFT = 2048
HOP_LENGTH = 512
LOG_POWER_FLOOR = 1e-10

ANALYSIS_SAMPLE_RATE = 11_025  # pitch and formant analysis rate
ANALYSIS_HOP = HOP_LENGTH * ANALYSIS_SAMPLE_RATE // SAMPLE_RATE  # same 23.2 ms frame grid

N_FORMANTS = 4
N_ENERGY_WINDOWS = 10
N_ZCR_WINDOWS = 8
ENERGY_FLOOR_DBFS = -80.0

# A frame or a track whose level is below this is treated as silence.
SILENCE_DBFS = -60.0

PITCH_FMIN_HZ = 55.0
PITCH_FMAX_HZ = 1000.0


@dataclass(frozen=True)
class FeatureDefinition:
    index: int
    name: str
    group: str
    unit: str
    description: str


def _mfcc_rows() -> list[tuple[str, str, str, str]]:
    return [
        (
            f"mfcc_{k:02d}",
            "mfcc",
            "dB (DCT of log-mel)",
            f"MFCC c{k}: segment mean of coefficient {k} of the orthonormal DCT-II of the "
            f"{N_MELS}-band Slaney mel power spectrum in dB (n_fft {N_FFT}, hop {HOP_LENGTH}, "
            "Hann); as librosa with top_db=None.",
        )
        for k in range(1, N_MFCC + 1)
    ]


def _formant_rows() -> list[tuple[str, str, str, str]]:
    centres = [
        (
            f"formant_f{k}_hz",
            "formant",
            "Hz",
            f"F{k}: mean centre frequency of the {_ordinal(k)} LPC resonance (order 12 at "
            "11,025 Hz; 90 Hz < f < 5,463 Hz, bandwidth < 400 Hz) over the segment's voiced "
            "frames (else its non-silent frames; 0 if none).",
        )
        for k in range(1, N_FORMANTS + 1)
    ]
    bandwidths = [
        (
            f"formant_b{k}_hz",
            "formant",
            "Hz",
            f"B{k}: mean -3 dB bandwidth of the {_ordinal(k)} LPC resonance, "
            "-fs/pi*ln|root|, over the same frames.",
        )
        for k in range(1, N_FORMANTS + 1)
    ]
    return centres + bandwidths


def _energy_rows() -> list[tuple[str, str, str, str]]:
    return [
        (
            f"energy_{k:02d}",
            "energy",
            "dB above -80 dBFS",
            f"Short-term average energy of sub-window {k}/{N_ENERGY_WINDOWS}: "
            "max(0, 10*log10(mean(x^2)) + 80); digital silence is 0.",
        )
        for k in range(1, N_ENERGY_WINDOWS + 1)
    ]


def _pitch_rows() -> list[tuple[str, str, str, str]]:
    return [
        ("pitch_mean_hz", "pitch", "Hz", "Mean F0 over the segment's voiced frames (YIN)."),
        ("pitch_std_hz", "pitch", "Hz", "Standard deviation of F0 over voiced frames."),
        ("pitch_p10_hz", "pitch", "Hz", "10th percentile of F0 over voiced frames."),
        ("pitch_p90_hz", "pitch", "Hz", "90th percentile of F0 over voiced frames."),
        ("voiced_ratio", "pitch", "ratio 0-1", "Share of the segment's frames that are voiced."),
        (
            "pitch_movement_st",
            "pitch",
            "semitones",
            "Mean absolute F0 change between consecutive voiced frames (pitch movement).",
        ),
    ]


def _zcr_rows() -> list[tuple[str, str, str, str]]:
    return [
        (
            f"zcr_{k:02d}",
            "zcr",
            "crossings per sample",
            f"Zero-crossing rate of sub-window {k}/{N_ZCR_WINDOWS}: sign changes between "
            "adjacent samples / number of adjacent pairs.",
        )
        for k in range(1, N_ZCR_WINDOWS + 1)
    ]


def _ordinal(k: int) -> str:
    return {1: "1st", 2: "2nd", 3: "3rd"}.get(k, f"{k}th")


FEATURE_DEFINITIONS: tuple[FeatureDefinition, ...] = tuple(
    FeatureDefinition(index, name, group, unit, description)
    for index, (name, group, unit, description) in enumerate(
        _mfcc_rows() + _formant_rows() + _energy_rows() + _pitch_rows() + _zcr_rows()
    )
)
FEATURE_NAMES: tuple[str, ...] = tuple(d.name for d in FEATURE_DEFINITIONS)

# Column slices, so the extraction code and tests never hard-code offsets.
MFCC_SLICE = slice(0, 18)
FORMANT_SLICE = slice(18, 26)
ENERGY_SLICE = slice(26, 36)
PITCH_SLICE = slice(36, 42)
ZCR_SLICE = slice(42, 50)

assert len(FEATURE_DEFINITIONS) == N_LLD_FEATURES
assert ZCR_SLICE.stop == N_LLD_FEATURES
