from recommender.services import request_mood_refresh


def refresh_mood_after_plays(sender, *, listener_id: int, **kwargs) -> None:
    request_mood_refresh(listener_id=listener_id)
