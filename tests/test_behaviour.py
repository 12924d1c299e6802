"""The behavioural suite: expansion, obfuscations, the report, and its separation from training."""

import importlib.util
import json
import random
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from flagger.behaviour import OBFUSCATIONS, Case, expand, load_suite, obfuscate, suite_report
from flagger.cli import app
from flagger.errors import InputFileError

ROOT = Path(__file__).resolve().parents[1]
SUITE = ROOT / "training" / "behaviour"
CAPABILITIES = {
    "derogation",
    "dehumanisation",
    "threats",
    "implicit",
    "slurs_at_women",
    "profanity_at_no_one",
    "negation",
    "counter_speech",
    "neutral_mentions",
    "workplace_gendered",
    "obfuscation",
}


def test_the_shipped_suite_is_complete_and_reproducible() -> None:
    cases = load_suite(SUITE)
    assert len(cases) >= 600
    assert {c.capability for c in cases} == CAPABILITIES
    assert cases == load_suite(SUITE)  # same cases every time
    groups = {c.group for c in cases if c.capability == "neutral_mentions"}
    assert groups == {"women", "men", "none"}
    assert all("{" not in c.text and "}" not in c.text for c in cases)


def test_expand_is_capped_and_seeded_by_the_template() -> None:
    slots = {"x": [str(i) for i in range(50)], "y": ["a", "b"]}
    texts = expand("{x} and {y}", slots, 7)
    assert len(texts) == 7 and len(set(texts)) == 7
    assert texts == expand("{x} and {y}", slots, 7)
    assert len(expand("no slots here", slots, 7)) == 1
    with pytest.raises(InputFileError, match="unknown slot"):
        expand("{nope}", slots, 3)
    with pytest.raises(InputFileError, match="unknown obfuscation"):
        expand("{x|rot13}", slots, 3)


@pytest.mark.parametrize("op", sorted(OBFUSCATIONS))
def test_each_obfuscation_disguises_the_longest_word(op: str) -> None:
    text = obfuscate("a stupid cow", op, random.Random(0))
    assert text != "a stupid cow" and text.startswith("a ") and text.endswith(" cow")


def test_report_counts_passes_and_false_positives() -> None:
    cases = [
        Case("a", "neutral_mentions", "t", 0, "women", "t"),
        Case("b", "neutral_mentions", "t", 0, "men", "t"),
        Case("c", "derogation", "t", 1, None, "t"),
        Case("d", "derogation", "t", 1, None, "t"),
    ]
    report = suite_report(cases, np.array([0.9, 0.1, 0.8, 0.2]), 0.5)
    assert report["pass_rate"] == 0.5
    assert report["capabilities"]["derogation"] == {"cases": 2, "pass_rate": 0.5}
    assert report["false_positive_rate_by_group"]["women"]["rate"] == 1.0
    assert report["false_positive_rate_by_group"]["men"]["rate"] == 0.0
    assert [f["id"] for f in report["failures"]] == ["a", "d"]


def test_suite_from_the_command_line(tmp_path: Path, tiny_model: Path) -> None:
    (tmp_path / "slots.json").write_text(json.dumps({"w": ["women", "ladies"]}))
    (tmp_path / "neg.json").write_text(
        json.dumps(
            {
                "capability": "neutral_mentions",
                "sets": [{"expected": "not sexist", "group": "women", "templates": ["{w} ok"]}],
            }
        )
    )
    result = CliRunner().invoke(
        app, ["evaluate", "--suite", str(tmp_path), "--model", str(tiny_model), "--json"]
    )
    assert result.exit_code == 0, result.output
    suite = json.loads(result.stdout)["suite"]
    assert suite["cases"] == 2 and set(suite["capabilities"]) == {"neutral_mentions"}
    table = CliRunner().invoke(app, ["evaluate", "--suite", str(tmp_path), "-m", str(tiny_model)])
    assert "neutral_mentions" in table.stdout and "women" in table.stdout


def test_bad_suite_files_are_named(tmp_path: Path) -> None:
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(InputFileError, match=r"broken\.json"):
        load_suite(tmp_path)
    with pytest.raises(InputFileError, match="not a directory"):
        load_suite(tmp_path / "missing")


def test_training_augmentations_never_repeat_a_suite_case() -> None:
    spec = importlib.util.spec_from_file_location("augment", ROOT / "training" / "augment.py")
    assert spec and spec.loader
    augment = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(augment)
    rows = augment.generate()
    suite = {c.text.lower() for c in load_suite(SUITE)}
    assert len(rows) > 1000 and not suite & {r["text"].lower() for r in rows}
