"""ONNX export: kept only when it holds accuracy; then the default backend; tamper-evident."""

import shutil
from pathlib import Path

import numpy as np
import pytest

from flagger import Flagger
from flagger.errors import ConfigError, ModelDirectoryError
from flagger.metrics import task_a_f1
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


def test_onnx_scores_do_not_depend_on_the_batch(
    tmp_path: Path, tiny_model: Path, edos_csv: Path
) -> None:
    """Dynamic int8 quantisation scales activations per tensor; one sequence per run keeps a
    message's score the same alone, in a batch, padded next to a long text, or in any order."""
    from flagger.training.export import export_onnx

    model = shutil.copytree(tiny_model, tmp_path / "m")
    export_onnx(model, edos_csv, max_f1_loss=1.0)
    flagger = Flagger.load(model, num_threads=1)
    texts = ["women are weak", "the meeting moved to six", "WOMEN!!! " * 40, "ok"]
    together = flagger.probabilities(texts)
    alone = [flagger.probabilities([t]) for t in texts]
    assert np.array_equal(together.sexist, np.concatenate([a.sexist for a in alone]))
    assert np.array_equal(together.category, np.concatenate([a.category for a in alone]))
    reversed_ = flagger.probabilities(texts[::-1])
    assert np.array_equal(together.sexist, reversed_.sexist[::-1])


def test_onnx_backend_without_an_export_is_refused(tiny_model: Path) -> None:
    with pytest.raises(ConfigError, match="no ONNX export"):
        Flagger.load(tiny_model, backend="onnx")


def test_export_records_and_gates_the_out_of_domain_checks(
    tmp_path: Path, tiny_model: Path, edos_csv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flagger.training import export

    checks = tmp_path / "workplace.csv"
    checks.write_text(
        "id,text,label_sexist\nw1,women are weak,sexist\nw2,the team meets,not sexist\n"
    )
    model = shutil.copytree(tiny_model, tmp_path / "m")
    record = export.export_onnx(model, edos_csv, max_f1_loss=1.0, checks=[checks])
    assert record.out_of_domain is not None
    assert record.out_of_domain["files"]["workplace.csv"]["rows"] == 2
    assert record.out_of_domain["pooled"]["rows"] == 2
    assert read_info(model).onnx == record
    # The PyTorch side is the model as it was, not as tracing leaves it.
    torch_model = Flagger.load(tiny_model, backend="torch", num_threads=1)
    flags = torch_model.probabilities(["women are weak", "the team meets"]).sexist
    expected = task_a_f1(np.array([1, 0]), (flags >= record.out_of_domain["threshold"]).astype(int))
    assert record.out_of_domain["files"]["workplace.csv"]["macro_f1_torch"] == round(expected, 4)

    def lossy(*_: object) -> dict[str, object]:
        return {"files": {}, "pooled": {"rows": 2, "macro_f1_torch": 1.0, "macro_f1_onnx": 0.5}}

    fresh = shutil.copytree(tiny_model, tmp_path / "fresh")
    monkeypatch.setattr(export, "_out_of_domain", lossy)
    with pytest.raises(ConfigError, match="out-of-domain"):
        export.export_onnx(fresh, edos_csv, max_f1_loss=0.4, checks=[checks])
    assert read_info(fresh).onnx is None


def test_word_embeddings_are_stored_in_float16(tmp_path: Path, tiny_model: Path) -> None:
    import onnx
    from onnx import TensorProto

    from flagger.backends import OnnxBackend
    from flagger.training.export import _halve_word_embeddings, export_int8

    torch_model = Flagger.load(tiny_model, backend="torch", num_threads=1)
    texts = ["women are weak", "the meeting moved to six"]
    expected = torch_model.probabilities(texts).sexist
    path = export_int8(torch_model.network, tmp_path / "model.int8.onnx")
    _halve_word_embeddings(path, min_rows=4)  # the tiny model has 5 word rows
    graph = onnx.load(str(path)).graph
    halved = [i for i in graph.initializer if i.data_type == TensorProto.FLOAT16]
    assert "network.encoder.embeddings.word_embeddings.weight" in {i.name for i in halved}
    assert any(n.op_type == "Cast" and n.input[0].endswith("_float16") for n in graph.node)
    onnx_model = Flagger(OnnxBackend(path, 1), torch_model.tokenizer, torch_model.info)
    assert np.allclose(onnx_model.probabilities(texts).sexist, expected, atol=0.05)


def test_an_existing_export_is_remeasured_and_recorded_whatever_its_figures(
    tmp_path: Path, tiny_model: Path, edos_csv: Path
) -> None:
    from flagger.training.export import export_onnx, gate_problem, remeasure_onnx

    model = shutil.copytree(tiny_model, tmp_path / "m")
    with pytest.raises(ConfigError, match="no ONNX export"):
        remeasure_onnx(model, edos_csv)
    first = export_onnx(model, edos_csv, max_f1_loss=1.0)
    onnx_bytes = (model / first.file).read_bytes()
    again = remeasure_onnx(model, edos_csv)
    assert again == first  # the same file, run the same way: the same figures
    assert (model / first.file).read_bytes() == onnx_bytes
    assert read_info(model).onnx == again
    assert gate_problem(again, max_f1_loss=1.0) is None
    worse = again.model_copy(update={"macro_f1_onnx": again.macro_f1_torch - 0.01})
    assert "loses 0.0100" in (gate_problem(worse, max_f1_loss=0.005) or "")
    Flagger.load(model)  # the manifest still matches
