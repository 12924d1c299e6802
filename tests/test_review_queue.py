"""The review queue: uncertain first, spread over authors and categories, labelled left out."""

import json
from pathlib import Path

from typer.testing import CliRunner

from flagger.cli import app
from flagger.review_queue import pick_for_review
from flagger.store import Feedback, LabelStore


def row(i: int, score: float, author: str, category: str | None = None) -> dict[str, object]:
    return {
        "id": f"m{i}",
        "text": f"message {i}",
        "score": score,
        "author": author,
        "category": category,
        "threshold": {"name": "default", "value": 0.5},
    }


def test_uncertain_first_and_diverse() -> None:
    rows = [row(i, 0.5 + i / 1000, "prolific") for i in range(20)]  # closest to the threshold
    rows += [row(100, 0.7, "ann"), row(101, 0.2, "bob"), row(102, 0.9, "cat", "2. derogation")]
    rows.append({"id": "no-text", "score": 0.5, "threshold": {"value": 0.5}})
    chosen = pick_for_review(rows, labelled={"m0"}, n=6)
    ids = [r["id"] for r in chosen]
    assert "m0" not in ids and "no-text" not in ids and len(ids) == 6
    assert {"m100", "m101", "m102"} <= set(ids)  # other authors get a place
    margins = [abs(float(r["score"]) - 0.5) for r in chosen]
    assert margins == sorted(margins)


def test_queue_command_writes_label_studio_tasks(tmp_path: Path) -> None:
    scan = tmp_path / "scan.jsonl"
    scan.write_text("\n".join(json.dumps(row(i, 0.4 + i / 100, f"a{i % 3}")) for i in range(10)))
    db = f"sqlite:///{tmp_path / 'l.db'}"
    LabelStore(db).add(Feedback(message_id="m0", text="message 0", label="sexist", reviewer="r"))
    out = tmp_path / "queue.json"
    result = CliRunner().invoke(app, ["queue", str(scan), "-o", str(out), "--n", "4", "--db", db])
    assert result.exit_code == 0, result.output
    tasks = json.loads(out.read_text())
    assert len(tasks) == 4 and all(set(t) == {"data"} for t in tasks)
    assert "m0" not in {t["data"]["id"] for t in tasks}
    assert all(t["data"]["text"].startswith("message") for t in tasks)
