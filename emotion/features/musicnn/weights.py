"""The published musicnn weights, converted once from the installed wheel to safetensors.

The ``musicnn==0.1.0`` wheel ships TensorFlow checkpoints inside the package; it is installed
with ``pip install --no-deps`` (its declared numpy < 1.17 and TensorFlow cannot live beside
this stack, and neither is needed: ``checkpoint`` reads the files with numpy). Conversion
runs during set-up (``scripts/bootstrap`` → ``python -m emotion.features.musicnn.weights``)
and, failing that, on first use. The converted files live in ``$MUSICNN_WEIGHTS_DIR``, by
default ``<virtualenv>/share/musicnn-torch``: beside the package they come from, outside the
repository, and rebuilt with the environment. Nothing is ever downloaded at run time.

musicnn is © Music Technology Group, Universitat Pompeu Fabra 2019, ISC licence; its notice is
copied next to the converted weights (``LICENSE.musicnn.md``).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import os
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from .checkpoint import read_checkpoint
from .model import Musicnn, state_dict_from_checkpoint

MUSICNN_MODELS = ("MSD_musicnn", "MTT_musicnn")
MUSICNN_PACKAGE_VERSION = "0.1.0"
_LICENCE_FILE = "LICENSE.musicnn.md"


class MusicnnUnavailableError(RuntimeError):
    """The weights are neither converted nor convertible (the wheel is not installed)."""


def weights_dir() -> Path:
    configured = os.environ.get("MUSICNN_WEIGHTS_DIR")
    return Path(configured) if configured else Path(sys.prefix) / "share" / "musicnn-torch"


def weights_path(model_name: str, directory: Path | None = None) -> Path:
    return (directory or weights_dir()) / f"{model_name}.safetensors"


def installed_package_dir() -> Path:
    """The installed ``musicnn`` package's folder, found without importing it."""
    spec = importlib.util.find_spec("musicnn")
    if spec is None or not spec.submodule_search_locations:
        raise MusicnnUnavailableError(
            "the musicnn weights are not converted and the musicnn package is not installed; "
            "run scripts/bootstrap (it installs musicnn==0.1.0 without its dependencies and "
            "converts the weights)"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def convert_installed_weights(directory: Path | None = None) -> list[Path]:
    """Convert every model in ``MUSICNN_MODELS`` from the installed wheel; return the files."""
    package = installed_package_dir()
    installed = importlib.metadata.version("musicnn")
    if installed != MUSICNN_PACKAGE_VERSION:
        raise MusicnnUnavailableError(
            f"musicnn {installed} is installed; the port follows {MUSICNN_PACKAGE_VERSION}"
        )
    target = directory or weights_dir()
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for model_name in MUSICNN_MODELS:
        prefix = f"{package / model_name}/"  # the checkpoint's path prefix is the folder
        state = state_dict_from_checkpoint(read_checkpoint(prefix))
        Musicnn().load_state_dict(state, strict=True)  # refuse a checkpoint that does not fit
        source = Path(prefix + ".data-00000-of-00001")
        metadata = {
            "source": f"musicnn=={installed}/{model_name}",
            "source_sha256": hashlib.sha256(source.read_bytes()).hexdigest(),
            "licence": "ISC, (c) Music Technology Group, Universitat Pompeu Fabra 2019",
        }
        path = weights_path(model_name, target)
        save_file(state, str(path), metadata=metadata)
        path.chmod(0o644)  # safetensors writes 0600; workers may run as another user
        written.append(path)
    licence = _licence_text()
    if licence:
        (target / _LICENCE_FILE).write_text(licence, encoding="utf-8")
    return written


def _licence_text() -> str | None:
    for file in importlib.metadata.files("musicnn") or []:
        if file.name == "LICENSE.md":
            return file.read_text(encoding="utf-8")
    return None


def load_musicnn(model_name: str) -> Musicnn:
    """The model with its published weights, in inference mode; converted first if needed."""
    if model_name not in MUSICNN_MODELS:
        raise ValueError(f"unknown musicnn model {model_name!r}; one of {MUSICNN_MODELS}")
    path = weights_path(model_name)
    if not path.is_file():
        convert_installed_weights()
    model = Musicnn()
    model.load_state_dict(load_file(str(path)), strict=True)
    return model.eval().requires_grad_(False)


def main() -> None:
    for path in convert_installed_weights():
        print(f"converted {path} ({path.stat().st_size / 2**20:.1f} MiB)")


if __name__ == "__main__":
    torch.set_num_threads(1)
    main()
