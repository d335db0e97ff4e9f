"""The torch port of musicnn against the original TensorFlow models, and its conversion.

``fixtures/musicnn_reference.npz`` holds the original models' outputs (taggram and penultimate
layer, per 3-s patch) for the clips of ``musicnn_parity_clips``. It was made once, offline, by
``fixtures/make_musicnn_reference.py`` in a throwaway virtualenv with TensorFlow 2.21 +
tf-keras running musicnn 0.1.0's own ``models.py`` on the checkpoints shipped in its wheel
(its docstring has the exact commands). TensorFlow is never installed in the project.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from emotion.features.musicnn import checkpoint, frontend, weights
from emotion.features.musicnn.model import Musicnn
from tests.emotion.features.musicnn_parity_clips import PARITY_CLIPS, parity_clip

FIXTURE = Path(__file__).parent / "fixtures" / "musicnn_reference.npz"
TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def reference() -> dict[str, np.ndarray]:
    with np.load(FIXTURE, allow_pickle=False) as archive:
        return {key: archive[key] for key in archive.files}


@pytest.mark.parametrize("model_name", weights.MUSICNN_MODELS)
def test_torch_port_matches_the_tensorflow_models(model_name, reference):
    model = weights.load_musicnn(model_name)
    for clip in PARITY_CLIPS:
        patches = frontend.patches(frontend.log_mel(parity_clip(clip)))
        with torch.inference_mode():
            output = model(torch.from_numpy(patches))
        expected_tags = reference[f"{model_name}/{clip}/taggram"]
        expected_penultimate = reference[f"{model_name}/{clip}/penultimate"]
        assert output.tags.shape == expected_tags.shape, clip
        np.testing.assert_allclose(output.tags.numpy(), expected_tags, atol=TOLERANCE, rtol=0)
        np.testing.assert_allclose(
            output.penultimate.numpy(), expected_penultimate, atol=TOLERANCE, rtol=0
        )


def test_conversion_reads_the_wheel_and_keeps_the_licence(tmp_path):
    written = weights.convert_installed_weights(tmp_path)
    assert sorted(path.name for path in written) == [
        f"{name}.safetensors" for name in sorted(weights.MUSICNN_MODELS)
    ]
    assert "Universitat Pompeu Fabra" in (tmp_path / "LICENSE.musicnn.md").read_text()
    state = load_file(str(written[0]))
    Musicnn().load_state_dict(state, strict=True)
    # The converted weights are the checkpoint's values, bit for bit.
    package = weights.installed_package_dir()
    tensors = checkpoint.read_checkpoint(f"{package / weights.MUSICNN_MODELS[0]}/")
    np.testing.assert_array_equal(
        state["timbral.0.conv.weight"].numpy(),
        tensors["conv2d/kernel"].transpose(3, 2, 0, 1),
    )
    np.testing.assert_array_equal(state["tags.bias"].numpy(), tensors["dense_1/bias"])


def test_weights_are_converted_on_first_use(tmp_path, monkeypatch):
    monkeypatch.setenv("MUSICNN_WEIGHTS_DIR", str(tmp_path / "weights"))
    model = weights.load_musicnn("MTT_musicnn")
    assert (tmp_path / "weights" / "MTT_musicnn.safetensors").is_file()
    assert not model.training


def test_a_damaged_checkpoint_is_refused_with_its_reason(tmp_path):
    package = weights.installed_package_dir()
    prefix = tmp_path / "model"
    index = (package / "MSD_musicnn" / ".index").read_bytes()
    (tmp_path / "model.index").write_bytes(index[:-8] + b"\0" * 8)  # no table magic
    (tmp_path / "model.data-00000-of-00001").write_bytes(b"")
    with pytest.raises(checkpoint.CheckpointError, match="magic"):
        checkpoint.read_checkpoint(prefix)
    with pytest.raises(checkpoint.CheckpointError, match="cannot read"):
        checkpoint.read_checkpoint(tmp_path / "missing")


def test_loud_audio_gives_finite_inputs():
    # musicnn's float16 arithmetic would overflow to inf above 6.55; the log-mel stays finite.
    t = np.arange(3 * frontend.SAMPLE_RATE) / frontend.SAMPLE_RATE
    loud = np.sin(2 * np.pi * 440 * t).astype(np.float32)
    assert np.isfinite(frontend.log_mel(loud)).all()
