"""Interpolate a model trained with augmentations back towards the model it improves on.

Fine-tuning on the hard-case augmentations raises the behavioural suite but costs a little EDOS
dev Task A. Averaging its weights with the previous model's (WiSE-FT style; both start from the
same encoder and head initialisation, so they average well) trades the two smoothly. This script
measures the trade for a list of weights, on dev (Task A at its best threshold) and on the suite
(at that threshold), so the weight can be chosen by a rule stated in advance: the largest weight
on the new model whose dev Task A is not below the previous model's.

    .venv/bin/python training/interpolate.py NEW_MODEL OLD_MODEL \\
        --data ../shared/data/edos/edos_train_dev.csv --weights 1.0,0.9,0.8,0.7,0.6,0.5
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from flagger import Flagger
from flagger.behaviour import load_suite, suite_report
from flagger.data import load_examples, select_split
from flagger.metrics import best_f1_threshold
from flagger.training.selection import average_states


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("new", type=Path, help="model trained with augmentations")
    parser.add_argument("old", type=Path, help="the model it improves on (same base)")
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--suite", type=Path, default=Path(__file__).parent / "behaviour")
    parser.add_argument("--weights", default="1.0,0.9,0.8,0.7,0.6,0.5")
    args = parser.parse_args()

    new, old = Flagger.load(args.new, backend="torch"), Flagger.load(args.old, backend="torch")
    dev = select_split(load_examples(args.data), "dev")
    gold = np.array([e.sexist for e in dev])
    cases = load_suite(args.suite)
    new_state = {k: v.clone() for k, v in new.network.state_dict().items()}
    old_state = {k: v.clone() for k, v in old.network.state_dict().items()}
    print(f"| weight on {args.new.name} | dev Task A | suite | weakest capability | women FPR |")
    print("|---|---|---|---|---|")
    for weight in (float(w) for w in args.weights.split(",")):
        new.network.load_state_dict(average_states([new_state, old_state], [weight, 1 - weight]))
        # Calibration is monotone: deciding on logits at the best dev cut is the same decision.
        cut, task_a = best_f1_threshold(new.probabilities([e.text for e in dev]).sexist_logit, gold)
        report = suite_report(cases, new.probabilities([c.text for c in cases]).sexist_logit, cut)
        weakest = min(report["capabilities"].items(), key=lambda item: item[1]["pass_rate"])
        women = report["false_positive_rate_by_group"].get("women", {}).get("rate", float("nan"))
        print(
            f"| {weight:.2f} | {task_a:.4f} | {report['pass_rate']:.1%} | "
            f"{weakest[0]} {weakest[1]['pass_rate']:.1%} | {women:.1%} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
