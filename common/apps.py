from django.apps import AppConfig
from django.urls import register_converter


class CommonConfig(AppConfig):
    name = "common"

    def ready(self) -> None:
        from common.ids import DatabaseIdConverter

        # Registered before any URL conf is imported, so every app can write <id:name>.
        register_converter(DatabaseIdConverter, "id")
