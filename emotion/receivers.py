from catalogue.models import Track
from emotion.services.analysis import request_track_analysis


def queue_analysis_for_new_audio(sender, *, track: Track, **kwargs) -> None:
    request_track_analysis(track=track)
