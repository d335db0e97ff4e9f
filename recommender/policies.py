"""How the loop picks the emotion to recommend next. Pure functions, no Django.

Two policies, switchable with ``RECOMMENDATION_POLICY``:

``seed``
    Seed 002 §3.4 as written: recommend the most likely emotion of the listener's current
    mood; after a reject, re-analyse and take the next most likely emotion not rejected since
    the last accept; an accept confirms the emotion, which is kept while the mood allows.

``bandit``
    Thompson sampling with one Beta arm per emotion. The model's mood distribution is the
    prior (``p`` becomes ``Beta(1 + s·p, 1 + s·(1 − p))`` with prior strength ``s``); every
    accept of an emotion adds a success, every reject a failure. Each request draws one
    sample per arm and serves the best, so an emotion this listener keeps rejecting fades
    even if the model insists on it, and one they keep accepting wins even when the model is
    lukewarm; the occasional exploratory draw keeps learning. Moods change, so old answers
    fade: every new answer first multiplies the listener's counts by a decay factor
    (``RECOMMENDATION_FEEDBACK_DECAY``), which keeps roughly the last ``1 / (1 − decay)``
    answers in play.

Both take ``available``, the emotions that still have a track to recommend to this listener
(``recommender.selectors.emotions_with_unserved_tracks``): neither ever moves to an emotion
that would serve an empty page. With nothing available they return None.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

import numpy as np

SEED_RULE = "seed"
THOMPSON_SAMPLING = "bandit"
POLICIES = (SEED_RULE, THOMPSON_SAMPLING)


def seed_rule_target(
    probabilities: Mapping[str, float],
    *,
    rejected: Collection[str],
    confirmed: str = "",
    available: Collection[str] | None = None,
) -> str | None:
    """The confirmed emotion if it is still plausible, else the most likely one not rejected.

    When every emotion has been rejected the round starts over with the most likely one.
    Only ``available`` emotions are considered (all when None); None when none is.
    """
    ranked = [
        label
        for label in sorted(probabilities, key=lambda label: (-probabilities[label], label))
        if available is None or label in available
    ]
    if not ranked:
        return None
    if confirmed in ranked and confirmed not in rejected:
        return confirmed
    for label in ranked:
        if label not in rejected:
            return label
    return ranked[0]


def thompson_target(
    probabilities: Mapping[str, float],
    *,
    feedback: Mapping[str, Mapping[str, float]],
    prior_strength: float,
    rng: np.random.Generator,
    available: Collection[str] | None = None,
) -> str | None:
    """One draw per ``available`` arm (all when None), the best wins; None when none is."""
    labels = [label for label in sorted(probabilities) if available is None or label in available]
    if not labels:
        return None
    draws = []
    for label in labels:
        prior = float(probabilities[label])
        counts = feedback.get(label, {})
        alpha = 1.0 + prior_strength * prior + counts.get("accept", 0)
        beta = 1.0 + prior_strength * (1.0 - prior) + counts.get("reject", 0)
        draws.append(rng.beta(alpha, beta))
    return labels[int(np.argmax(draws))]


def fill_order(
    probabilities: Mapping[str, float],
    *,
    target: str,
    rejected: Collection[str],
    available: Collection[str],
) -> list[str]:
    """The emotions that fill a page whose target ran short, in the order they are used.

    The seed rule's own order: most likely first, emotions rejected since the last accept
    after the others (as when the seed rule starts a round over), never the target and never
    one with nothing left. The same order under both policies: a fill is about what is left,
    not a new draw.
    """
    return sorted(
        (label for label in probabilities if label != target and label in available),
        key=lambda label: (label in rejected, -probabilities[label], label),
    )


def discounted_feedback(
    feedback: Mapping[str, Mapping[str, float]], *, label: str, action: str, decay: float
) -> dict[str, dict[str, float]]:
    """The per-emotion accept/reject counts after one more answer, older answers decayed."""
    updated = {
        name: {kind: round(value * decay, 6) for kind, value in counts.items()}
        for name, counts in feedback.items()
    }
    counts = updated.setdefault(label, {"accept": 0.0, "reject": 0.0})
    counts[action] = counts.get(action, 0.0) + 1.0
    return updated
