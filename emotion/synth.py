"""Deterministic synthetic music whose parameters follow Russell's four emotion quadrants.

A fixture for demos and tests (a catalogue that looks plausible and exercises every code
path without shipping real recordings), never a benchmark: the music is crude additive
synthesis, and a model that scores well on it has learned the rules below, not emotion.

Musical parameters per quadrant follow the usual music-psychology findings (Gabrielsson &
Lindström; Juslin): arousal goes with tempo, loudness, brightness and articulation,
valence with mode and consonance.

=====  ==============  ============  ==========  ========  ==========  =============
quad   tempo (BPM)     mode          register    level     timbre      articulation
=====  ==============  ============  ==========  ========  ==========  =============
Q1     132–160         major         high        loud      bright      staccato, hats
Q2     138–170         harm. minor   mid-low     loud      harsh       accented, +b2
Q3     56–72           minor         low         soft      dark        legato
Q4     76–96           major         mid         soft      warm        legato
=====  ==============  ============  ==========  ========  ==========  =============

A clip is first *planned* (tempo, key, a list of ``Note`` events; see ``plan_clip``) and
then *rendered* (``render_plan``): each note is a sum of harmonics with amplitudes
``k^-rolloff`` (read from a cached one-period wavetable, so cost does not grow with the
number of harmonics) under an ADSR envelope; chords (one per bar, from a quadrant-typical
progression) accompany a random-walk melody; high-arousal quadrants add noise hi-hats and
a sine kick. Everything draws from one ``numpy.random.Generator`` seeded by
``(seed, quadrant)``, so the same arguments always give identical samples.
"""

from __future__ import annotations

import functools
import io
import os
from dataclasses import dataclass
from typing import IO

import numpy as np
import soundfile as sf

SAMPLE_RATE = 22_050  # equals emotion.features.SAMPLE_RATE; not imported to keep this light
QUADRANTS: tuple[str, ...] = ("Q1", "Q2", "Q3", "Q4")

_MAJOR = (0, 2, 4, 5, 7, 9, 11)
_NATURAL_MINOR = (0, 2, 3, 5, 7, 8, 10)
_HARMONIC_MINOR = (0, 2, 3, 5, 7, 8, 11)


@dataclass(frozen=True)
class QuadrantStyle:
    tempo_bpm: tuple[float, float]
    scale: tuple[int, ...]
    progression: tuple[int, ...]  # scale degrees (0-based) of the chord roots, one per bar
    melody_root_midi: tuple[int, int]  # tonic range of the melody
    notes_per_beat: int  # melody subdivision
    rest_probability: float
    articulation: float  # sounding share of each melody step (staccato < 0.5 < legato)
    attack_s: float
    release_s: float
    harmonics: int
    rolloff: float  # harmonic k has amplitude k**-rolloff: lower is brighter
    peak_dbfs: float
    accent: float  # extra gain on the first note of each beat
    dissonance: bool  # add a minor second above each chord root
    percussion: float  # level of hats/kick, 0 for none


QUADRANT_STYLES: dict[str, QuadrantStyle] = {
    "Q1": QuadrantStyle(
        tempo_bpm=(132, 160),
        scale=_MAJOR,
        progression=(0, 4, 5, 3),
        melody_root_midi=(72, 79),
        notes_per_beat=2,
        rest_probability=0.1,
        articulation=0.4,
        attack_s=0.005,
        release_s=0.04,
        harmonics=10,
        rolloff=1.0,
        peak_dbfs=-3.0,
        accent=0.3,
        dissonance=False,
        percussion=0.25,
    ),
    "Q2": QuadrantStyle(
        tempo_bpm=(138, 170),
        scale=_HARMONIC_MINOR,
        progression=(0, 0, 5, 4),
        melody_root_midi=(55, 62),
        notes_per_beat=2,
        rest_probability=0.05,
        articulation=0.7,
        attack_s=0.003,
        release_s=0.05,
        harmonics=16,
        rolloff=0.7,
        peak_dbfs=-2.0,
        accent=0.6,
        dissonance=True,
        percussion=0.35,
    ),
    "Q3": QuadrantStyle(
        tempo_bpm=(56, 72),
        scale=_NATURAL_MINOR,
        progression=(0, 5, 3, 4),
        melody_root_midi=(50, 57),
        notes_per_beat=1,
        rest_probability=0.15,
        articulation=1.0,
        attack_s=0.12,
        release_s=0.5,
        harmonics=5,
        rolloff=2.2,
        peak_dbfs=-20.0,
        accent=0.0,
        dissonance=False,
        percussion=0.0,
    ),
    "Q4": QuadrantStyle(
        tempo_bpm=(76, 96),
        scale=_MAJOR,
        progression=(0, 3, 0, 4),
        melody_root_midi=(62, 69),
        notes_per_beat=1,
        rest_probability=0.1,
        articulation=0.95,
        attack_s=0.06,
        release_s=0.35,
        harmonics=7,
        rolloff=1.7,
        peak_dbfs=-14.0,
        accent=0.1,
        dissonance=False,
        percussion=0.0,
    ),
}

