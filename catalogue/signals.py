"""Extension points of the catalogue for apps that build on it.

The catalogue sits below the apps that analyse or recommend tracks, so it cannot call them;
they subscribe here instead (the emotion app queues audio analysis on ``track_audio_changed``;
listening attaches waiting plays on ``track_created``).
"""

from django.dispatch import Signal

# Sent inside the transaction that gave a track new audio; kwargs: track.
track_audio_changed = Signal()

# Sent inside the transaction of create_track that added a track to the catalogue; kwargs: track.
track_created = Signal()
