"""The review queue: which scanned messages a reviewer's time is best spent on.

From a scan's output, take the messages nobody has labelled yet, most uncertain first (score
closest to the threshold the scan used), spread across authors and categories so one prolific
author or one kind of flag cannot fill the queue. Written as a Label Studio import file.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from flagger.errors import ConfigError

Row = dict[str, Any]


def pick_for_review(rows: Iterable[Row], labelled: set[str], n: int) -> list[Row]:
    """Up to ``n`` unlabelled rows with text: most uncertain first, diverse across authors and
    categories (no author or category takes more than its share while others wait).

    Raises:
        ConfigError: if ``n`` is not positive.
    """
    if n < 1:
        raise ConfigError(f"--n must be at least 1, found {n}")
    candidates = [
        row
        for row in rows
        if row.get("text") and str(row.get("id")) not in labelled and "score" in row
    ]

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
            }
        }
        for row in rows
    ]
    target.write_text(json.dumps(tasks, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return target
