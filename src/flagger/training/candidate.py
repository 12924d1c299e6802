"""The frozen evaluation set of a registry, and how a candidate model is measured on it.

The frozen set is fixed the first time a registry needs it: the base data's dev split plus a
held-back slice (by id hash) of the organisation's labelled cases at that moment. It is written
into the registry with its sha256, those cases are never trained on, and every version is
measured on exactly these messages, so two versions' figures compare.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from flagger.behaviour import load_suite, suite_report
from flagger.data import Example, load_examples, select_split
from flagger.labels import CATEGORIES, VECTORS
from flagger.metrics import task_a_f1
from flagger.model import Flagger
from flagger.registry import Evaluation, Registry
from flagger.store import LabelStore

FROZEN_DIR = "frozen"
FROZEN_FILE = "frozen_set.jsonl"
HELD_BACK_FILE = "held_back_ids.json"


def held_back(message_id: str, fraction: float) -> bool:
    """Whether an organisation case belongs to the frozen slice (stable: by a salted id hash).

    The salt keeps the slice independent of other splits by the id's plain hash: without it,
    the pool half of ``generalisation.org_half`` (hash below 0.5) would lose 40% of its labels
    to a 20% slice, not 20%.
    """
    digest = hashlib.sha256(f"frozen:{message_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < fraction


def ensure_frozen_set(
    registry: Registry, base_data: str | Path, store: LabelStore, fraction: float = 0.2
) -> tuple[list[Example], set[str]]:
    """The registry's frozen set and the org case ids held back in it; made on first use.

    Random audit picks are never held back: they are the scarce unbiased sample that calibrates
    a candidate (``audit_calibration``), and they are kept out of training when they do.
    """
    directory = registry.root / FROZEN_DIR
    frozen, ids_file = directory / FROZEN_FILE, directory / HELD_BACK_FILE
    if not frozen.exists():
        dev = select_split(load_examples(base_data), "dev")
        audit = store.audit_ids()
        org = [
            e for e in store.training_examples() if held_back(e.id, fraction) and e.id not in audit
        ]
        directory.mkdir(parents=True, exist_ok=True)
        partial = frozen.with_suffix(".tmp")
        with partial.open("w", encoding="utf-8") as handle:
            for example in [*dev, *org]:
                handle.write(json.dumps({**edos_row(example), "split": "dev"}) + "\n")
        ids_file.write_text(json.dumps(sorted(e.id for e in org)))
        partial.replace(frozen)
    examples = load_examples(frozen)
    return examples, set(json.loads(ids_file.read_text()))


EDOS_COLUMNS = ["rewire_id", "text", "label_sexist", "label_category", "label_vector"]


def edos_row(example: Example) -> dict[str, str]:
    """An example as a row in the EDOS file layout (what ``load_examples`` reads back)."""
    return {
        "rewire_id": example.id,
        "text": example.text,
        "label_sexist": "sexist" if example.sexist else "not sexist",
        "label_category": CATEGORIES[example.category] if example.category is not None else "none",
        "label_vector": VECTORS[example.vector] if example.vector is not None else "none",
    }


def frozen_sha256(registry: Registry) -> str:
    """The sha256 of the registry's frozen set file."""
    return hashlib.sha256((registry.root / FROZEN_DIR / FROZEN_FILE).read_bytes()).hexdigest()


def evaluate_candidate(
    model_dir: str | Path,
    frozen: list[Example],
    frozen_sha: str,
    suite: str | Path | None,
    num_threads: int | None = None,
) -> Evaluation:
    """Task A macro-F1 on the frozen set and behavioural failures, at the model's default point."""
    flagger = Flagger.load(model_dir, backend="torch", num_threads=num_threads)
    labelled = [e for e in frozen if e.sexist is not None]
    scores = flagger.sexist_scores([e.text for e in labelled])
    gold = np.array([e.sexist for e in labelled], dtype=int)
    task_a = task_a_f1(gold, (scores >= flagger.info.threshold).astype(int))
    failures, cases = 0, 0
    if suite is not None:
        suite_cases = load_suite(suite)
        report = suite_report(
            suite_cases,
            flagger.sexist_scores([c.text for c in suite_cases]),
            flagger.info.threshold,
        )
        failures, cases = len(report["failures"]), int(report["cases"])
    return Evaluation(
        task_a=round(task_a, 4),
        suite_failures=failures,
        suite_cases=cases,
        frozen_set_sha256=frozen_sha,
        details={"frozen_messages": len(labelled), "threshold": flagger.info.threshold},
    )
