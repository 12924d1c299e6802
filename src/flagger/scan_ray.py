"""Scale a scan out on Ray Data: the same ``Predictor``, one model per actor in an actor pool.

``flagger scan --engine ray`` reads the archives in one Ray read task (so record order, and with
it resuming, stays exactly as in a local scan), scores blocks on a pool of actors that each load
the model once, and streams the rows back to this process in order, where they are committed
and checkpointed as usual. With no ``--ray-address`` it starts Ray on this machine; on a cluster
the inputs and the model directory must be at the same paths on every node.
"""

from __future__ import annotations

import json
import logging
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from flagger.backends import BackendName
from flagger.errors import ConfigError
from flagger.readers import Message, ReadError, Record
from flagger.scan import Engine, KeepText, Predictor, RecordSource, Row, batches

logger = logging.getLogger(__name__)

_MESSAGE_FIELDS = ("id", "text", "source", "author", "sent_at", "removed_chars")


def _to_table(records: list[Record]) -> Any:
    """A block of records: message fields, or ``error`` and ``source`` for a bad record."""
    import pyarrow as pa

    columns: dict[str, list[Any]] = {name: [] for name in (*_MESSAGE_FIELDS, "error")}
    for record in records:
        for name in _MESSAGE_FIELDS:
            columns[name].append(getattr(record, name, None))
        columns["error"].append(record.reason if isinstance(record, ReadError) else None)
    schema = pa.schema(
        [(name, pa.int64() if name == "removed_chars" else pa.string()) for name in columns]
    )
    return pa.Table.from_pydict(columns, schema=schema)


def _from_columns(batch: dict[str, np.ndarray]) -> list[Record]:
    records: list[Record] = []
    for i in range(len(batch["source"])):
        values = {name: batch[name][i] for name in (*_MESSAGE_FIELDS, "error")}
        if values["error"] is not None:
            records.append(ReadError(str(values["source"]), str(values["error"])))
            continue
        removed = values["removed_chars"]
        records.append(
            Message(
                id=str(values["id"]),
                text=str(values["text"]),
                source=str(values["source"]),
                author=values["author"],
                sent_at=values["sent_at"],
                removed_chars=None if removed is None or np.isnan(removed) else int(removed),
            )
        )
    return records


class _ScoringActor:
    """A Ray actor holding one model; turns blocks of records into JSON-encoded rows."""

    def __init__(self, predictor: Predictor) -> None:
        self.predictor = predictor
        _ = predictor.flagger  # load the model when the actor starts, not on its first batch

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        rows = self.predictor(_from_columns(batch))
        return {"row": np.array([json.dumps(r, ensure_ascii=False) for r in rows], dtype=object)}


def _datasource(source: RecordSource, block_rows: int) -> Any:
    from ray.data.block import BlockMetadata
    from ray.data.datasource import Datasource, ReadTask

    class ArchiveDatasource(Datasource):
        """All inputs as one ordered read task, yielding blocks of ``block_rows`` records."""

        def __init__(self) -> None:
            super().__init__()  # type: ignore[no-untyped-call]

        def estimate_inmemory_data_size(self) -> int | None:
            return None

        def get_read_tasks(
            self,
            parallelism: int,
            per_task_row_limit: int | None = None,
            data_context: Any = None,
        ) -> list[ReadTask]:
            def read() -> Iterable[Any]:
                for block in batches(iter(source), block_rows):
                    yield _to_table(block)

            metadata = BlockMetadata(
                num_rows=None, size_bytes=None, exec_stats=None, input_files=source.paths
            )
            return [ReadTask(read, metadata)]

    return ArchiveDatasource()


def ray_engine(
    *,
    model: str | Path | None,
    backend: BackendName = "auto",
    threshold: str | float | None = None,
    explain: bool = True,
    keep_text: KeepText = "flagged",
    actors: int = 2,
    threads_per_actor: int | None = None,
    address: str | None = None,
) -> Engine:
    """An engine that scores on a Ray actor pool; Ray starts locally when ``address`` is None.

    Raises:
        ConfigError: if Ray is not installed (``pip install 'flagger[ray]'``).
    """
    try:
        import ray
    except ImportError:
        raise ConfigError("--engine ray needs Ray: pip install 'flagger[ray]'") from None
    if actors < 1:
        raise ConfigError(f"actors must be at least 1, found {actors}")
    threads = threads_per_actor or 1
    predictor = Predictor(
        model=model,
        backend=backend,
        num_threads=threads,
        threshold=threshold,
        explain=explain,
        keep_text=keep_text,
    )

    def run(source: RecordSource, batch_size: int) -> Iterator[tuple[int, list[Row]]]:
        if not ray.is_initialized():
            ray.init(
                address=address,
                num_cpus=None if address else actors * threads + 1,  # +1 for the read task
                include_dashboard=False,
                logging_level=logging.WARNING,
                log_to_driver=False,
            )
        # One read task feeds the pool block by block; Ray warns it sees a single input up front.
        warnings.filterwarnings("ignore", message="The minimum number of concurrent actors")
        context = ray.data.DataContext.get_current()
        context.execution_options.preserve_order = True  # commits and resumes rely on order
        context.enable_progress_bars = False
        block_rows = max(1, min(batch_size, 1024))
        dataset = ray.data.read_datasource(
            _datasource(source, block_rows), override_num_blocks=1
        ).map_batches(
            _ScoringActor,
            fn_constructor_kwargs={"predictor": predictor},
            batch_size=block_rows,
            batch_format="numpy",
            concurrency=actors,
            num_cpus=threads,
        )
        for batch in dataset.iter_batches(batch_size=batch_size, batch_format="numpy"):
            rows = [json.loads(r) for r in batch["row"]]
            yield len(rows), rows

    return run
