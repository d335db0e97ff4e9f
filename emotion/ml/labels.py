"""Human-readable names for mood labels.

Labels themselves are plain strings taken from the training data (and stored in the model
artifact); this module only decides how to show them. Unknown labels fall back to the raw
string so a catalogue labelled another way (e.g. the paper's happy / fresh / relaxed / sad)
works without any change here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

# Russell's four quadrants of the valence–arousal plane, as used by the 4Q data set.
QUADRANT_DISPLAY_NAMES: Mapping[str, str] = {
    "Q1": "happy",
    "Q2": "tense / angry",
    "Q3": "sad",
    "Q4": "relaxed",
}

DISPLAY_NAMES: Mapping[str, str] = dict(QUADRANT_DISPLAY_NAMES)

DEFAULT_LABELS: tuple[str, ...] = ("Q1", "Q2", "Q3", "Q4")


def display_name(label: str, *, overrides: Mapping[str, str] | None = None) -> str:
    """The name to show for ``label``; ``overrides`` (e.g. from an artifact) win."""
    if overrides and label in overrides:
        return overrides[label]
    return DISPLAY_NAMES.get(label, label)


def display_names(
    labels: Iterable[str], *, overrides: Mapping[str, str] | None = None
) -> dict[str, str]:
    return {label: display_name(label, overrides=overrides) for label in labels}
