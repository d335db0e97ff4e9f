"""One-file model artifact: safetensors tensors + JSON metadata in the safetensors header.

safetensors stores raw tensors and a str→str metadata map, so loading never unpickles
anything: a malicious or corrupt file can at worst fail to parse.

Layout
    tensors   ``module.<param>`` (the network's state dict), ``normaliser.minimum``,
              ``normaliser.maximum``
    metadata  ``format`` = "emotion-mood-model", ``format_version``, ``metadata`` = JSON with
              model_config, labels, display_names, feature_set_version, segment_seconds,
              clip_margin, training_config, metrics, created_at
"""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load as safetensors_load
from safetensors.torch import save as safetensors_save

from emotion.ml.model import ModelConfig, MoodLSTM
from emotion.ml.normalisation import MinMaxNormaliser
from emotion.ml.training import TrainedMoodModel

ARTIFACT_FORMAT = "emotion-mood-model"
ARTIFACT_FORMAT_VERSION = "1"
# A header bigger than this is not one of ours (ours are a few hundred kB at most).
_MAX_HEADER_BYTES = 64 * 1024 * 1024


class ArtifactError(ValueError):
    """The file is not a readable mood-model artifact."""


class ArtifactMismatchError(ArtifactError):
    """The artifact is valid but was built for other features or labels than expected."""


def artifact_to_bytes(model: TrainedMoodModel) -> bytes:
    tensors = {
        f"module.{name}": tensor.detach().cpu().contiguous().clone()
        for name, tensor in model.module.state_dict().items()
    }
    tensors["normaliser.minimum"] = torch.from_numpy(model.normaliser.minimum.copy())
    tensors["normaliser.maximum"] = torch.from_numpy(model.normaliser.maximum.copy())
    metadata = {
        "model_config": model.model_config.to_dict(),
        "labels": list(model.labels),
        "display_names": dict(model.display_names),
        "feature_set_version": model.feature_set_version,
        "segment_seconds": model.segment_seconds,
        "clip_margin": model.normaliser.clip_margin,
        "training_config": model.training_config,
        "metrics": model.metrics,
        "created_at": model.created_at,
    }
    return safetensors_save(
        tensors,
        metadata={
            "format": ARTIFACT_FORMAT,
            "format_version": ARTIFACT_FORMAT_VERSION,
            "metadata": json.dumps(metadata, sort_keys=True, default=_json_default),
        },
    )


def save_artifact(model: TrainedMoodModel, path: str | os.PathLike[str] | IO[bytes]) -> None:
    """Write the artifact to a path (atomically: temp file + rename) or a binary file object."""
    data = artifact_to_bytes(model)
    if hasattr(path, "write"):
        path.write(data)  # type: ignore[union-attr]
        return
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(target.name + ".tmp")
    temporary.write_bytes(data)
    os.replace(temporary, target)


def read_artifact_metadata(source: str | os.PathLike[str] | IO[bytes] | bytes) -> dict[str, Any]:
    """The artifact's JSON metadata without building the network (cheap; for admin pages)."""
    data = _read_bytes(source)
    return _parse_metadata(data)


