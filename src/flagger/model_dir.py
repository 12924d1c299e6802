"""Self-describing model directories: describe, verify and locate (torch-free).

A model directory holds the weights (``model.safetensors``, fp16), the encoder ``config.json``, the
tokenizer files, ``flagger.json`` (labels, window sizes, calibration, operating points, metrics,
training config, data hash, version), a model card (``README.md``) and ``manifest.json``
with the sha256 of every file.
A directory without them, or whose files do not match the manifest, is refused. Saving and
loading the PyTorch weights lives in ``flagger.network``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from flagger.calibration import Calibration
from flagger.errors import ModelDirectoryError
from flagger.labels import CATEGORIES, VECTORS
from flagger.length import LengthRule
from flagger.thresholds import DEFAULT, OperatingPoint

FORMAT_VERSION = 2
WEIGHTS_FILE = "model.safetensors"
INFO_FILE = "flagger.json"
MANIFEST_FILE = "manifest.json"
CARD_FILE = "README.md"
SHIPPED_MODEL_NAME = "flagger-edos"
REQUIRED_FILES = (
    WEIGHTS_FILE,
    "config.json",
    "tokenizer.json",
    INFO_FILE,
    MANIFEST_FILE,
    CARD_FILE,
)


class OnnxExport(BaseModel):
    """An ONNX Runtime copy of the network and the accuracy it was measured to hold."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    file: str = Field(description="file name inside the model directory")
    quantization: str = Field(description="e.g. 'int8 dynamic, per channel, MatMul only'")
    measured_on: dict[str, Any] = Field(
        default_factory=dict, description="data file, sha256, split and rows of the check"
    )
    macro_f1_torch: float = Field(description="Task A macro-F1 on that data, PyTorch")
    macro_f1_onnx: float = Field(description="Task A macro-F1 on that data, this export")
    max_abs_logit_difference: float
    agreement: float = Field(description="share of messages with the same verdict")
    out_of_domain: dict[str, Any] | None = Field(
        default=None,
        description="Task A macro-F1 on PyTorch and on this export for each out-of-domain "
        "check file, and pooled over them (the pooled figure is gated too)",
    )


