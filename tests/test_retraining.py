"""Retraining end to end with a tiny model: labels in, candidates measured, gated promotion,
the API serving the promoted version after a reload; and crashes that lose nothing."""

import csv
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from flagger.api import ServiceSettings, create_app
from flagger.errors import ConfigError
from flagger.label_files import export_labels, import_labels
from flagger.registry import Registry
from flagger.store import LabelStore
from flagger.training import TrainingConfig
from flagger.training.retrain import retrain

CLI = [sys.executable, "-c", "from flagger.cli import main; main()"]


def write_labels(path: Path, count: int) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text", "label", "category", "reviewer"])
        for i in range(count):
            sexist = i % 2 == 0
            text = "women are stupid and weak" if sexist else "the team meets at six"
            category = "2. derogation" if sexist else ""
            writer.writerow(
                [f"org-{i}", f"{text} {i}", "sexist" if sexist else "not sexist", category, "ann"]
            )
    return path


def recipe(tiny_base: Path, **changes: object) -> TrainingConfig:
    values: dict[str, object] = {
        "base_model": str(tiny_base),
        "max_length": 24,
        "window_stride": 8,
        "max_steps": 12,
        "batch_size": 8,
        "evals_per_epoch": 2,
        "seed": 1,
        "num_threads": 1,
    }
    return TrainingConfig(**{**values, **changes})  # type: ignore[arg-type]


def test_labels_retrain_gate_promote_and_serve(
    tmp_path: Path, tiny_base: Path, edos_csv: Path
) -> None:
    store = LabelStore(f"sqlite:///{tmp_path / 'labels.db'}")
    report = import_labels(write_labels(tmp_path / "labels.csv", 40), store)
    assert report.stored == 40 and not report.skipped
    registry_root = tmp_path / "registry"

    first = retrain(
        registry_root, edos_csv, store, config=recipe(tiny_base), name="tiny", progress=False
    )
    assert first.org_examples + first.held_back == 40 and first.held_back > 0
    evaluation = first.version.evaluation
    assert evaluation.frozen_set_sha256 and evaluation.details["frozen_messages"] > 12
    registry = Registry(registry_root)
    registry.promote(first.version.id, by="test")  # the first version has nothing to beat
    good = retrain(
        registry_root,
        edos_csv,
        store,
        config=recipe(tiny_base, seed=2),
        name="tiny",
        progress=False,
    )
    worse = retrain(
        registry_root,
        edos_csv,
        store,
        config=recipe(tiny_base, seed=3),
        name="tiny",
        progress=False,
    )
    # Tiny random models score alike, so the test sets what the frozen set "measured" for the
    # two candidates: one clearly better than the promoted version, one clearly worse.
    registry = Registry(registry_root)
    base = registry.get(first.version.id).evaluation.task_a
    for candidate, task_a in ((good, base + 0.1), (worse, base - 0.1)):
        registry.state.versions[candidate.version.id].evaluation.task_a = task_a
    registry._save()
    registry.promote(good.version.id, by="test")

    settings = ServiceSettings(
        api_keys="ak=admin",
        registry=registry_root,
        audit_log=tmp_path / "audit.jsonl",
        store_url=f"sqlite:///{tmp_path / 'labels.db'}",
    )
    with TestClient(create_app(settings)) as client:
        headers = {"Authorization": "Bearer ak"}
        assert (
            client.get("/v1/model", headers=headers).json()["version"]
            == good.version.id.split("@")[1]
        )

        registry = Registry(registry_root)
        with pytest.raises(ConfigError, match="below"):
            registry.promote(worse.version.id, by="test")
        forced = registry.promote(worse.version.id, by="test", force=True, reason="drill")
        assert forced.forced and Registry(registry_root).state.history[-1].reason == "drill"
        reloaded = client.post("/v1/admin/reload", json={}, headers=headers).json()
        assert reloaded["model_version"] == worse.version.id
        Registry(registry_root).rollback(by="test")
        reloaded = client.post("/v1/admin/reload", json={}, headers=headers).json()
        assert reloaded["model_version"] == good.version.id
    assert [r["id"] for r in Registry(registry_root).describe()] == [
        first.version.id,
        good.version.id,
        worse.version.id,
    ]
    # Frozen slice: the same held-back cases every time, and never trained on.
    assert good.held_back == first.held_back == worse.held_back
    assert export_labels(store, tmp_path / "out.jsonl") == 40


