"""Ordering the candidate tracks of one emotion. Pure functions, no Django.

score = P(target emotion | track)
        + popularity_weight × log(1 + plays in the popularity window) / log(1 + max plays)
        − artist_repeat_penalty × (tracks of the same artist already placed higher)

The emotion probability dominates (the product's promise is "tracks that match how you
feel"); popularity breaks near-ties towards tracks other listeners keep playing, on a log
scale so a few hits cannot drown the rest; the artist penalty, applied greedily, keeps a page
from being one artist's discography.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol


class RankableTrack(Protocol):
    track_id: int
    artist: str
    probability: float


@dataclass(frozen=True)
class RankedTrack:
    candidate: RankableTrack
    score: float
    reasons: dict[str, float] = field(default_factory=dict)


def rank_candidates(
    candidates: Sequence[RankableTrack],
    *,
    popularity: Mapping[int, int],
    limit: int,
    popularity_weight: float,
    artist_repeat_penalty: float,
    already_placed: Mapping[str, int] | None = None,
) -> list[RankedTrack]:
    """The best ``limit`` candidates, greedily (see the module).

    ``already_placed`` counts tracks per artist (casefolded) placed before these candidates,
    e.g. earlier on an emotion journey; they count towards the artist-repeat penalty.
    """
    most_played = max(popularity.values(), default=0)
    scale = math.log1p(most_played) or 1.0
    base = {
        c.track_id: c.probability
        + popularity_weight * math.log1p(popularity.get(c.track_id, 0)) / scale
        for c in candidates
    }
    remaining = list(candidates)
    placed_per_artist: Counter[str] = Counter(already_placed or {})
    ranked: list[RankedTrack] = []
    while remaining and len(ranked) < limit:
        best = max(
            remaining,
            key=lambda c: (
                base[c.track_id] - artist_repeat_penalty * placed_per_artist[c.artist.casefold()],
                -c.track_id,
            ),
        )
        remaining.remove(best)
        repeats = placed_per_artist[best.artist.casefold()]
        placed_per_artist[best.artist.casefold()] += 1
        ranked.append(
            RankedTrack(
                candidate=best,
                score=round(base[best.track_id] - artist_repeat_penalty * repeats, 6),
                reasons={
                    "emotion_probability": round(best.probability, 6),
                    "plays_recently": popularity.get(best.track_id, 0),
                    "same_artist_above": repeats,
                },
            )
        )
    return ranked
