"""Export a model directory's network to ONNX, quantise it to int8, and keep it only if it holds.

``flagger export-onnx DIR --data FILE --split dev``: the PyTorch network is exported (opset 17,
dynamic batch and sequence axes), its MatMul weights are quantised to int8 per channel with ONNX
Runtime's dynamic quantisation, and both are scored on the labelled split. The int8 file is added
to the model directory (and recorded in ``flagger.json``, manifest re-signed) only when its Task A
macro-F1 at the default operating point is at most ``MAX_F1_LOSS`` below PyTorch's; otherwise the
directory is left as it was and the error gives both figures.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from flagger.backends import ONNX_OUTPUTS, OnnxBackend
from flagger.data import Example, load_examples, select_split
from flagger.errors import ConfigError
from flagger.metrics import task_a_f1
from flagger.model import Flagger
from flagger.model_dir import OnnxExport, check_model_dir, rewrite_info, sha256_file
from flagger.network import MultiTaskClassifier
from flagger.training.card import render_card

logger = logging.getLogger(__name__)

ONNX_FILE = "model.int8.onnx"
MAX_F1_LOSS = 0.005
QUANTIZATION = (
    "int8 dynamic (ONNX Runtime), per channel: MatMul weights; word embeddings in float16"
)
# Tables looked up by Gather with more rows than this are word embeddings: kept in float16.
_EMBEDDING_ROWS = 1000


class _Heads(torch.nn.Module):
    """The network with plain tensor outputs, as ``torch.onnx.export`` wants them."""

    def __init__(self, network: MultiTaskClassifier) -> None:
        super().__init__()
        self.network = network

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        heads = self.network(input_ids, attention_mask)
        return heads.sexist, heads.category, heads.vector


def export_int8(network: MultiTaskClassifier, output: Path) -> Path:
    """Write the network as an int8-quantised ONNX file (float32 export, then quantisation)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # Eager attention exports as plain MatMul/Softmax; the SDPA path adds mask checks
    # (Where, IsNaN) that cost about 8% of the int8 model's time on CPU.
    network.encoder.set_attn_implementation("eager")
    example = torch.ones((2, 8), dtype=torch.long)
    axes = {"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"}}
    axes.update({name: {0: "batch"} for name in ONNX_OUTPUTS})
    with tempfile.TemporaryDirectory() as scratch:
        float_path = Path(scratch) / "model.onnx"
        torch.onnx.export(
            _Heads(network.eval()),
            (example, example),
            str(float_path),
            input_names=["input_ids", "attention_mask"],
            output_names=list(ONNX_OUTPUTS),
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,  # the TorchScript exporter handles BERT's masks with dynamic shapes
        )
        quantize_dynamic(
            str(float_path),
            str(output),
            weight_type=QuantType.QInt8,
            per_channel=True,
            op_types_to_quantize=["MatMul"],
        )
    _halve_word_embeddings(output)
    return output


