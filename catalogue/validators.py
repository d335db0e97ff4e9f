from __future__ import annotations

from pathlib import PurePosixPath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator

validate_isrc = RegexValidator(
    r"^[A-Z]{2}[A-Z0-9]{3}\d{7}$", "An ISRC is 12 characters, like USRC17607839."
)

# Content is checked by the decoder in the worker; the extension check only catches mistakes
# early, with a message, instead of a failed analysis minutes later.
AUDIO_EXTENSIONS = frozenset({".mp3", ".wav", ".flac", ".ogg", ".oga", ".opus", ".aif", ".aiff"})


def validate_audio_file(audio) -> None:
    extension = PurePosixPath(audio.name or "").suffix.lower()
    if extension not in AUDIO_EXTENSIONS:
        allowed = ", ".join(sorted(AUDIO_EXTENSIONS))
        raise ValidationError(
            f"{PurePosixPath(audio.name or '').name!r} does not look like an audio file; "
            f"supported extensions: {allowed}"
        )
    if audio.size == 0:
        raise ValidationError("the audio file is empty (0 bytes)")
    if audio.size > settings.AUDIO_MAX_UPLOAD_BYTES:
        raise ValidationError(
            f"the audio file is {audio.size} bytes; the limit is "
            f"{settings.AUDIO_MAX_UPLOAD_BYTES} bytes"
        )
