"""Record an artifact made by train_mood_model as a model version, and optionally activate it.

python manage.py register_mood_model FILE [--activate]
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from emotion.ml import ArtifactError
from emotion.services.registry import activate_model_version, register_artifact


class Command(BaseCommand):
    help = "Register a mood-model artifact as a version; --activate makes it the active model."

    def add_arguments(self, parser) -> None:
        parser.add_argument("artifact", type=Path, metavar="FILE")
        parser.add_argument(
            "--activate", action="store_true", help="activate it and re-tag the catalogue"
        )

    def handle(self, *args, artifact: Path, activate: bool, **options) -> None:
        if not artifact.is_file():
            raise CommandError(f"no file at {artifact}")
        try:
            with transaction.atomic():
                version = register_artifact(artifact=artifact.read_bytes())
                if activate:
                    activate_model_version(version=version)
        except ArtifactError as error:
            raise CommandError(str(error)) from error
        state = "active; the catalogue is being re-tagged" if activate else "inactive"
        architecture = version.architecture.get("name", "lstm_attention")
        self.stdout.write(
            f"registered {version}, a {architecture} model on {version.feature_set_version} "
            f"({', '.join(version.labels)}): {state}"
        )
