"""The trained model shipped in models/: it loads, verifies, and behaves sensibly (seconds)."""

import json
from pathlib import Path

import pytest

from flagger import Flagger
from flagger.data import load_examples, select_split
from flagger.evaluate import evaluate
from flagger.model_dir import SHIPPED_MODEL_NAME
from flagger.scan import scan

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "models" / SHIPPED_MODEL_NAME
EDOS = ROOT.parent / "shared" / "data" / "edos" / "edos_train_dev.csv"

pytestmark = pytest.mark.shipped_model


@pytest.fixture(scope="module")
def shipped() -> Flagger:
    return Flagger.load(SHIPPED)


def test_default_load_finds_the_shipped_model(shipped: Flagger) -> None:
    assert Flagger.load().path == SHIPPED
    assert shipped.info.name == SHIPPED_MODEL_NAME
    # A regression floor for the model in the repo; the README table has the measured figures.
    assert shipped.info.metrics["dev"]["task_a_macro_f1"] >= 0.79


def test_obvious_cases(shipped: Flagger) -> None:
    sexist, neutral = shipped.score(
        [
            "Women are stupid and belong in the kitchen, not in charge of anything.",
            "The quarterly budget meeting has moved to 10am on Tuesday.",
        ]
    )
    assert sexist.flagged and sexist.category is not None and sexist.vector is not None
    assert not neutral.flagged and neutral.score < 0.2


def test_shipped_decision_layer(shipped: Flagger) -> None:
    info = shipped.info
    assert info.calibration.method in {"temperature", "platt", "isotonic"}
    assert info.operating_points["review"].recall >= 0.90
    assert info.operating_points["alert"].precision >= 0.85
    text = "Honestly mate, women are too stupid to be sergeants 🙄"
    [result] = shipped.score([text])
    assert result.flagged and result.spans
    assert all(text[s.start : s.end] == s.text for s in result.spans)
    assert result.score_without_spans is not None
    assert result.score_without_spans < info.threshold - info.uncertainty_band


def test_demo_archive_scans(tmp_path: Path, shipped: Flagger) -> None:
    out = tmp_path / "results.jsonl"
    summary = scan(shipped, ROOT / "examples" / "messages.csv", out)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert summary.read == len(rows) == 28 and summary.errors == 0
    assert 3 <= summary.flagged <= 20
    long_message = next(r for r in rows if r["windows"] > 1)
    assert long_message["flagged"]  # the slur sits at the end of a long, otherwise neutral note


@pytest.mark.skipif(not EDOS.is_file(), reason="EDOS data not present in ../shared")
def test_dev_sample_accuracy(shipped: Flagger) -> None:
    dev = select_split(load_examples(EDOS), "dev")[:400]
    report, _ = evaluate(shipped, dev)
    assert report["task_a_macro_f1"] > 0.75


def test_shipped_hard_case_figures(shipped: Flagger) -> None:
    # Regression floors for the figures recorded at calibration time (see the model card).
    suite = shipped.info.metrics["suite"]
    assert suite["pass_rate"] >= 0.90
    assert all(row["pass_rate"] >= 0.80 for row in suite["capabilities"].values())
    assert suite["false_positive_rate_by_group"]["women"]["rate"] <= 0.05
    # EDOS dev Task A may move within seed noise (0.01: two seeds of one recipe differ by that
    # much) when the model replacing the baseline generalises better out of domain.
    baseline = shipped.info.metrics["baseline"]["dev"]["task_a_macro_f1"]
    assert shipped.info.metrics["dev"]["task_a_macro_f1"] >= baseline - 0.01
    # Out of domain, a replacement gives nothing back (0.015: noise on a few hundred messages)
    # and stays well clear of 1.1.0 (blind 0.71, workplace test 0.62, ToxiGen 0.59).
    recorded = shipped.info.metrics["generalisation"]
    floors = {"blind split": 0.85, "workplace test": 0.70, "ToxiGen seeds": 0.70}
    for name, floor in floors.items():
        after = recorded["after"]["sets"][name]["task_a_macro_f1"]
        assert after >= recorded["before"]["sets"][name]["task_a_macro_f1"] - 0.015, name
        assert after >= floor, name


def test_shipped_model_on_the_blind_split(shipped: Flagger) -> None:
    # Written apart from the training corpus and never trained on (training/blind/README.md).
    from flagger.generalisation import EvalSet, set_metrics

    blind = EvalSet("blind split", ROOT / "training" / "blind" / "blind.csv").examples()
    assert set_metrics(shipped, blind)["task_a_macro_f1"] >= 0.85


def test_shipped_model_reads_through_obfuscation_and_negation(shipped: Flagger) -> None:
    disguised, negated, reported = shipped.score(
        [
            "w0m3n are s t u p i d and should stay in the kitchen",
            "It's rubbish to claim that women can't lead; they lead brilliantly here.",
            "I've reported Jim to PSD for calling Kate a bitch in the briefing.",
        ]
    )
    assert disguised.flagged and disguised.spans
    assert not negated.flagged and not reported.flagged