_BEATS_PER_BAR = 4


@dataclass(frozen=True)
class Note:
    start_s: float
    duration_s: float
    midi: float
    gain: float


@dataclass(frozen=True)
class ClipPlan:
    quadrant: str
    seconds: float
    tempo_bpm: float
    tonic_midi: int
    melody: tuple[Note, ...]
    chords: tuple[Note, ...]
    beats_s: tuple[float, ...]  # beat times, for the percussion


@dataclass(frozen=True)
class SyntheticTrack:
    title: str
    artist: str
    album: str
    quadrant: str
    samples: np.ndarray  # mono float32 at SAMPLE_RATE
    seed: int = 0

    @property
    def seconds(self) -> float:
        return len(self.samples) / SAMPLE_RATE


def render_clip(quadrant: str, *, seed: int, seconds: float = 8.0) -> np.ndarray:
    """A mono float32 clip at ``SAMPLE_RATE`` in the style of ``quadrant`` ("Q1".."Q4")."""
    return render_plan(plan_clip(quadrant, seed=seed, seconds=seconds), seed=seed)


def plan_clip(quadrant: str, *, seed: int, seconds: float = 8.0) -> ClipPlan:
    style = _style(quadrant)
    if not 0.5 <= seconds <= 600:
        raise ValueError("seconds must be between 0.5 and 600")
    rng = _rng(quadrant, seed, stream=0)
    tempo = float(rng.uniform(*style.tempo_bpm))
    beat = 60.0 / tempo
    tonic = int(rng.integers(style.melody_root_midi[0], style.melody_root_midi[1] + 1))
    n_beats = int(np.ceil(seconds / beat))
    return ClipPlan(
        quadrant=quadrant,
        seconds=seconds,
        tempo_bpm=tempo,
        tonic_midi=tonic,
        melody=_plan_melody(style, rng, tonic, beat, n_beats),
        chords=_plan_chords(style, tonic, beat, n_beats),
        beats_s=tuple(float(b * beat) for b in range(n_beats)),
    )


def _plan_melody(
    style: QuadrantStyle, rng: np.random.Generator, tonic: int, beat: float, n_beats: int
) -> tuple[Note, ...]:
    step = beat / style.notes_per_beat
    degree = 0
    notes = []
    for index in range(n_beats * style.notes_per_beat):
        # A bounded random walk over scale degrees, mostly stepwise like a sung melody.
        degree = int(np.clip(degree + rng.choice((-2, -1, -1, 0, 1, 1, 2)), -3, 9))
        if rng.random() < style.rest_probability:
            continue
        on_beat = index % style.notes_per_beat == 0
        notes.append(
            Note(
                start_s=index * step,
                duration_s=step * style.articulation,
                midi=tonic + _degree_to_semitones(style.scale, degree),
                gain=1.0 + (style.accent if on_beat else 0.0),
            )
        )
    return tuple(notes)


