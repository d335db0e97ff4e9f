from django.apps import AppConfig


class RecommenderConfig(AppConfig):
    name = "recommender"
    verbose_name = "Recommendations"

    def ready(self) -> None:
        from listening.signals import plays_recorded
        from recommender import receivers

        plays_recorded.connect(receivers.refresh_mood_after_plays, dispatch_uid="recommender")
