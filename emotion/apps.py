from django.apps import AppConfig


class EmotionConfig(AppConfig):
    name = "emotion"
    verbose_name = "Emotion analysis"

    def ready(self) -> None:
        from catalogue.signals import track_audio_changed
        from emotion import receivers

        track_audio_changed.connect(receivers.queue_analysis_for_new_audio, dispatch_uid="emotion")