def _plan_chords(style: QuadrantStyle, tonic: int, beat: float, n_beats: int) -> tuple[Note, ...]:
    bar = beat * _BEATS_PER_BAR
    n_bars = -(-n_beats // _BEATS_PER_BAR)
    notes = []
    for bar_index in range(n_bars):
        root = style.progression[bar_index % len(style.progression)]
        intervals = [_degree_to_semitones(style.scale, root + k) for k in (0, 2, 4)]
        if style.dissonance:
            intervals.append(intervals[0] + 1)  # a minor second: harsh, tense
        for interval in intervals:
            notes.append(Note(bar_index * bar, bar * 0.98, tonic - 12 + interval, 0.35))
    return tuple(notes)


def _degree_to_semitones(scale: tuple[int, ...], degree: int) -> int:
    octave, index = divmod(degree, len(scale))
    return 12 * octave + scale[index]


def render_plan(plan: ClipPlan, *, seed: int) -> np.ndarray:
    style = _style(plan.quadrant)
    n_samples = int(round(plan.seconds * SAMPLE_RATE))
    mix = np.zeros(n_samples, dtype=np.float64)
    for note in plan.melody + plan.chords:
        _add_note(mix, note, style)
    if style.percussion > 0:
        _add_percussion(mix, plan.beats_s, style, _rng(plan.quadrant, seed, stream=1))
    peak = np.max(np.abs(mix))
    if peak > 0:
        mix *= 10.0 ** (style.peak_dbfs / 20.0) / peak
    return mix.astype(np.float32)


def _add_note(mix: np.ndarray, note: Note, style: QuadrantStyle) -> None:
    start = int(note.start_s * SAMPLE_RATE)
    length = min(int((note.duration_s + style.release_s) * SAMPLE_RATE), len(mix) - start)
    if length <= 0:
        return
    frequency = 440.0 * 2.0 ** ((note.midi - 69) / 12.0)
    # Harmonics above ~Nyquist would alias into inharmonic noise, so the table is chosen
    # per note by how many harmonics fit.
    n_harmonics = max(1, min(style.harmonics, int((SAMPLE_RATE / 2 - 500) // frequency)))
    table = _wavetable(n_harmonics, style.rolloff)
    position = (frequency * _TABLE_SIZE / SAMPLE_RATE) * np.arange(length) % _TABLE_SIZE
    index = position.astype(np.int64)
    fraction = position - index
    tone = table[index] * (1.0 - fraction) + table[index + 1] * fraction
    mix[start : start + length] += note.gain * tone * _adsr(length, note.duration_s, style)


_TABLE_SIZE = 4096


@functools.cache
def _wavetable(n_harmonics: int, rolloff: float) -> np.ndarray:
    """One period of the additive tone (harmonic k at amplitude k**-rolloff), normalised,
    with the first sample repeated at the end for linear interpolation."""
    harmonics = np.arange(1, n_harmonics + 1)
    weights = harmonics ** (-rolloff)
    phase = 2.0 * np.pi * np.arange(_TABLE_SIZE + 1) / _TABLE_SIZE
    return weights @ np.sin(np.outer(harmonics, phase)) / weights.sum()


def _adsr(length: int, hold_s: float, style: QuadrantStyle) -> np.ndarray:
    """Attack to 1, decay to a 0.7 sustain, release after ``hold_s``."""
    t = np.arange(length) / SAMPLE_RATE
    decay_s = 0.08
    envelope = np.where(
        t < style.attack_s,
        t / style.attack_s,
        0.7 + 0.3 * np.exp(-(t - style.attack_s) / decay_s),
    )
    after = t > hold_s
    envelope[after] *= np.exp(-(t[after] - hold_s) / (style.release_s / 5.0))
    return envelope


def _add_percussion(
    mix: np.ndarray, beats_s: tuple[float, ...], style: QuadrantStyle, rng: np.random.Generator
) -> None:
    """Hi-hats on every beat and off-beat, a kick on every other beat."""
    if not beats_s:
        return
    beat = beats_s[1] - beats_s[0] if len(beats_s) > 1 else 0.5
    t_hat = np.arange(int(0.04 * SAMPLE_RATE)) / SAMPLE_RATE
    t_kick = np.arange(int(0.15 * SAMPLE_RATE)) / SAMPLE_RATE
    # Kick: a sine falling from 120 Hz to 50 Hz. Hat: differenced (bright) white noise.
    kick = np.sin(2 * np.pi * (50 * t_kick + 70 * 0.03 * (1 - np.exp(-t_kick / 0.03))))
    kick *= np.exp(-t_kick / 0.05)
    for index, start_s in enumerate(beats_s):
        for hat_s in (start_s, start_s + beat / 2):
            noise = np.diff(rng.standard_normal(len(t_hat) + 1)) * np.exp(-t_hat / 0.012)
            _add_at(mix, int(hat_s * SAMPLE_RATE), style.percussion * 0.5 * noise)
        if index % 2 == 0:
            _add_at(mix, int(start_s * SAMPLE_RATE), style.percussion * 2.0 * kick)


def _add_at(mix: np.ndarray, start: int, sound: np.ndarray) -> None:
    end = min(start + len(sound), len(mix))
    if end > start:
        mix[start:end] += sound[: end - start]


def write_wav(path_or_file: str | os.PathLike[str] | IO[bytes], samples: np.ndarray) -> None:
    """Write ``samples`` as 16-bit PCM mono WAV at ``SAMPLE_RATE``."""
    sf.write(path_or_file, samples, SAMPLE_RATE, format="WAV", subtype="PCM_16")


def wav_bytes(samples: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    write_wav(buffer, samples)
    return buffer.getvalue()


# --- a plausible-looking catalogue ---------------------------------------------------------

# The stable artist split of training runs and the demo model
# (``emotion.ml.evaluation.stable_artist_holdout``, 20 % by default) holds out each emotion's
# first artist and keeps its second, so a catalogue of two or more tracks per emotion is
# measured on every emotion. The split hashes the names: a renamed or reordered artist may
# change sides (``tests/test_seed_demo.py`` checks).
_ARTISTS: dict[str, tuple[str, ...]] = {
    "Q1": ("The Marigold Parade", "Lemon Skies", "Sunny Side Up", "Confetti Club"),
    "Q2": ("Iron Static", "Black Voltage", "Razorline", "The Riot Engine"),
    "Q3": ("Grey November", "Willow & Ash", "The Empty Rooms", "Lanterns in the Rain"),
    "Q4": ("Evening Tide", "Still Water", "Linen & Pine", "Harbour Lights"),
}
_TITLE_WORDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "Q1": (
        ("Golden", "Bright", "Dancing", "Sunny", "Electric", "Happy"),
        ("Morning", "Summer", "Parade", "Sunshine", "Holiday", "Heartbeat"),
    ),
    "Q2": (
        ("Burning", "Broken", "Savage", "Iron", "Restless", "Black"),
        ("Engine", "Fury", "Wires", "Storm", "Machine", "Alarm"),
    ),
    "Q3": (
        ("Fading", "Lonely", "Grey", "Silent", "Distant", "Falling"),
        ("Letters", "Winter", "Rain", "Goodbye", "Shadows", "Rooms"),
    ),
    "Q4": (
        ("Quiet", "Gentle", "Slow", "Soft", "Evening", "Warm"),
        ("Harbour", "Meadow", "Tide", "Breeze", "Garden", "Lullaby"),
    ),
}
_ALBUM_WORDS = ("Songs", "Stories", "Sessions", "Postcards", "Chapters", "Hours")


def render_catalogue(
    n_per_quadrant: int, *, seed: int, seconds: float = 8.0
) -> list[SyntheticTrack]:
    """``n_per_quadrant`` tracks per quadrant with made-up but stable titles and artists.

    Each artist has one album; a track's seed is derived from ``seed`` (non-negative) and
    its position, so the whole catalogue is reproducible.
    """
    if seed < 0 or n_per_quadrant < 0:
        raise ValueError("seed and n_per_quadrant must be non-negative")
    tracks = []
    for quadrant in QUADRANTS:
        rng = _rng(quadrant, seed, stream=2)
        adjectives, nouns = _TITLE_WORDS[quadrant]
        titles = [f"{a} {n}" for a in adjectives for n in nouns]
        order = rng.permutation(len(titles))
        artists = _ARTISTS[quadrant]
        for index in range(n_per_quadrant):
            round_, position = divmod(index, len(titles))
            title = titles[order[position]] + (f" {_roman(round_ + 1)}" if round_ else "")
            artist = artists[index % len(artists)]
            album_word = _ALBUM_WORDS[sum(map(ord, artist)) % len(_ALBUM_WORDS)]
            track_seed = seed * 100_000 + index
            tracks.append(
                SyntheticTrack(
                    title=title,
                    artist=artist,
                    album=f"{album_word} of {artist.removeprefix('The ')}",
                    quadrant=quadrant,
                    samples=render_clip(quadrant, seed=track_seed, seconds=seconds),
                    seed=track_seed,
                )
            )
    return tracks


def _roman(number: int) -> str:
    numerals = ((10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I"))
    out = ""
    for value, symbol in numerals:
        while number >= value:
            out, number = out + symbol, number - value
    return out


def _style(quadrant: str) -> QuadrantStyle:
    try:
        return QUADRANT_STYLES[quadrant]
    except KeyError:
        raise ValueError(f"quadrant must be one of {QUADRANTS}, not {quadrant!r}") from None


def _rng(quadrant: str, seed: int, *, stream: int) -> np.random.Generator:
    return np.random.default_rng([seed, QUADRANTS.index(quadrant), stream])
