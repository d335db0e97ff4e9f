"""The recommender tests' active model and tagged catalogue, shared with the emotion tests
(``test_valence_arousal``) rather than built a second way."""

from tests.recommender.conftest import (  # noqa: F401 - fixtures, registered by import
    active_model,
    mood_catalogue,
    trained_mood_model,
)
