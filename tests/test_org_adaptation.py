"""Adapting to an organisation: audit picks in the queue and the store, fast adaptation end to
end on a tiny model, calibration from the audit sample, and the bench's split and pickers."""

from __future__ import annotations

import csv
import importlib.util
import io
import json
from contextlib import redirect_stdout
from pathlib import Path
from types import ModuleType

import pytest
from sqlalchemy import create_engine, text

from flagger.errors import ConfigError
from flagger.generalisation import POOL, TEST, org_half
from flagger.label_files import export_labels, import_labels
from flagger.model_dir import read_info
from flagger.registry import Registry
from flagger.review_queue import pick_for_review
from flagger.store import AUDIT, Feedback, LabelStore
from flagger.training.candidate import held_back
from flagger.training.config import TrainingConfig
from flagger.training.retrain import retrain

ROOT = Path(__file__).resolve().parents[1]


def scan_rows(count: int) -> list[dict[str, object]]:
    """Scan output: m0 sits on the threshold, scores move away from it as i grows."""
    return [
        {
            "id": f"m{i}",
            "text": f"message {i}",
            "score": 0.5 + (i if i % 2 else -i) / (2 * count),
            "threshold": {"value": 0.5},
        }
        for i in range(count)
    ]


def test_queue_mixes_in_marked_random_audit_picks() -> None:
    rows = scan_rows(40)
    chosen = pick_for_review(rows, set(), 8, audit_share=0.25, seed=3)
    picked = [r["picked"] for r in chosen]
    assert picked.count("audit") == 2 and picked.count("queue") == 6
    queue_ids = {r["id"] for r in chosen if r["picked"] == "queue"}
    assert queue_ids == {f"m{i}" for i in range(6)}  # the six closest to the threshold
    assert picked[0] == "queue" and picked[-1] == "queue"  # audit picks sit among the others
    again = pick_for_review(rows, set(), 8, audit_share=0.25, seed=3)
    assert [r["id"] for r in again] == [r["id"] for r in chosen]  # the seed fixes the draw
    audit_draws = {
        r["id"]
        for seed in range(30)
        for r in pick_for_review(rows, set(), 8, audit_share=0.25, seed=seed)
        if r["picked"] == "audit"
    }
    assert len(audit_draws) > 20  # drawn from the whole scan, not only near the threshold
    assert all(r["picked"] == "queue" for r in pick_for_review(rows, set(), 5))
    with pytest.raises(Exception, match="audit-share"):
        pick_for_review(rows, set(), 5, audit_share=1.5)


def test_audit_marks_travel_through_files_and_the_store(tmp_path: Path) -> None:
    labels = tmp_path / "labels.csv"
    labels.write_text(
        "id,text,label,picked\n"
        "a1,one,sexist,audit\nq1,two,not sexist,queue\nx1,three,not sexist,\n",
        encoding="utf-8",
    )
    store = LabelStore(f"sqlite:///{tmp_path / 'labels.db'}")
    assert import_labels(labels, store).stored == 3
    studio = tmp_path / "studio.json"
    choice = {"value": {"choices": ["not sexist"]}}
    studio.write_text(
        json.dumps(
            [
                {
                    "data": {"id": "a2", "text": "four", "picked": "audit"},
                    "annotations": [{"result": [choice]}],
                }
            ]
        ),
        encoding="utf-8",
    )
    assert import_labels(studio, store).stored == 1
    assert store.audit_ids() == {"a1", "a2"} and store.stats()["audit_cases"] == 2
    bad = tmp_path / "bad.csv"
    bad.write_text("id,text,label,picked\nb1,five,sexist,lottery\n", encoding="utf-8")
    assert "picked must be one of" in import_labels(bad, store).skipped[0]
    export_labels(store, tmp_path / "out.jsonl")
    exported = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert {row["id"]: row["picked"] for row in exported}["a1"] == AUDIT


def test_an_old_store_gains_the_picked_column(tmp_path: Path) -> None:
    from alembic import command
    from alembic.config import Config

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    config = Config()
    config.set_main_option("script_location", str(ROOT / "src" / "flagger" / "migrations"))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
        connection.execute(
            text(
                "INSERT INTO cases (message_id, text, source, created_at) "
                "VALUES ('old', 'kept', 'api', '2026-01-01')"
            )
        )
    store = LabelStore(url)  # migrates to head
    store.add(Feedback(message_id="old", text="kept", label="sexist", reviewer="r"))
    assert store.audit_ids() == set() and store.counts()["cases"] == 1


def org_store(tmp_path: Path, audit: int, queue: int) -> LabelStore:
    store = LabelStore(f"sqlite:///{tmp_path / 'org.db'}")
    for i in range(audit + queue):
        sexist = i % 2 == 0
        store.add(
            Feedback(
                message_id=f"org-{i}",
                text=f"{'women are stupid and weak' if sexist else 'the team meets at six'} {i}",
                label="sexist" if sexist else "not sexist",
                reviewer="ann",
                picked="audit" if i < audit else "queue",
            )
        )
    return store


