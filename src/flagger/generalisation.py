"""Out-of-domain evaluation: one model measured on several labelled sets side by side.

EDOS dev says how well a model fits posts like its training data; the sets here say how well its
judgement travels: workplace statements, hand-written seed statements, a blind split written
apart from the training corpus, and the behavioural suite. Each set is scored at the model's own
operating points, so the figures are what a user of that model would see.

An organisation's labelled file is split once, by a fixed hash of the id, into a *pool* half
(where labels and recipe choices may come from) and a *test* half (where figures come from); the
organisation-adaptation bench uses the same split.
"""

from __future__ import annotations

import csv
import hashlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from flagger.behaviour import load_suite, suite_report
from flagger.data import Example, load_examples, select_split
from flagger.errors import InputFileError
from flagger.evaluate import report_from_probabilities
from flagger.model import Flagger
from flagger.thresholds import measure

POOL, TEST = "pool", "test"


def org_half(example_id: str) -> str:
    """``pool`` or ``test`` for an organisation's labelled row, by a fixed hash of its id.

    The hash is of the id alone (no salt, no seed), so every tool that splits the same file gets
    the same halves.
    """
    bucket = int(hashlib.sha256(example_id.encode("utf-8")).hexdigest()[:8], 16) / 0xFFFFFFFF
    return POOL if bucket < 0.5 else TEST


@dataclass(frozen=True)
class EvalSet:
    """A labelled file and which of its rows to measure.

    ``split`` is an EDOS ``split`` value (``dev``), an organisation half (``pool``/``test``),
    or ``None`` for every row.
    """

    name: str
    path: Path
    split: str | None = None

    def examples(self) -> list[Example]:
        """The rows of this set.

        Raises:
            InputFileError: unreadable file, or no rows in the chosen split.
        """
        rows = load_examples(self.path)
        if self.split in (POOL, TEST):
            chosen = [e for e in rows if org_half(e.id) == self.split]
            if not chosen:
                raise InputFileError(f"{self.path}: no rows fall in the {self.split} half")
            return chosen
        return select_split(rows, self.split)


def _kinds(path: Path) -> dict[str, str]:
    """The corpus's ``kind`` column by id (what sort of not-sexist message each row is)."""
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or "kind" not in reader.fieldnames:
            return {}
        return {row["id"]: row["kind"] for row in reader}


def set_metrics(
    flagger: Flagger, examples: Sequence[Example], kinds: dict[str, str] | None = None
) -> dict[str, Any]:
    """Task A figures and ECE at the default point, and each operating point's precision,
    recall, false-positive rate and flag rate.

    Tasks B and C are added when the set carries category or vector labels, and
    ``false_positives_by_kind`` when ``kinds`` (id -> kind of not-sexist message) is given.
    """
    labelled = [e for e in examples if e.sexist is not None]
    if not labelled:
        raise InputFileError("a generalisation set needs binary labels")
    probs = flagger.probabilities([e.text for e in labelled])
    gold = np.array([e.sexist for e in labelled], dtype=int)
    default = flagger.resolve_threshold(None).value
    report = report_from_probabilities(probs, labelled, default)
    report["accuracy"] = float(np.mean((probs.sexist >= default).astype(int) == gold))
    negatives = gold == 0
    points = {}
    for name, point in flagger.info.operating_points.items():
        measured = measure(probs.sexist, gold, point.value)
        false_alarms = probs.sexist[negatives] >= point.value
        points[name] = {
            "threshold": measured.value,
            "precision": measured.precision,
            "recall": measured.recall,
            "false_positive_rate": round(float(false_alarms.mean()), 4)
            if negatives.any()
            else None,
            "macro_f1": measured.macro_f1,
            "flag_rate": measured.flag_rate,
        }
    report["operating_points"] = points
    if kinds:
        flagged = probs.sexist >= default
        report["false_positives_by_kind"] = false_positives_by_kind(labelled, flagged, kinds)
    return report


def false_positives_by_kind(
    examples: Sequence[Example], flagged: np.ndarray, kinds: dict[str, str]
) -> dict[str, dict[str, float]]:
    """How often each kind of not-sexist message (positive, neutral, quoted...) is flagged."""
    hits: dict[str, list[bool]] = defaultdict(list)
    for example, hit in zip(examples, flagged, strict=True):
        kind = kinds.get(example.id)
        if example.sexist == 0 and kind:
            hits[kind].append(bool(hit))
    return {
        kind: {"cases": len(flags), "rate": round(float(np.mean(flags)), 4)}
        for kind, flags in sorted(hits.items())
    }


