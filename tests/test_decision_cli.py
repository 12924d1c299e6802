"""The decision layer from the command line: calibrate, named thresholds, spans, explanations."""

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import write_edos_csv
from flagger import Flagger
from flagger.cli import app
from flagger.errors import ConfigError

runner = CliRunner()


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory: pytest.TempPathFactory, tiny_model: Path) -> tuple[Path, Path]:
    """A copy of the tiny model, re-calibrated on a dev split big enough to calibrate."""
    directory = tmp_path_factory.mktemp("calibrated")
    model = directory / "model"
    shutil.copytree(tiny_model, model)
    data = write_edos_csv(directory / "edos.csv", rows_per_class=48, seed=3)
    result = runner.invoke(app, ["calibrate", str(model), "--data", str(data)])
    assert result.exit_code == 0, result.output
    assert "default  threshold" in result.stdout
    return model, data


def test_calibrate_rewrites_a_valid_model_directory(calibrated: tuple[Path, Path]) -> None:
    model, _ = calibrated
    flagger = Flagger.load(model)  # the manifest still verifies
    info = flagger.info
    assert info.calibration.method in {"temperature", "isotonic"}
    assert info.calibration.report["messages"] == 24
    assert info.data["calibrated_on"]["split"] == "dev"
    assert "default" in info.operating_points
    for point in info.operating_points.values():
        assert point.precision is not None and point.recall is not None
    assert "## Operating points" in (model / "README.md").read_text()


def test_calibrate_refuses_too_few_labels(tmp_path: Path, tiny_model: Path, edos_csv: Path) -> None:
    model = tmp_path / "model"
    shutil.copytree(tiny_model, model)
    result = runner.invoke(app, ["calibrate", str(model), "--data", str(edos_csv)])
    assert result.exit_code != 0 and "at least 10 labelled messages" in str(result.exception)


def test_score_carries_threshold_uncertainty_and_spans(calibrated: tuple[Path, Path]) -> None:
    model, _ = calibrated
    result = runner.invoke(
        app, ["score", "--model", str(model), "--threshold", "0", "women are stupid", "hello"]
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    for row in rows:
        assert row["threshold"] == {"name": "custom", "value": 0.0}
        assert row["flagged"] and isinstance(row["uncertain"], bool)
        assert isinstance(row["spans"], list)
        for span in row["spans"]:
            assert {"start", "end", "text", "weight"} == set(span)
    quiet = runner.invoke(
        app, ["score", "--model", str(model), "-t", "0", "--no-explain", "women are stupid"]
    )
    row = json.loads(quiet.stdout)
    assert row["spans"] is None and row["score_without_spans"] is None


def test_thresholds_by_name(calibrated: tuple[Path, Path]) -> None:
    model, _ = calibrated
    flagger = Flagger.load(model)
    for name, point in flagger.info.operating_points.items():
        result = runner.invoke(app, ["score", "--model", str(model), "-t", name, "women"])
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["threshold"] == {"name": name, "value": point.value}
    unknown = runner.invoke(app, ["score", "--model", str(model), "-t", "strictest", "women"])
    assert isinstance(unknown.exception, ConfigError)
    assert "unknown threshold 'strictest'" in str(unknown.exception)


def test_uncertain_means_near_the_threshold(calibrated: tuple[Path, Path]) -> None:
    flagger = Flagger.load(calibrated[0])
    [result] = flagger.score(["women are stupid"], explain=False)
    near = flagger.score(["women are stupid"], threshold=result.score, explain=False)[0]
    far = flagger.score(["women are stupid"], uncertainty_band=0.0, explain=False)[0]
    assert near.uncertain and not far.uncertain


def test_scan_rows_carry_the_decision(tmp_path: Path, calibrated: tuple[Path, Path]) -> None:
    model, _ = calibrated
    archive = tmp_path / "in.jsonl"
    archive.write_text('{"id": "a", "text": "women are stupid"}\n{"id": "b", "text": "ok"}\n')
    out = tmp_path / "out.jsonl"
    result = runner.invoke(
        app, ["scan", str(archive), "-o", str(out), "--model", str(model), "-t", "0"]
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert all(r["threshold"]["name"] == "custom" and "uncertain" in r for r in rows)
    assert all(isinstance(r["spans"], list) for r in rows)


def test_evaluate_explanations_and_reliability_plot(
    tmp_path: Path, calibrated: tuple[Path, Path]
) -> None:
    model, data = calibrated
    plot = tmp_path / "plots" / "reliability.png"
    result = runner.invoke(
        app,
        [
            "evaluate",
            "--data",
            str(data),
            "--split",
            "dev",
            "--model",
            str(model),
            "-t",
            "0.0",
            "--explanations",
            "--reliability-plot",
            str(plot),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["operating_point"] == "custom"
    assert "ece_uncalibrated" in report and "ece" in report
    explanations = report["explanations"]
    assert explanations["flagged"] == 24
    for key in ("comprehensiveness", "sufficiency", "random_comprehensiveness"):
        assert key in explanations
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    table = runner.invoke(
        app,
        ["evaluate", "--data", str(data), "--model", str(model), "-t", "0", "--explanations"],
    )
    assert "comprehensiveness" in table.stdout and "random" in table.stdout


def test_calibrate_records_suite_and_baseline_in_the_card(
    tmp_path: Path, calibrated: tuple[Path, Path], tiny_model: Path
) -> None:
    model = tmp_path / "model"
    shutil.copytree(calibrated[0], model)
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "mentions.json").write_text(
        json.dumps(
            {
                "capability": "neutral_mentions",
                "sets": [
                    {"expected": "not sexist", "group": "women", "templates": ["the team meets"]},
                    {"expected": "not sexist", "group": "men", "templates": ["thanks for that"]},
                ],
            }
        )
    )
    steps = tmp_path / "steps.json"
    steps.write_text(json.dumps([{"step": "first try", "dev_task_a": 0.5, "suite": 0.25}]))
    result = runner.invoke(
        app,
        [
            "calibrate",
            str(model),
            "--data",
            str(calibrated[1]),
            "--suite",
            str(suite),
            "--baseline",
            str(tiny_model),
            "--steps",
            str(steps),
        ],
    )
    assert result.exit_code == 0, result.output
    metrics = Flagger.load(model).info.metrics
    assert metrics["suite"]["cases"] == 2
    assert metrics["baseline"]["model"] == "tiny@0.0.1"
    assert metrics["baseline"]["suite"]["cases"] == 2
    card = (model / "README.md").read_text()
    assert "## Behaviour on hard cases" in card and "| neutral_mentions | 2 |" in card
    assert "EDOS dev, before and after" in card and "tiny@0.0.1" in card
    assert "| first try | 0.5000 | 25.0% | n/a | n/a |" in card
