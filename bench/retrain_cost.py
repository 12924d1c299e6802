"""What retraining costs: wall time of ``flagger retrain`` (quick and/or full) with 1,000 labels.

Stands in for an organisation's labels with 1,000 rows of the hard-case generator
(``training/augment.py``: never the behavioural suite, never EDOS test data), imports them into
a fresh label store, registers and promotes the shipped model in a fresh registry (this fixes
the frozen set), then times each retrain as a whole process: training, frozen-set and suite
evaluation, registration.

    .venv/bin/python bench/retrain_cost.py --data ../shared/data/edos/edos_train_dev.csv --quick
    .venv/bin/python bench/retrain_cost.py --data ../shared/data/edos/edos_train_dev.csv --full
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-c", "from flagger.cli import main; main()"]


def org_labels(out: Path, count: int) -> Path:
    """``count`` generated hard-case rows as a labels CSV."""
    generated = out.with_name("augment.csv")
    subprocess.run(
        [sys.executable, str(ROOT / "training" / "augment.py"), "--out", str(generated)], check=True
    )
    with generated.open(encoding="utf-8", newline="") as source, out.open("w", newline="") as sink:
        writer = csv.writer(sink)
        writer.writerow(["id", "text", "label", "category", "vector", "reviewer"])
        for i, row in enumerate(csv.DictReader(source)):
            if i == count:
                break
            sexist = row["label_sexist"] == "sexist"
            category = row["label_category"] if sexist and row["label_category"] != "none" else ""
            vector = row["label_vector"] if sexist and row["label_vector"] != "none" else ""
            writer.writerow(
                [f"org-{i}", row["text"], row["label_sexist"], category, vector, "bench"]
            )
    return out


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="EDOS CSV with train/dev")
    parser.add_argument("--labels", type=int, default=1000, help="org labels to stand in")
    parser.add_argument("--quick", action="store_true", help="time flagger retrain --quick")
    parser.add_argument("--full", action="store_true", help="time a full flagger retrain")
    parser.add_argument("--config", type=Path, default=ROOT / "training" / "retrain.json")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        db, registry = f"sqlite:///{work / 'labels.db'}", str(work / "registry")
        subprocess.run(
            [*CLI, "labels", "import", str(org_labels(work / "org.csv", args.labels)), "--db", db],
            check=True,
        )
        suite = ["--suite", str(ROOT / "training" / "behaviour")]
        common = ["--registry", registry, "--db", db]
        subprocess.run(
            [
                *CLI,
                "models",
                "add",
                str(ROOT / "models" / "flagger-edos"),
                "--data",
                str(args.data),
                *common,
                *suite,
            ],
            check=True,
        )
        subprocess.run(
            [*CLI, "models", "promote", "flagger-edos@1.1.0", "--registry", registry], check=True
        )
        results = {}
        retrain = [*CLI, "retrain", "--data", str(args.data), *common, *suite]
        retrain += ["--config", str(args.config)]
        if args.quick:
            results["quick_seconds"] = round(timed([*retrain, "--quick"]), 1)
        if args.full:
            results["full_seconds"] = round(timed(retrain), 1)
        subprocess.run([*CLI, "models", "list", "--registry", registry], check=True)
    print(json.dumps({"org_labels": args.labels, **results}))


if __name__ == "__main__":
    main()