class ModelInfo(BaseModel):
    """The contents of ``flagger.json``: everything needed to use and audit a model."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    format_version: int = FORMAT_VERSION
    name: str
    version: str
    base_model: str
    categories: list[str] = Field(default_factory=lambda: list(CATEGORIES))
    vectors: list[str] = Field(default_factory=lambda: list(VECTORS))
    max_length: int = Field(gt=8, le=512, description="tokens per window, special tokens included")
    window_stride: int = Field(gt=0, description="tokens between the starts of two windows")
    normalize: bool = Field(
        default=True, description="undo obfuscation (flagger.normalize) before tokenising"
    )
    calibration: Calibration = Field(default_factory=Calibration)
    operating_points: dict[str, OperatingPoint] = Field(
        description="named thresholds on the calibrated score; 'default' is always there"
    )
    length: LengthRule = Field(
        default_factory=LengthRule,
        description="how a long message's verdict allows for its length (flagger.length)",
    )
    uncertainty_band: float = Field(
        default=0.1, ge=0.0, le=0.5, description="|score - threshold| below this is 'uncertain'"
    )
    onnx: OnnxExport | None = Field(default=None, description="a measured ONNX export, if any")
    metrics: dict[str, Any] = Field(default_factory=dict)
    training: dict[str, Any] = Field(default_factory=dict)
    data: dict[str, Any] = Field(default_factory=dict)
    created: str = ""

    @model_validator(mode="before")
    @classmethod
    def _upgrade(cls, data: Any) -> Any:
        """Read format 1 (one uncalibrated ``threshold``) as format 2 with only ``default``."""
        if isinstance(data, dict) and data.get("format_version") == 1 and "threshold" in data:
            data = dict(data)
            data["operating_points"] = {DEFAULT: {"value": data.pop("threshold")}}
            data["format_version"] = FORMAT_VERSION
        return data

    @model_validator(mode="after")
    def _has_default(self) -> ModelInfo:
        if DEFAULT not in self.operating_points:
            raise ValueError(f"operating_points must include {DEFAULT!r}")
        return self

    @property
    def threshold(self) -> float:
        """The default decision threshold (calibrated score)."""
        return self.operating_points[DEFAULT].value


def sha256_file(path: Path) -> str:
    """Return the hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_manifest(directory: Path) -> None:
    """Write ``manifest.json`` listing the sha256 of every other file in ``directory``."""
    files = sorted(p for p in directory.rglob("*") if p.is_file() and p.name != MANIFEST_FILE)
    manifest = {str(p.relative_to(directory)): sha256_file(p) for p in files}
    (directory / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n")


def verify_manifest(directory: Path) -> None:
    """Check every file listed in the manifest exists and has the recorded sha256.

    Raises:
        ModelDirectoryError: naming the first missing or modified file.
    """
    try:
        manifest = json.loads((directory / MANIFEST_FILE).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelDirectoryError(
            f"{directory / MANIFEST_FILE}: unreadable manifest ({exc})"
        ) from None
    for name, expected in manifest.items():
        path = directory / name
        if not path.is_file():
            raise ModelDirectoryError(
                f"{directory}: file {name!r} listed in the manifest is missing"
            )
        if sha256_file(path) != expected:
            raise ModelDirectoryError(
                f"{directory}: file {name!r} does not match its sha256 in {MANIFEST_FILE}; "
                "the model was modified or corrupted, restore it from a clean copy"
            )


def rewrite_info(
    directory: Path, info: ModelInfo, card: str, *, add_files: dict[str, Path] | None = None
) -> None:
    """Replace ``flagger.json`` and the model card of an intact model directory; re-sign it.

    ``add_files`` (name in the directory -> file to copy there) are added after the check.

    Raises:
        ModelDirectoryError: if the directory does not match its manifest (never bless tampering).
    """
    verify_manifest(directory)
    for name, source in (add_files or {}).items():
        shutil.copyfile(source, directory / name)
    (directory / INFO_FILE).write_text(info.model_dump_json(indent=2) + "\n")
    (directory / CARD_FILE).write_text(card)
    write_manifest(directory)


def read_info(directory: Path) -> ModelInfo:
    """Read and validate ``flagger.json``; check its labels match this version of flagger."""
    path = directory / INFO_FILE
    try:
        info = ModelInfo.model_validate_json(path.read_text())
    except (OSError, ValidationError) as exc:
        raise ModelDirectoryError(
            f"{path}: not a valid flagger model description ({exc})"
        ) from None
    if info.format_version != FORMAT_VERSION:
        raise ModelDirectoryError(
            f"{path}: format_version {info.format_version}, this flagger reads {FORMAT_VERSION}"
        )
    if tuple(info.categories) != CATEGORIES or tuple(info.vectors) != VECTORS:
        raise ModelDirectoryError(f"{path}: label set differs from this flagger's EDOS taxonomy")
    return info


def check_model_dir(directory: str | os.PathLike[str]) -> tuple[Path, ModelInfo]:
    """Check a model directory is complete and untampered, and read its description.

    Raises:
        ModelDirectoryError: if the directory is missing, incomplete, tampered with or incompatible.
    """
    path = Path(directory)
    if not path.is_dir():
        raise ModelDirectoryError(f"model directory {path} does not exist")
    missing = [name for name in REQUIRED_FILES if not (path / name).is_file()]
    if missing:
        raise ModelDirectoryError(
            f"{path} is not a flagger model directory: missing {', '.join(missing)}"
        )
    verify_manifest(path)
    return path, read_info(path)


def default_model_dir() -> Path:
    """Locate the shipped model: ``$FLAGGER_MODEL``, else ``models/flagger-edos`` in the checkout.

    Raises:
        ModelDirectoryError: if neither exists.
    """
    env = os.environ.get("FLAGGER_MODEL")
    if env:
        return Path(env)
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "models" / SHIPPED_MODEL_NAME
        if candidate.is_dir():
            return candidate
    raise ModelDirectoryError(
        f"no shipped model found: set FLAGGER_MODEL or pass a path to a model directory "
        f"(looked for models/{SHIPPED_MODEL_NAME} above {Path(__file__).parent})"
    )