def generalisation_report(
    flagger: Flagger, sets: Sequence[EvalSet], suite: str | Path | None = None
) -> dict[str, Any]:
    """Measure ``flagger`` on every set (and the behavioural suite) at its own operating points.

    Returns:
        ``{"model", "default_threshold", "sets": {name: metrics}, "suite": {...}}``; a set's
        ``false_positives_by_kind`` is present when its file has a ``kind`` column.
    """
    default = flagger.resolve_threshold(None).value
    report: dict[str, Any] = {
        "model": f"{flagger.info.name}@{flagger.info.version}",
        "default_threshold": default,
        "sets": {},
    }
    for item in sets:
        kinds = _kinds(item.path) if item.path.suffix.lower() == ".csv" else {}
        metrics = set_metrics(flagger, item.examples(), kinds)
        report["sets"][item.name] = {"file": item.path.name, "split": item.split, **metrics}
    if suite is not None:
        cases = load_suite(suite)
        scores = flagger.sexist_scores([c.text for c in cases])
        suite_figures = suite_report(cases, scores, default)
        suite_figures.pop("failures")
        report["suite"] = suite_figures
    return report


_HEADLINE = (
    ("task_a_macro_f1", "macro-F1"),
    ("precision", "precision"),
    ("recall", "recall"),
    ("ece", "ECE"),
)


def _cell(value: float | None, form: str) -> str:
    return "n/a" if value is None or value != value else format(value, form)


def _group_rate(report: dict[str, Any], group: str) -> float | None:
    row = report.get("suite", {}).get("false_positive_rate_by_group", {}).get(group)
    return None if row is None else float(row["rate"])


def _kind_rate(report: dict[str, Any], set_name: str, kind: str) -> float | None:
    kinds = report["sets"].get(set_name, {}).get("false_positives_by_kind", {})
    return None if kind not in kinds else float(kinds[kind]["rate"])


def markdown_table(reports: Sequence[dict[str, Any]]) -> str:
    """One row per set and figure, one column per model (oldest first)."""
    names = [r["model"] for r in reports]
    lines = [
        "| set | rows | figure | " + " | ".join(names) + " |",
        "|---|---|---|" + "---|" * len(names),
    ]
    order = list(dict.fromkeys(name for r in reports for name in r["sets"]))
    figures = (*_HEADLINE, ("task_b_macro_f1", "Task B"), ("task_c_macro_f1", "Task C"))
    for set_name in order:
        first = next(r["sets"][set_name] for r in reports if set_name in r["sets"])
        for key, label in figures:
            if key not in first:
                continue
            cells = [_cell(r["sets"].get(set_name, {}).get(key), ".3f") for r in reports]
            lines.append(f"| {set_name} | {first['messages']} | {label} | {' | '.join(cells)} |")
    if all("suite" in r for r in reports):
        cells = [f"{r['suite']['pass_rate']:.1%}" for r in reports]
        cases = reports[0]["suite"]["cases"]
        lines.append(f"| behavioural suite | {cases} | pass rate | {' | '.join(cells)} |")
        for group, row in reports[-1]["suite"]["false_positive_rate_by_group"].items():
            cells = [_cell(_group_rate(r, group), ".1%") for r in reports]
            lines.append(
                f"| suite: neutral/positive mentions of {group} | {row['cases']} | "
                f"false-positive rate | {' | '.join(cells)} |"
            )
    for set_name in order:
        kinds = reports[-1]["sets"].get(set_name, {}).get("false_positives_by_kind", {})
        for kind, row in kinds.items():
            cells = [_cell(_kind_rate(r, set_name, kind), ".1%") for r in reports]
            lines.append(
                f"| {set_name}: {kind} | {row['cases']} | false-positive rate | "
                f"{' | '.join(cells)} |"
            )
    return "\n".join(lines)


def precision_at_prevalence(recall: float, false_positive_rate: float, prevalence: float) -> float:
    """Precision a point would have where ``prevalence`` of messages are sexist (Bayes' rule)."""
    hits = recall * prevalence
    false_alarms = false_positive_rate * (1 - prevalence)
    return hits / (hits + false_alarms) if hits + false_alarms else float("nan")


def operating_points_table(
    report: dict[str, Any], set_names: Sequence[str], prevalence: float = 0.01
) -> str:
    """Each operating point's precision, recall and flag rate on the named sets, and the
    precision it would have in an archive where ``prevalence`` of messages are sexist."""
    lines = [
        "| operating point | set | threshold | precision | recall | false-positive rate | "
        f"macro-F1 | ECE | precision if {prevalence:.0%} are sexist |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for set_name in set_names:
        metrics = report["sets"].get(set_name)
        if metrics is None:
            continue
        for point, row in metrics["operating_points"].items():
            recall, fpr = row["recall"], row.get("false_positive_rate")
            at_prevalence = (
                None
                if recall is None or fpr is None
                else precision_at_prevalence(recall, fpr, prevalence)
            )
            cells = [
                f"`{point}`",
                set_name,
                f"{row['threshold']:.4f}",
                _cell(row["precision"], ".3f"),
                _cell(recall, ".3f"),
                _cell(fpr, ".3f"),
                f"{row['macro_f1']:.3f}",
                f"{metrics['ece']:.3f}",
                _cell(at_prevalence, ".3f"),
            ]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