def _halve_word_embeddings(path: Path, min_rows: int = _EMBEDDING_ROWS) -> None:
    """Store the word-embedding table in float16 and cast what Gather reads back to float32.

    Int8 embeddings (one scale for the whole table) cost weight averages of fine-tuned models
    up to 0.014 macro-F1 out of domain; float16 keeps that loss to 0.003 at half the size of
    float32 (the table is most of the file).
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(path))
    graph = model.graph
    tables = {init.name: init for init in graph.initializer}
    nodes = []
    for node in graph.node:
        nodes.append(node)
        table = tables.get(node.input[0]) if node.op_type == "Gather" else None
        if table is None or table.data_type != TensorProto.FLOAT:
            continue
        values = numpy_helper.to_array(table)
        if values.ndim != 2 or values.shape[0] <= min_rows:
            continue
        table.CopyFrom(numpy_helper.from_array(values.astype(np.float16), table.name))
        looked_up = node.output[0]
        node.output[0] = f"{looked_up}_float16"
        nodes.append(
            helper.make_node(
                "Cast",
                [node.output[0]],
                [looked_up],
                to=TensorProto.FLOAT,
                name=f"{node.name}_cast",
            )
        )
    graph.ClearField("node")
    graph.node.extend(nodes)
    onnx.save(model, str(path))


def _out_of_domain(
    torch_scores: dict[str, np.ndarray],
    quantised: Flagger,
    sets: dict[str, list[Example]],
    threshold: float,
) -> dict[str, Any]:
    """Task A macro-F1 on PyTorch (scores taken before exporting) and on the export, for each
    check file and pooled."""
    figures: dict[str, Any] = {"threshold": threshold, "files": {}}
    columns: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for name, examples in sets.items():
        texts = [e.text for e in examples]
        gold = np.array([e.sexist for e in examples], dtype=int)
        torch_flags = (torch_scores[name] >= threshold).astype(int)
        onnx_flags = (quantised.probabilities(texts).sexist >= threshold).astype(int)
        figures["files"][name] = {
            "rows": len(examples),
            "macro_f1_torch": round(task_a_f1(gold, torch_flags), 4),
            "macro_f1_onnx": round(task_a_f1(gold, onnx_flags), 4),
        }
        columns.append((gold, torch_flags, onnx_flags))
    gold, torch_flags, onnx_flags = (np.concatenate(part) for part in zip(*columns, strict=True))
    figures["pooled"] = {
        "rows": int(gold.size),
        "macro_f1_torch": round(task_a_f1(gold, torch_flags), 4),
        "macro_f1_onnx": round(task_a_f1(gold, onnx_flags), 4),
    }
    return figures


def export_onnx(
    directory: str | Path,
    data: str | Path,
    *,
    split: str | None = "dev",
    text_field: str = "text",
    num_threads: int | None = None,
    max_f1_loss: float = MAX_F1_LOSS,
    checks: Sequence[str | Path] = (),
) -> OnnxExport:
    """Add a measured int8 ONNX export to a model directory, or refuse if it loses accuracy.

    ``checks`` are out-of-domain labelled files (every row is used): the export must also hold
    Task A macro-F1 within ``max_f1_loss`` on them pooled together, and each file's figures are
    recorded.

    Returns:
        The recorded measurement.

    Raises:
        ConfigError: if the export's Task A macro-F1 falls more than ``max_f1_loss`` below
            PyTorch's on the data (the directory is left unchanged).
        ModelDirectoryError, InputFileError: for a bad model directory or data file.
    """
    path, _ = check_model_dir(directory)
    reference = Flagger.load(path, backend="torch", num_threads=num_threads)
    measure = _Measurement(reference, data, split, text_field, checks)
    with tempfile.TemporaryDirectory() as scratch:
        candidate = export_int8(reference.network, Path(scratch) / ONNX_FILE)
        record = measure.of(candidate)
        problem = gate_problem(record, max_f1_loss)
        if problem:
            raise ConfigError(f"int8 ONNX export {problem}; {path} is unchanged")
        info = reference.info.model_copy(update={"onnx": record})
        rewrite_info(path, info, render_card(info), add_files={ONNX_FILE: candidate})
    return record


def remeasure_onnx(
    directory: str | Path,
    data: str | Path,
    *,
    split: str | None = "dev",
    text_field: str = "text",
    num_threads: int | None = None,
    checks: Sequence[str | Path] = (),
) -> OnnxExport:
    """Measure a model directory's existing int8 export again, as it is now run, and record it.

    For when the way the export is run changes (not its file). The record is rewritten whatever
    the figures; ``gate_problem`` says whether ``export_onnx`` would keep such an export.

    Raises:
        ConfigError: if the directory has no ONNX export.
    """
    reference = Flagger.load(directory, backend="torch", num_threads=num_threads)
    path, existing = reference.path, reference.info.onnx
    assert path is not None  # loaded from a directory
    if existing is None:
        raise ConfigError(f"{path} has no ONNX export to measure (make one with export-onnx)")
    record = _Measurement(reference, data, split, text_field, checks).of(path / existing.file)
    updated = reference.info.model_copy(update={"onnx": record})
    rewrite_info(path, updated, render_card(updated))
    return record


def gate_problem(record: OnnxExport, max_f1_loss: float = MAX_F1_LOSS) -> str | None:
    """Why an export with these figures would be refused (``None``: it holds accuracy)."""
    loss = record.macro_f1_torch - record.macro_f1_onnx
    if loss > max_f1_loss:
        return (
            f"loses {loss:.4f} Task A macro-F1 on {record.measured_on['file']} "
            f"({record.macro_f1_onnx:.4f} against PyTorch's {record.macro_f1_torch:.4f}), "
            f"more than the {max_f1_loss} allowed"
        )
    if record.out_of_domain:
        pooled = record.out_of_domain["pooled"]
        ood_loss = pooled["macro_f1_torch"] - pooled["macro_f1_onnx"]
        if ood_loss > max_f1_loss:
            names = ", ".join(record.out_of_domain["files"])
            return (
                f"loses {ood_loss:.4f} Task A macro-F1 on the out-of-domain checks ({names}), "
                f"more than the {max_f1_loss} allowed"
            )
    return None


class _Measurement:
    """PyTorch's scores on the data and checks, taken once, against an int8 file's."""

    def __init__(
        self,
        reference: Flagger,
        data: str | Path,
        split: str | None,
        text_field: str,
        checks: Sequence[str | Path],
    ) -> None:
        examples = select_split(load_examples(data, text_field=text_field), split)
        labelled = [e for e in examples if e.sexist is not None]
        if not labelled:
            raise ConfigError(f"{data}: no labelled messages in split {split!r} to measure on")
        self.reference, self.data, self.split = reference, Path(data), split
        self.extra = {
            Path(p).name: [
                e for e in load_examples(p, text_field=text_field) if e.sexist is not None
            ]
            for p in checks
        }
        self.texts = [e.text for e in labelled]
        self.gold = np.array([e.sexist for e in labelled], dtype=int)
        # Every PyTorch score is taken before exporting: tracing leaves state behind that
        # changes what the network computes afterwards.
        self.before = reference.probabilities(self.texts)
        self.extra_before = {
            name: reference.probabilities([e.text for e in rows]).sexist
            for name, rows in self.extra.items()
        }

    def of(self, onnx_file: Path) -> OnnxExport:
        reference = self.reference
        threshold = reference.info.threshold
        quantised = Flagger(
            OnnxBackend(onnx_file, reference.num_threads),
            reference.tokenizer,
            reference.info,
            num_threads=reference.num_threads,
        )
        after = quantised.probabilities(self.texts)
        out_of_domain = (
            _out_of_domain(self.extra_before, quantised, self.extra, threshold)
            if self.extra
            else None
        )
        flagged_before, flagged_after = self.before.sexist >= threshold, after.sexist >= threshold
        record = OnnxExport(
            file=ONNX_FILE,
            quantization=QUANTIZATION,
            measured_on={
                "file": self.data.name,
                "sha256": sha256_file(self.data),
                "split": self.split,
                "rows": len(self.texts),
                "threshold": threshold,
            },
            macro_f1_torch=round(task_a_f1(self.gold, flagged_before.astype(int)), 4),
            macro_f1_onnx=round(task_a_f1(self.gold, flagged_after.astype(int)), 4),
            max_abs_logit_difference=round(
                float(np.abs(self.before.sexist_logit - after.sexist_logit).max()), 4
            ),
            agreement=round(float((flagged_before == flagged_after).mean()), 4),
            out_of_domain=out_of_domain,
        )
        logger.info(
            "ONNX int8: macro-F1 %.4f, PyTorch %.4f", record.macro_f1_onnx, record.macro_f1_torch
        )
        return record
