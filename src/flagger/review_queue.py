"""The review queue: which scanned messages a reviewer's time is best spent on.

From a scan's output, take the messages nobody has labelled yet, most uncertain first (score
closest to the threshold the scan used), spread across authors and categories so one prolific
author or one kind of flag cannot fill the queue. A share of the queue (``audit_share``) is
instead drawn uniformly at random from every unlabelled message and marked ``picked: audit``:
queue picks sit near the threshold and say nothing about how common sexism is, so calibration and
operating points are fitted on the audit picks alone. Audit picks are spread through the queue so
that reviewers cannot tell them apart. Written as a Label Studio import file.
"""

from __future__ import annotations

import json
import math
import random
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from flagger.errors import ConfigError

Row = dict[str, Any]


def pick_for_review(
    rows: Iterable[Row],
    labelled: set[str],
    n: int,
    *,
    audit_share: float = 0.0,
    seed: int = 0,
) -> list[Row]:
    """Up to ``n`` unlabelled rows with text, each with ``picked`` set.

    ``round(n * audit_share)`` of them are drawn uniformly at random (``picked: audit``); the
    rest are the most uncertain, diverse across authors and categories (``picked: queue``: no
    author or category takes more than its share while others wait). Audit picks are placed at
    even intervals among the queue picks.

    Raises:
        ConfigError: if ``n`` is not positive or ``audit_share`` is not in [0, 1].
    """
    if n < 1:
        raise ConfigError(f"--n must be at least 1, found {n}")
    if not 0.0 <= audit_share <= 1.0:
        raise ConfigError(f"--audit-share must be in [0, 1], found {audit_share}")
    candidates = [
        row
        for row in rows
        if row.get("text") and str(row.get("id")) not in labelled and "score" in row
    ]
    audit = random.Random(seed).sample(candidates, min(round(n * audit_share), len(candidates)))
    audited = {id(row) for row in audit}
    queued = _uncertain_and_diverse([r for r in candidates if id(r) not in audited], n - len(audit))
    return _interleave(
        [{**row, "picked": "queue"} for row in queued],
        [{**row, "picked": "audit"} for row in audit],
    )


def _interleave(queued: list[Row], audit: list[Row]) -> list[Row]:
    """``queued`` in order with ``audit`` rows placed at even intervals among them."""
    merged, total = list(queued), len(queued) + len(audit)
    for k, row in enumerate(audit):  # positions rise with k, so earlier inserts stay in place
        merged.insert(min(int((k + 0.5) * total / len(audit)), len(merged)), row)
    return merged


def _uncertain_and_diverse(candidates: list[Row], n: int) -> list[Row]:
    """The ``n`` most uncertain rows, no author or category beyond its share at first."""
    if n <= 0:
        return []

    def margin(row: Row) -> float:
        threshold = (row.get("threshold") or {}).get("value", 0.5)
        return abs(float(row["score"]) - float(threshold))

    candidates.sort(key=margin)
    authors = {row.get("author") for row in candidates}
    categories = {row.get("category") for row in candidates} - {None}
    author_cap = max(1, math.ceil(n / max(1, len(authors))))
    category_cap = max(1, math.ceil(n / max(1, len(categories))))
    chosen: list[Row] = []
    by_author: Counter[Any] = Counter()
    by_category: Counter[Any] = Counter()
    for row in candidates:  # first pass: respect both shares
        if len(chosen) == n:
            break
        if (
            by_author[row.get("author")] < author_cap
            and by_category[row.get("category")] < category_cap
        ):
            chosen.append(row)
            by_author[row.get("author")] += 1
            by_category[row.get("category")] += 1
    taken = {id(row) for row in chosen}
    for row in candidates:  # then fill up with the most uncertain of the rest
        if len(chosen) == n:
            break
        if id(row) not in taken:
            chosen.append(row)
    return sorted(chosen, key=margin)


def write_label_studio_tasks(rows: list[Row], path: str | Path) -> Path:
    """A Label Studio import file: one task per message, with the model's view as data."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tasks = [
        {
            "data": {
                "id": str(row["id"]),
                "text": row["text"],
                "author": row.get("author"),
                "sent_at": row.get("sent_at"),
                "source": row.get("source"),
                "model_score": row.get("score"),
                "model_category": row.get("category"),
                "model_version": row.get("model_version"),
                "picked": row.get("picked"),
            }
        }
        for row in rows
    ]
    target.write_text(json.dumps(tasks, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return target