def test_tampered_version_is_refused(tmp_path: Path, tiny_model: Path, edos_csv: Path) -> None:
    from flagger.registry import Evaluation

    registry = Registry(tmp_path / "r")
    version = registry.add(tiny_model, Evaluation(task_a=0.5, suite_failures=0))
    weights = tmp_path / "r" / version.directory / "model.safetensors"
    weights.chmod(0o644)
    weights.write_bytes(weights.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(Exception, match="sha256"):
        registry.promote(version.id, by="test")
    with pytest.raises(ConfigError, match="already registered"):
        registry.add(tiny_model, Evaluation(task_a=0.5, suite_failures=0))


def test_disagreements_are_reported_not_resolved(tmp_path: Path) -> None:
    store = LabelStore(f"sqlite:///{tmp_path / 'l.db'}")
    rows = tmp_path / "l.jsonl"
    rows.write_text(
        "\n".join(
            json.dumps(r)
            for r in [
                {"id": "a", "text": "x", "label": "sexist", "reviewer": "ann"},
                {"id": "a", "text": "x", "label": "not sexist", "reviewer": "bob"},
                {"id": "b", "text": "y", "label": "sexist", "reviewer": "ann"},
                {
                    "id": "b",
                    "text": "y",
                    "label": "not sexist",
                    "reviewer": "ann",
                },  # ann changed her mind
                {"id": "c", "text": "z", "label": "maybe"},
            ]
        )
    )
    report = import_labels(rows, store)
    assert report.stored == 4 and len(report.skipped) == 1 and "maybe" in report.skipped[0]
    assert [d["id"] for d in store.disagreements()] == ["a"]
    assert [(e.id, e.sexist) for e in store.training_examples()] == [("b", 0)]
    assert store.counts() == {"cases": 2, "labels": 4}  # history kept


def test_sigkill_during_import_and_retraining_loses_nothing(
    tmp_path: Path, tiny_base: Path, edos_csv: Path, tiny_model: Path
) -> None:
    from flagger.registry import Evaluation

    db = f"sqlite:///{tmp_path / 'labels.db'}"
    big = write_labels(tmp_path / "big.csv", 3000)
    importing = subprocess.Popen([*CLI, "labels", "import", str(big), "--db", db])
    store = LabelStore(db)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and store.counts()["labels"] < 200:
        time.sleep(0.05)
    importing.send_signal(signal.SIGKILL)
    assert importing.wait() == -signal.SIGKILL
    kept = store.counts()["labels"]
    assert 0 < kept < 3000
    subprocess.run([*CLI, "labels", "import", str(big), "--db", db], check=True)
    assert LabelStore(db).counts()["cases"] == 3000  # the rerun completes it, nothing corrupt

    registry_root = tmp_path / "registry"
    registry = Registry(registry_root)
    registry.add(tiny_model, Evaluation(task_a=0.5, suite_failures=0))
    registry.promote("tiny@0.0.1", by="test")
    config = tmp_path / "recipe.json"
    config.write_text(
        json.dumps(
            {
                "base_model": str(tiny_base),
                "max_length": 24,
                "window_stride": 8,
                "max_steps": 5000,
                "batch_size": 8,
                "num_threads": 1,
            }
        )
    )
    training = subprocess.Popen(
        [
            *CLI,
            "retrain",
            "--data",
            str(edos_csv),
            "--registry",
            str(registry_root),
            "--db",
            db,
            "--config",
            str(config),
        ],
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (registry_root / "candidates").exists():
        time.sleep(0.05)
    time.sleep(2)  # well into training
    training.send_signal(signal.SIGKILL)
    assert training.wait() == -signal.SIGKILL
    after = Registry(registry_root)
    assert after.state.promoted == "tiny@0.0.1" and list(after.state.versions) == ["tiny@0.0.1"]
    after.promoted_path()  # still verifies
    assert LabelStore(db).counts()["cases"] == 3000


def test_store_schema_comes_from_migrations(tmp_path: Path) -> None:
    from sqlalchemy import inspect

    store = LabelStore(f"sqlite:///{tmp_path / 'm.db'}")
    tables = set(inspect(store.engine).get_table_names())
    assert {"cases", "labels", "alembic_version"} <= tables
    LabelStore(f"sqlite:///{tmp_path / 'm.db'}")  # opening again is a no-op upgrade
    with store.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
