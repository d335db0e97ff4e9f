"""One-file model artifact: safetensors tensors + JSON metadata in the safetensors header.

safetensors stores raw tensors and a str→str metadata map, so loading never unpickles
anything: a malicious or corrupt file can at worst fail to parse. The artifact is all that
inference needs besides the features: the architecture and its config (rebuilt through
``architectures``), the feature set and the blocks the model reads, the normalisation and
the labels.

Layout (format version 2)
    tensors   ``module.<param>`` (the network's state dict), ``normaliser.minimum``,
              ``normaliser.maximum``; an ensemble has the same per member, prefixed
              ``members.<i>.``
    metadata  ``format`` = "emotion-mood-model", ``format_version``, ``metadata`` = JSON with
              architecture, model_config, input_blocks, labels, display_names,
              feature_set_version, segment_seconds, clip_margin, training_config, metrics,
              created_at; an ensemble has ``members`` (each member's architecture,
              model_config, input_blocks, clip_margin, training_config, metrics) and
              ``weights`` instead of the per-model keys.

Version 1 artifacts (before the architecture registry: an LSTM on the 50 LLDs) still load.
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

from emotion.features.feature_sets import FEATURE_SETS, IncompatibleFeaturesError, columns_for
from emotion.ml.architectures import ENSEMBLE, get_architecture
from emotion.ml.ensemble import EnsembleMoodModel
from emotion.ml.normalisation import MinMaxNormaliser
from emotion.ml.training import TrainedMoodModel

ARTIFACT_FORMAT = "emotion-mood-model"
ARTIFACT_FORMAT_VERSION = "2"
_READABLE_FORMAT_VERSIONS = ("1", "2")
MoodModel = TrainedMoodModel | EnsembleMoodModel
# A header bigger than this is not one of ours (ours are a few hundred kB at most).
_MAX_HEADER_BYTES = 64 * 1024 * 1024


class ArtifactError(ValueError):
    """The file is not a readable mood-model artifact."""


class ArtifactMismatchError(ArtifactError):
    """The artifact is valid but was built for other features or labels than expected."""


def artifact_to_bytes(model: MoodModel) -> bytes:
    metadata = {
        "architecture": model.architecture,
        "labels": list(model.labels),
        "display_names": dict(model.display_names),
        "feature_set_version": model.feature_set_version,
        "segment_seconds": model.segment_seconds,
        "training_config": model.training_config,
        "metrics": model.metrics,
        "created_at": model.created_at,
    }
    if isinstance(model, EnsembleMoodModel):
        tensors = {}
        for index, member in enumerate(model.members):
            tensors.update(_member_tensors(member, prefix=f"members.{index}."))
        metadata["members"] = [_member_metadata(member) for member in model.members]
        metadata["weights"] = model.weights
    else:
        tensors = _member_tensors(model, prefix="")
        metadata.update(_member_metadata(model))
    return safetensors_save(
        tensors,
        metadata={
            "format": ARTIFACT_FORMAT,
            "format_version": ARTIFACT_FORMAT_VERSION,
            "metadata": json.dumps(metadata, sort_keys=True, default=_json_default),
        },
    )


def _member_tensors(model: TrainedMoodModel, *, prefix: str) -> dict[str, torch.Tensor]:
    tensors = {
        f"{prefix}module.{name}": tensor.detach().cpu().contiguous().clone()
        for name, tensor in model.module.state_dict().items()
    }
    tensors[f"{prefix}normaliser.minimum"] = torch.from_numpy(model.normaliser.minimum.copy())
    tensors[f"{prefix}normaliser.maximum"] = torch.from_numpy(model.normaliser.maximum.copy())
    return tensors


def _member_metadata(model: TrainedMoodModel) -> dict[str, Any]:
    return {
        "architecture": model.architecture,
        "model_config": model.model_config.to_dict(),
        "input_blocks": list(model.input_blocks),
        "clip_margin": model.normaliser.clip_margin,
        "training_config": model.training_config,
        "metrics": model.metrics,
    }


def save_artifact(model: MoodModel, path: str | os.PathLike[str] | IO[bytes]) -> None:
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
) -> MoodModel:
    """Load a saved model; refuse it when it does not match what the caller will feed it.

    ``expected_feature_set_version`` is the feature set of the sequences the model will be
    fed: the model is bound to the columns of the blocks it reads there, and refused when
    they are missing or defined differently (``feature_sets.columns_for``): a model of the
    seed's LLDs serves on LLD + embedding analyses, not the other way round.
    ``expected_labels`` is compared as an ordered list, because the probability columns
    follow the artifact's label order.
    """
    data = _read_bytes(source)
    metadata = _parse_metadata(data)
    artifact_version = str(metadata.get("feature_set_version"))
    labels = [str(label) for label in metadata["labels"]]
    if expected_labels is not None and list(expected_labels) != labels:
        raise ArtifactMismatchError(
            f"label set mismatch: the artifact predicts {labels} but {list(expected_labels)} "
            f"was expected"
        )
    common = {
        "labels": labels,
        "feature_set_version": artifact_version,
        "segment_seconds": float(metadata["segment_seconds"]),
        "fed_feature_set": expected_feature_set_version,
    }
    try:
        tensors = safetensors_load(data)
        if metadata.get("architecture") == ENSEMBLE:
            model: MoodModel = EnsembleMoodModel(
                members=[
                    _load_member(member, tensors, prefix=f"members.{index}.", **common)
                    for index, member in enumerate(metadata["members"])
                ],
                weights=metadata.get("weights"),
                training_config=metadata.get("training_config", {}),
                metrics=metadata.get("metrics", {}),
                created_at=str(metadata.get("created_at", "")),
            )
        else:
            model = _load_member(metadata, tensors, prefix="", **common)
            model.training_config = metadata.get("training_config", {})
            model.metrics = metadata.get("metrics", {})
            model.created_at = str(metadata.get("created_at", ""))
    except IncompatibleFeaturesError as error:
        raise ArtifactMismatchError(f"feature-set mismatch: {error}") from None
    except (SafetensorError, KeyError, RuntimeError, ValueError, TypeError) as error:
        raise ArtifactError(f"the mood-model artifact is damaged: {error}") from error
    display = dict(metadata.get("display_names") or {})
    for member in model.members if isinstance(model, EnsembleMoodModel) else [model]:
        member.display_names = display or member.display_names
    return model


def _load_member(
    metadata: dict[str, Any],
    tensors: dict[str, torch.Tensor],
    *,
    prefix: str,
    labels: list[str],
    feature_set_version: str,
    segment_seconds: float,
    fed_feature_set: str | None,
) -> TrainedMoodModel:
    # Version-1 artifacts predate the registry: an LSTM reading the 50 LLDs.
    architecture = get_architecture(metadata.get("architecture", "lstm_attention"))
    input_blocks = tuple(metadata.get("input_blocks", ("lld",)))
    config = architecture.config_from_dict(metadata["model_config"])
    module = architecture.build(config, n_labels=len(labels))
    state = {
        name.removeprefix(f"{prefix}module."): tensor
        for name, tensor in tensors.items()
        if name.startswith(f"{prefix}module.")
    }
    module.load_state_dict(state, strict=True)
    module.eval()
    normaliser = MinMaxNormaliser(
        minimum=tensors[f"{prefix}normaliser.minimum"].numpy().astype(np.float32),
        maximum=tensors[f"{prefix}normaliser.maximum"].numpy().astype(np.float32),
        clip_margin=float(metadata.get("clip_margin", 0.05)),
    )
    return TrainedMoodModel(
        module=module,
        model_config=config,
        labels=labels,
        normaliser=normaliser,
        feature_set_version=feature_set_version,
        segment_seconds=segment_seconds,
        architecture=architecture.name,
        input_blocks=input_blocks,
        input_columns=_bound_columns(feature_set_version, input_blocks, fed_feature_set),
        training_config=metadata.get("training_config", {}),
        metrics=metadata.get("metrics", {}),
    )


def _bound_columns(
    trained_on: str, input_blocks: tuple[str, ...], fed: str | None
) -> list[int] | None:
    """Columns the model reads in the sequences it will be fed (None: all of them)."""
    if fed is not None:
        if trained_on not in FEATURE_SETS:
            if fed != trained_on:
                raise IncompatibleFeaturesError(
                    f"the artifact was trained on features {trained_on!r}, which this code does "
                    f"not define, and the analyses are {fed!r}; retrain the model"
                )
            return None
        return columns_for(
            model_feature_set=trained_on, blocks=input_blocks, analyses_feature_set=fed
        )
    if trained_on in FEATURE_SETS:
        return FEATURE_SETS[trained_on].columns(input_blocks)
    return None


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
    if file_metadata.get("format_version") not in _READABLE_FORMAT_VERSIONS:
        raise ArtifactError(
            f"unsupported mood-model artifact format version "
            f"{file_metadata.get('format_version')!r} (this code reads "
            f"{ARTIFACT_FORMAT_VERSION!r})"
        )
    try:
        metadata = json.loads(file_metadata["metadata"])
    except (KeyError, json.JSONDecodeError) as error:
        raise ArtifactError(f"the mood-model artifact's metadata is damaged: {error}") from None
    required = ["labels", "feature_set_version", "segment_seconds"]
    required.append("members" if metadata.get("architecture") == ENSEMBLE else "model_config")
    for key in required:
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
