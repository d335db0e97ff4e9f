from catalogue.models import Track
from listening.services import attach_waiting_plays_to_new_track


def attach_waiting_plays(sender, *, track: Track, **kwargs) -> None:
    attach_waiting_plays_to_new_track(track=track)