@pytest.mark.parametrize("audit", [60, 8], ids=["enough-audit", "too-few-audit"])
def test_fast_adaptation_end_to_end(
    tmp_path: Path, tiny_model: Path, edos_csv: Path, audit: int
) -> None:
    store = org_store(tmp_path, audit=audit, queue=30)
    result = retrain(
        tmp_path / "registry",
        edos_csv,
        store,
        fast=True,
        init_model=tiny_model,
        name="tiny",
        progress=False,
    )
    usable = result.org_examples
    calibrated = result.calibrated_on
    directory = Registry(tmp_path / "registry").path(result.version.id)
    info = read_info(directory)
    assert info.training["init_model"] == str(tiny_model) and info.training["selection"] == "last"
    assert info.length == read_info(tiny_model).length  # how long messages are judged is kept
    assert "averaged with the starting model (weight 0.5)" in info.metrics["selected"]
    assert info.data["calibrated_on"] == calibrated
    card = (directory / "README.md").read_text(encoding="utf-8")
    if audit == 60:
        assert calibrated["source"] == "organisation random audit sample"
        assert calibrated["audit_labels"] == audit  # audit picks are never held back
        assert result.held_back > 0
        assert result.trained_on == usable - calibrated["audit_labels"]
        assert info.calibration.report["messages"] == calibrated["audit_labels"]
        assert "random audit sample" in card
    else:
        assert calibrated["source"] == "base data dev split" and "at least 10" in calibrated["why"]
        assert result.trained_on == usable  # too few to calibrate on: they are trained on
        assert "The base calibration was kept" in card


def test_frozen_slice_is_independent_of_the_bench_halves() -> None:
    ids = [f"case-{i}" for i in range(4000)]
    pool = [i for i in ids if org_half(i) == POOL]
    share = sum(held_back(i, 0.2) for i in pool) / len(pool)
    assert 0.17 < share < 0.23  # 20% of the pool half, not the 40% an unsalted hash gives


def test_init_weight_needs_a_model_to_continue_from() -> None:
    with pytest.raises(ConfigError, match="init_weight needs init_model"):
        TrainingConfig(init_weight=0.5, selection="last")
    with pytest.raises(ConfigError, match="init_weight must be in"):
        TrainingConfig(init_weight=1.0, init_model="m", selection="last")


def load_bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "org_adaptation", ROOT / "bench" / "org_adaptation.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_org_file(path: Path, rows: int) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text", "label_sexist"])
        for i in range(rows):
            sexist = i % 2 == 0
            words = "she should not lead the team" if sexist else "the report is due at six"
            writer.writerow([f"o-{i}", f"{words} {i}", "sexist" if sexist else "not sexist"])
    return path


def test_bench_split_pickers_and_audit_share(tmp_path: Path) -> None:
    bench = load_bench()
    org = write_org_file(tmp_path / "org.csv", 80)
    pool, test = bench.halves(org)
    assert {org_half(e.id) for e in pool} == {POOL} and {org_half(e.id) for e in test} == {TEST}
    assert len(pool) + len(test) == 80
    assert bench.audit_count(200, 0.2) == 50 and bench.audit_count(12, 0.0) == 0
    rows = [
        {"id": e.id, "text": e.text, "score": i / len(pool), "threshold": {"value": 0.5}}
        for i, e in enumerate(pool)
    ]
    for picker in ("random", "queue"):
        picks = bench.pick(picker, pool, rows, 10, 3, seed=0)
        assert len(picks) == 13 and len({e.id for e, _ in picks}) == 13
        assert sum(mark == AUDIT for _, mark in picks) == 3
        assert {e.id for e, _ in picks} <= {e.id for e in pool}
    picks = bench.pick("queue", pool, rows, 10, 3, 0)
    audited = {e.id for e, mark in picks if mark == AUDIT}
    others = [r for r in rows if r["id"] not in audited]
    nearest = sorted(others, key=lambda r: abs(float(r["score"]) - 0.5))[:10]
    assert {e.id for e, mark in picks if mark != AUDIT} == {r["id"] for r in nearest}


def test_bench_end_to_end_contract(tmp_path: Path, tiny_model: Path, edos_csv: Path) -> None:
    bench = load_bench()
    org = write_org_file(tmp_path / "org.csv", 60)
    printed = io.StringIO()
    with redirect_stdout(printed):
        bench.main(
            [
                *("--org", str(org), "--base-data", str(edos_csv), "--model", str(tiny_model)),
                *("--sizes", "8", "--pickers", "random", "queue", "--seeds", "1", "--replay"),
                *("--json", "--plot", str(tmp_path / "curve.png")),
            ]
        )
    report = json.loads(printed.getvalue())
    assert set(report) >= {"org", "pool_size", "test_size", "baseline", "runs"}
    contract = {"macro_f1", "recall", "fpr", "ece", "edos_dev_task_a"}
    assert set(report["baseline"]) == contract | {"ece_floor", "macro_f1_best_threshold"}
    assert 0 <= report["baseline"]["ece_floor"] <= 1
    assert [(r["picker"], r["labels"], r["seed"]) for r in report["runs"]] == [
        ("random", 8, 0),
        ("queue", 8, 0),
    ]
    keys = {"trained_on", *contract, "seconds"}
    assert all(keys <= set(run) for run in report["runs"])
    assert (tmp_path / "curve.png").stat().st_size > 1000
    table = bench.summary(report)
    assert "| 8 (+2) | queue |" in table and "| 0 | shipped model |" in table


def test_retrain_fast_from_the_command_line(
    tmp_path: Path, tiny_model: Path, edos_csv: Path
) -> None:
    from typer.testing import CliRunner

    from flagger.cli import app

    db = f"sqlite:///{tmp_path / 'org.db'}"
    org_store(tmp_path, audit=0, queue=20)
    common = ["retrain", "--fast", "--data", str(edos_csv), "--registry", str(tmp_path / "r")]
    refused = CliRunner().invoke(app, [*common, "--db", db])
    assert refused.exit_code != 0
    assert "no version promoted" in refused.output + str(refused.exception)
    made = CliRunner().invoke(app, [*common, "--db", db, "--from", str(tiny_model)])
    assert made.exit_code == 0, made.output
    assert "calibrated on base data dev split (0 audit labels)" in made.output
