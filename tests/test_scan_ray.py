"""The Ray engine: same predictor on a local Ray actor pool, same output as the local engine."""

import json
from pathlib import Path

import pytest

from flagger import Flagger
from flagger.scan import scan

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'flagger[ray]')")


def test_ray_engine_output_equals_local_engine(tmp_path: Path, tiny_model: Path) -> None:
    from flagger.scan_ray import ray_engine

    archive = tmp_path / "a.jsonl"
    lines = [json.dumps({"id": f"m{i}", "text": f"women are {i} times worse"}) for i in range(300)]
    lines.insert(7, "{broken")
    archive.write_text("\n".join(lines) + "\n")
    flagger = Flagger.load(tiny_model, num_threads=1)
    local = scan(flagger, archive, tmp_path / "local.jsonl", threshold=0.3, batch_size=64)
    engine = ray_engine(model=tiny_model, threshold=0.3, actors=2, threads_per_actor=1)
    try:
        distributed = scan(
            flagger, archive, tmp_path / "ray.jsonl", threshold=0.3, batch_size=64, engine=engine
        )
    finally:
        ray.shutdown()
    assert distributed.read == local.read == 300 and distributed.errors == local.errors == 1
    assert distributed.flagged == local.flagged > 0
    ray_rows = (tmp_path / "ray.jsonl").read_text().splitlines()
    local_rows = (tmp_path / "local.jsonl").read_text().splitlines()
    assert ray_rows == local_rows
    assert (tmp_path / "ray.jsonl.errors.jsonl").read_text() == (
        tmp_path / "local.jsonl.errors.jsonl"
    ).read_text().replace("local.jsonl", "ray.jsonl")
