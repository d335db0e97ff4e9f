from django.apps import AppConfig


class ListeningConfig(AppConfig):
    name = "listening"
    verbose_name = "Listening history"

    def ready(self) -> None:
        from catalogue.signals import track_created
        from listening import receivers

        track_created.connect(receivers.attach_waiting_plays, dispatch_uid="listening")
