"""Resuming: a scan killed mid-way and resumed writes every message exactly once."""

import json
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from flagger import Flagger
from flagger.checkpoint import checkpoint_path, load_checkpoint
from flagger.errors import InputFileError
from flagger.scan import Engine, Predictor, RecordSource, Row, local_engine, scan

CLI = [sys.executable, "-c", "from flagger.cli import main; main()"]


def write_archive(path: Path, count: int) -> Path:
    with path.open("w", encoding="utf-8") as handle:
        for i in range(count):
            if i % 997 == 5:
                handle.write("{not json\n")  # unreadable records are part of the stream too
            handle.write(json.dumps({"id": f"m{i}", "text": f"message number {i} to the team"}))
            handle.write("\n")
    return path


def ids_in(output: Path) -> Counter[str]:
    return Counter(json.loads(line)["id"] for line in output.read_text().splitlines())


def test_sigkill_mid_scan_then_resume_writes_every_id_once(
    tmp_path: Path, tiny_model: Path
) -> None:
    archive = write_archive(tmp_path / "archive.jsonl", 20_000)
    output = tmp_path / "out" / "verdicts.jsonl"
    command = [*CLI, "scan", str(archive), "-o", str(output), "--model", str(tiny_model)]
    command += ["--no-explain", "--batch-size", "250", "--threads", "1"]
    process = subprocess.Popen(command, stderr=subprocess.DEVNULL)
    state = checkpoint_path(output)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if state.exists() and load_checkpoint(state).consumed >= 5_000:
            break
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    assert process.wait() == -signal.SIGKILL, "the scan finished before it could be killed"
    interrupted = load_checkpoint(state)
    assert not interrupted.complete and 0 < interrupted.consumed < 20_020
    with output.open("a", encoding="utf-8") as handle:
        handle.write('{"id": "torn-wri')  # a half-written last line, as a crash can leave

    refused = subprocess.run(command, capture_output=True, text=True)
    assert refused.returncode == 2 and "--resume" in refused.stderr

    resumed = subprocess.run([*command, "--resume"], capture_output=True, text=True)
    assert resumed.returncode == 1, resumed.stderr  # 1: some records were unreadable
    counts = ids_in(output)
    assert set(counts) == {f"m{i}" for i in range(20_000)}
    assert set(counts.values()) == {1}
    summary = json.loads(resumed.stderr.strip().splitlines()[-1])
    assert summary["event"] == "summary"
    assert summary["read"] == 20_000 and summary["errors"] == 21
    errors = output.with_name(output.name + ".errors.jsonl").read_text().splitlines()
    assert len(errors) == 21 and all("invalid JSON" in json.loads(e)["reason"] for e in errors)


class CrashAfter:
    """An engine that dies after ``batches`` committed batches, like a crash mid-scan."""

    def __init__(self, engine: Engine, batches: int) -> None:
        self.engine, self.batches = engine, batches

    def __call__(self, source: RecordSource, batch_size: int):  # type: ignore[no-untyped-def]
        for done, item in enumerate(self.engine(source, batch_size)):
            if done == self.batches:
                raise KeyboardInterrupt
            yield item


@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".parquet"])
def test_interrupted_scan_resumes_in_every_format(
    tmp_path: Path, tiny_model: Path, suffix: str
) -> None:
    from flagger.writers import read_results

    flagger = Flagger.load(tiny_model, num_threads=1)
    archive = write_archive(tmp_path / "a.jsonl", 1_000)
    output = tmp_path / f"v{suffix}"
    crashing = CrashAfter(local_engine(Predictor(flagger, explain=False)), 3)
    with pytest.raises(KeyboardInterrupt):
        scan(flagger, archive, output, explain=False, batch_size=100, engine=crashing)
    with pytest.raises(InputFileError, match="already exists"):
        scan(flagger, archive, output, explain=False, batch_size=100)
    summary = scan(flagger, archive, output, explain=False, batch_size=100, resume=True)
    ids = Counter(row["id"] for row in read_results(output))
    assert summary.read == 1_000 and summary.errors == 1
    assert len(ids) == 1_000 and set(ids.values()) == {1}
    fresh = tmp_path / f"fresh{suffix}"
    scan(flagger, archive, fresh, explain=False, batch_size=100)
    assert list(read_results(fresh)) == list(read_results(output))


def _crashed_after_one_batch(tmp_path: Path, tiny_model: Path) -> tuple[Flagger, Path, Path]:
    """A 300-message scan killed after its first committed batch of 100."""
    flagger = Flagger.load(tiny_model, num_threads=1)
    archive = write_archive(tmp_path / "a.jsonl", 300)
    output = tmp_path / "v.jsonl"
    crashing = CrashAfter(local_engine(Predictor(flagger, explain=False)), 1)
    with pytest.raises(KeyboardInterrupt):
        scan(flagger, archive, output, explain=False, batch_size=100, engine=crashing)
    return flagger, archive, output


def test_resume_refuses_other_settings_and_changed_inputs(tmp_path: Path, tiny_model: Path) -> None:
    flagger, archive, output = _crashed_after_one_batch(tmp_path, tiny_model)
    with pytest.raises(InputFileError, match="threshold"):
        scan(flagger, archive, output, explain=False, threshold=0.9, resume=True)
    with archive.open("a") as handle:
        handle.write('{"text": "one more"}\n')
    with pytest.raises(InputFileError, match="changed since the scan started"):
        scan(flagger, archive, output, explain=False, resume=True)


def test_resuming_a_finished_scan_changes_nothing(tmp_path: Path, tiny_model: Path) -> None:
    flagger = Flagger.load(tiny_model, num_threads=1)
    archive = write_archive(tmp_path / "a.jsonl", 50)
    output = tmp_path / "v.jsonl"
    first = scan(flagger, archive, output, explain=False)
    before = output.read_bytes()
    again = scan(flagger, archive, output, explain=False, resume=True)
    assert output.read_bytes() == before and again.read == first.read == 50


def test_rows_are_one_per_record(tmp_path: Path, tiny_model: Path) -> None:
    flagger = Flagger.load(tiny_model, num_threads=1)
    rows: list[Row] = Predictor(flagger, explain=False)(
        list(RecordSource((str(write_archive(tmp_path / "a.jsonl", 10)),)))
    )
    assert [r.get("id") for r in rows if "error" not in r] == [f"m{i}" for i in range(10)]
    assert sum("error" in r for r in rows) == 1


def test_resume_refuses_a_checkpoint_written_by_the_old_result_schema(
    tmp_path: Path, tiny_model: Path
) -> None:
    flagger, archive, output = _crashed_after_one_batch(tmp_path, tiny_model)
    state = checkpoint_path(output)
    assert load_checkpoint(state).schema_version == 2
    old = json.loads(state.read_text())
    del old["schema_version"]  # checkpoints written before the result contract was versioned
    state.write_text(json.dumps(old))
    with pytest.raises(InputFileError, match=r"result schema 1 .* writes schema 2.*--overwrite"):
        scan(flagger, archive, output, explain=False, resume=True)
