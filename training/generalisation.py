"""Measure models in domain and out of domain, side by side: the generalisation table.

Sets (each skipped with a note when its file is absent):

- EDOS dev (``../shared/data/edos``): in domain, Tasks A, B and C;
- the corpus's blind split (``training/blind/blind.csv``), written apart from the training
  corpus and never trained on;
- the workplace statements (``../shared/data/workplace``), pool half and test half by a fixed
  hash of the id (``flagger.generalisation.org_half``): recipes are chosen on the pool half, the
  test half is reported;
- the ToxiGen seed statements about women (``../shared/data/toxigen-women``);
- the behavioural suite (``training/behaviour``), with false-positive rates on neutral and
  positive mentions by group.

Usage::

    .venv/bin/python training/generalisation.py --model models/flagger-edos \
        [--model runs/candidate ...] [--json out.json] [--record]

Each ``--model`` adds a column (oldest first). ``--record`` stores the last model's figures in
its ``flagger.json`` (``metrics.generalisation``) and model card, with the first as "before".
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from flagger.generalisation import (
    POOL,
    TEST,
    EvalSet,
    generalisation_report,
    markdown_table,
    operating_points_table,
)
from flagger.model import Flagger

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"


def default_sets(shared: Path = SHARED) -> list[EvalSet]:
    """The sets the README's generalisation table reports, where their files exist."""
    candidates = [
        EvalSet("EDOS dev", shared / "edos" / "edos_train_dev.csv", "dev"),
        EvalSet("blind split", ROOT / "training" / "blind" / "blind.csv"),
        EvalSet("workplace pool", shared / "workplace" / "workplace_visible.csv", POOL),
        EvalSet("workplace test", shared / "workplace" / "workplace_visible.csv", TEST),
        EvalSet("ToxiGen seeds", shared / "toxigen-women" / "toxigen_women_seeds.csv"),
    ]
    present = []
    for item in candidates:
        if item.path.is_file():
            present.append(item)
        else:
            print(f"skipping {item.name}: {item.path} not found", file=sys.stderr)
    return present


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", type=Path, required=True)
    parser.add_argument("--backend", default="auto", choices=["auto", "onnx", "torch"])
    parser.add_argument("--suite", type=Path, default=ROOT / "training" / "behaviour")
    parser.add_argument("--shared", type=Path, default=SHARED)
    parser.add_argument("--json", type=Path, help="write every report here")
    parser.add_argument("--record", action="store_true", help="store in the last model's card")
    args = parser.parse_args()

    sets = default_sets(args.shared)
    reports = []
    for directory in args.model:
        flagger = Flagger.load(directory, backend=args.backend)
        report = generalisation_report(flagger, sets, args.suite)
        report["backend"] = flagger.backend.name
        reports.append(report)
    print(markdown_table(reports))
    print()
    print(operating_points_table(reports[-1], ["EDOS dev", "workplace test", "workplace pool"]))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(reports, indent=2) + "\n")
    if args.record:
        from flagger.training.card import record_generalisation

        record_generalisation(args.model[-1], reports[-1], reports[0] if len(reports) > 1 else None)
        print(f"recorded in {args.model[-1]}")


if __name__ == "__main__":
    main()
