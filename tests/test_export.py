"""ONNX export: kept only when it holds accuracy; then the default backend; tamper-evident."""

import shutil
from pathlib import Path

import numpy as np
import pytest

from flagger import Flagger
from flagger.errors import ConfigError, ModelDirectoryError
from flagger.model_dir import read_info

pytest.importorskip("onnx", reason="exporting needs the train extra (onnx)")


def test_export_is_refused_when_it_loses_accuracy(
    tmp_path: Path, tiny_model: Path, edos_csv: Path
) -> None:
    from flagger.training.export import export_onnx

    model = shutil.copytree(tiny_model, tmp_path / "m")
    before = sorted(p.name for p in model.iterdir())
    with pytest.raises(ConfigError, match="unchanged"):
        export_onnx(model, edos_csv, max_f1_loss=-1.0)  # no export can be better than exact
    assert sorted(p.name for p in model.iterdir()) == before
    assert read_info(model).onnx is None


def test_kept_export_becomes_the_default_backend(
    tmp_path: Path, tiny_model: Path, edos_csv: Path
) -> None:
    from flagger.training.export import export_onnx

    model = shutil.copytree(tiny_model, tmp_path / "m")
    record = export_onnx(model, edos_csv, max_f1_loss=1.0)
    assert record.macro_f1_torch - record.macro_f1_onnx <= 1.0
    onnx = Flagger.load(model, num_threads=1)
    torch = Flagger.load(model, backend="torch", num_threads=1)
    assert onnx.backend.name == "onnx" and torch.backend.name == "torch"
    texts = ["women are weak", "the meeting moved to six", "x " * 80]
    assert np.allclose(
        onnx.probabilities(texts).sexist, torch.probabilities(texts).sexist, atol=0.05
    )
    with pytest.raises(ConfigError, match="onnx"):
        _ = onnx.network  # no PyTorch network behind an ONNX backend
    (model / record.file).write_bytes(b"tampered")
    with pytest.raises(ModelDirectoryError, match="sha256"):
        Flagger.load(model)


def test_onnx_backend_without_an_export_is_refused(tiny_model: Path) -> None:
    with pytest.raises(ConfigError, match="no ONNX export"):
        Flagger.load(tiny_model, backend="onnx")