def load_artifact(
    source: str | os.PathLike[str] | IO[bytes] | bytes,
    *,
    expected_feature_set_version: str | None = None,
    expected_labels: Sequence[str] | None = None,
) -> TrainedMoodModel:
    """Load a saved model; refuse it when it does not match what the caller will feed it.

    ``expected_labels`` is compared as an ordered list, because the probability columns follow
    the artifact's label order.
    """
    data = _read_bytes(source)
    metadata = _parse_metadata(data)
    artifact_version = str(metadata.get("feature_set_version"))
    if (
        expected_feature_set_version is not None
        and artifact_version != expected_feature_set_version
    ):
        raise ArtifactMismatchError(
            f"feature-set version mismatch: the artifact was trained on features "
            f"{artifact_version!r} but the extractor produces {expected_feature_set_version!r}; "
            f"retrain the model (or re-extract features) so they agree"
        )
    labels = [str(label) for label in metadata["labels"]]
    if expected_labels is not None and list(expected_labels) != labels:
        raise ArtifactMismatchError(
            f"label set mismatch: the artifact predicts {labels} but {list(expected_labels)} "
            f"was expected"
        )
    try:
        tensors = safetensors_load(data)
        config = ModelConfig.from_dict(metadata["model_config"])
        module = MoodLSTM(config, n_labels=len(labels))
        state = {
            name.removeprefix("module."): tensor
            for name, tensor in tensors.items()
            if name.startswith("module.")
        }
        module.load_state_dict(state, strict=True)
        normaliser = MinMaxNormaliser(
            minimum=tensors["normaliser.minimum"].numpy().astype(np.float32),
            maximum=tensors["normaliser.maximum"].numpy().astype(np.float32),
            clip_margin=float(metadata.get("clip_margin", 0.05)),
        )
    except (SafetensorError, KeyError, RuntimeError, ValueError, TypeError) as error:
        raise ArtifactError(f"the mood-model artifact is damaged: {error}") from error
    module.eval()
    return TrainedMoodModel(
        module=module,
        model_config=config,
        labels=labels,
        normaliser=normaliser,
        feature_set_version=artifact_version,
        segment_seconds=float(metadata["segment_seconds"]),
        training_config=metadata.get("training_config", {}),
        metrics=metadata.get("metrics", {}),
        display_names=dict(metadata.get("display_names") or {}),
        created_at=str(metadata.get("created_at", "")),
    )


def _read_bytes(source: str | os.PathLike[str] | IO[bytes] | bytes) -> bytes:
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source)
    if hasattr(source, "read"):
        data = source.read()  # type: ignore[union-attr]
        if not isinstance(data, bytes):
            raise ArtifactError("the artifact file object must be opened in binary mode")
        return data
    try:
        return Path(source).read_bytes()  # type: ignore[arg-type]
    except FileNotFoundError:
        raise ArtifactError(f"no mood-model artifact at {source}") from None


def _parse_metadata(data: bytes) -> dict[str, Any]:
    # safetensors layout: u64 little-endian header length, then a JSON header whose
    # "__metadata__" entry carries our str→str map.
    if len(data) < 8:
        raise ArtifactError("not a mood-model artifact: file too short")
    (header_length,) = struct.unpack("<Q", data[:8])
    if header_length > min(_MAX_HEADER_BYTES, len(data) - 8):
        raise ArtifactError("not a mood-model artifact: no safetensors header")
    try:
        header = json.loads(data[8 : 8 + header_length].decode("utf-8"))
        file_metadata = header.get("__metadata__") or {}
    except (UnicodeDecodeError, json.JSONDecodeError, AttributeError) as error:
        raise ArtifactError(f"not a mood-model artifact: unreadable header ({error})") from None
    if file_metadata.get("format") != ARTIFACT_FORMAT:
        raise ArtifactError(
            f"not a mood-model artifact: format is {file_metadata.get('format')!r}, "
            f"expected {ARTIFACT_FORMAT!r}"
        )
    if file_metadata.get("format_version") != ARTIFACT_FORMAT_VERSION:
        raise ArtifactError(
            f"unsupported mood-model artifact format version "
            f"{file_metadata.get('format_version')!r} (this code reads "
            f"{ARTIFACT_FORMAT_VERSION!r})"
        )
    try:
        metadata = json.loads(file_metadata["metadata"])
    except (KeyError, json.JSONDecodeError) as error:
        raise ArtifactError(f"the mood-model artifact's metadata is damaged: {error}") from None
    for key in ("model_config", "labels", "feature_set_version", "segment_seconds"):
        if key not in metadata:
            raise ArtifactError(f"the mood-model artifact's metadata lacks {key!r}")
    return metadata


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, tuple | set):
        return list(value)
    raise TypeError(f"cannot serialise {type(value).__name__} into artifact metadata")


__all__ = [
    "ARTIFACT_FORMAT",
    "ArtifactError",
    "ArtifactMismatchError",
    "artifact_to_bytes",
    "load_artifact",
    "read_artifact_metadata",
    "save_artifact",
]
