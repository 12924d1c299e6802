"""The ``flagger`` command line: thin Typer commands over the importable functions.

Every ``FlaggerError`` is printed as one line on stderr with exit status 2; no stack traces.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from flagger.errors import ConfigError, FlaggerError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Flag sexist language in messages, and say what kind it is.",
)

ModelOption = Annotated[
    Path | None, typer.Option("--model", "-m", help="Model directory (default: the shipped model).")
]
ThresholdOption = Annotated[
    str | None,
    typer.Option(
        "--threshold",
        "-t",
        help="Operating point name (default, review, alert) or a number: flag when score >= it.",
    ),
]
ExplainOption = Annotated[
    bool, typer.Option(help="Find the spans that drive each flagged message's score.")
]
BackendOption = Annotated[
    str,
    typer.Option(
        help="auto (ONNX Runtime int8 when the model has a measured export), onnx or torch."
    ),
]
ThreadsOption = Annotated[
    int | None, typer.Option("--threads", min=1, help="CPU threads for the model (default: all).")
]
TextFieldOption = Annotated[str, typer.Option(help="Column or key holding the message text.")]


@app.callback()
def _main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress.")] = False,
) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def _load(model: Path | None, threads: int | None, backend: str = "auto") -> Any:
    from flagger.model import Flagger  # the network is loaded only by commands that need it

    return Flagger.load(model, num_threads=threads, backend=backend)  # type: ignore[arg-type]


@app.command()
def score(
    texts: Annotated[list[str], typer.Argument(help="One or more messages to score.")],
    model: ModelOption = None,
    threshold: ThresholdOption = None,
    explain: ExplainOption = True,
    threads: ThreadsOption = None,
    backend: BackendOption = "auto",
) -> None:
    """Score messages and print one JSON object per message."""
    flagger = _load(model, threads, backend)
    for result in flagger.score(texts, threshold=threshold, explain=explain):
        typer.echo(
            json.dumps(
                {**result.model_dump(), "model_version": flagger.version}, ensure_ascii=False
            )
        )


@app.command()
def scan(
    inputs: Annotated[
        list[Path],
        typer.Argument(
            help="Archives, scanned in order as one stream: CSV, TSV, JSONL, Parquet, text or "
            "mbox files; Maildir, .eml folders, Slack exports (zip or folder)."
        ),
    ],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Verdicts: .jsonl, .csv or .parquet.")
    ],
    text_field: TextFieldOption = "text",
    id_field: Annotated[str, typer.Option(help="Column or key holding the message id.")] = "id",
    author_field: Annotated[
        str | None, typer.Option(help="Column or key holding the sender (reported per verdict).")
    ] = None,
    time_field: Annotated[
        str | None, typer.Option(help="Column or key holding the time sent (reported per verdict).")
    ] = None,
    format: Annotated[
        str | None,
        typer.Option(
            help="csv, tsv, jsonl, parquet, txt, mbox, eml, maildir or slack (default: guessed)."
        ),
    ] = None,
    model: ModelOption = None,
    threshold: ThresholdOption = None,
    report: Annotated[
        list[Path] | None,
        typer.Option(help="Write a report: .html (for reviewers) or .json (summary). Repeatable."),
    ] = None,
    explain: ExplainOption = True,
    keep_text: Annotated[
        str, typer.Option(help="Write message text for: flagged (default), all or none.")
    ] = "flagged",
    batch_size: Annotated[
        int, typer.Option(min=1, help="Messages read, scored and committed at a time.")
    ] = 2048,
    overwrite: Annotated[
        bool, typer.Option(help="Replace an existing output (and its checkpoint).")
    ] = False,
    resume: Annotated[
        bool, typer.Option(help="Carry on an interrupted scan where its checkpoint left off.")
    ] = False,
    only_flagged: Annotated[
        bool, typer.Option(help="Write only flagged messages (the summary counts all).")
    ] = False,
    boilerplate: Annotated[
        Path | None,
        typer.Option(
            help="Extra boilerplate rules for e-mail bodies, one 'SCOPE: REGEX' per line (SCOPE: "
            "line, paragraph or rest), added to the defaults (protective markings, disclaimers, "
            "mailing-list footers)."
        ),
    ] = None,
    engine: Annotated[
        str, typer.Option(help="local, or ray: score on a Ray actor pool (one model per actor).")
    ] = "local",
    ray_address: Annotated[
        str | None, typer.Option(help="Ray cluster to join (default: start Ray locally).")
    ] = None,
    actors: Annotated[int, typer.Option(min=1, help="Ray actors, each with a model.")] = 2,
    threads: ThreadsOption = None,
    backend: BackendOption = "auto",
) -> None:
    """Score every message of one or more archives; write verdicts, a summary and reports."""
    from flagger.progress import make_reporter
    from flagger.scan import scan as run_scan

    flagger = _load(model, threads, backend)
    run_engine = None
    if engine == "ray":
        from flagger.scan_ray import ray_engine

        run_engine = ray_engine(
            model=flagger.path,
            backend=backend,  # type: ignore[arg-type]
            threshold=threshold,
            explain=explain,
            keep_text=keep_text,  # type: ignore[arg-type]
            actors=actors,
            threads_per_actor=threads,
            address=ray_address,
        )
    elif engine != "local":
        raise ConfigError(f"--engine must be local or ray, found {engine!r}")
    summary = run_scan(
        flagger,
        inputs,
        output,
        text_field=text_field,
        id_field=id_field,
        author_field=author_field,
        time_field=time_field,
        fmt=format,
        threshold=threshold,
        explain=explain,
        keep_text=keep_text,  # type: ignore[arg-type]
        batch_size=batch_size,
        overwrite=overwrite,
        resume=resume,
        only_flagged=only_flagged,
        boilerplate=boilerplate,
        engine=run_engine,
        progress=make_reporter,
    )
    for path in report or []:
        _write_report(path, summary.to_dict(), output)
    line = {
        "event": "summary",
        "read": summary.read,
        "flagged": summary.flagged,
        "errors": summary.errors,
        "skipped": summary.skipped,
        "seconds": summary.seconds,
        "msgs_per_s": round(summary.messages_per_second, 1),
        "output": str(output),
        "reports": [str(p) for p in report or []],
        "errors_file": summary.errors_file,
    }
    if sys.stderr.isatty():
        typer.echo(
            f"read {summary.read} messages, flagged {summary.flagged}, errors {summary.errors}, "
            f"skipped {summary.skipped}, "
            f"{summary.seconds:.1f}s ({summary.messages_per_second:.1f} msg/s) -> {output}"
            + "".join(f", {p}" for p in report or [])
            + (
                f"; unreadable and skipped records in {summary.errors_file}"
                if summary.errors_file
                else ""
            ),
            err=True,
        )
    else:
        typer.echo(json.dumps(line), err=True)
    if summary.errors:  # read errors only: records skipped for having no text are not failures
        raise typer.Exit(1)


def _write_report(path: Path, summary: dict[str, Any], output: Path) -> None:
    """An HTML report for reviewers, or the JSON summary, chosen by ``path``'s extension."""
    kind = path.suffix.lower()
    if kind in {".html", ".htm"}:
        from flagger.report import write_report
        from flagger.writers import read_results

        flagged = (row for row in read_results(output) if row.get("flagged"))
        write_report(path, summary, flagged)
    elif kind == ".json":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    else:
        raise ConfigError(f"{path}: a report must end in .html or .json")


@app.command()
def report(
    output: Annotated[
        Path, typer.Argument(help="A finished scan's output (.jsonl/.csv/.parquet).")
    ],
    to: Annotated[Path, typer.Option("--to", help="Report file: .html or .json.")],
) -> None:
    """Write the report of a finished (or interrupted) scan again, from its output."""
    from flagger.checkpoint import checkpoint_path, load_checkpoint

    summary = load_checkpoint(checkpoint_path(output)).summary
    _write_report(to, summary, output)
    typer.echo(f"report: {to}", err=True)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    model: ModelOption = None,
    workers: Annotated[int, typer.Option(min=1, help="Server processes, each with a model.")] = 1,
    keys_file: Annotated[
        Path | None, typer.Option(help="JSON lines of {name, role, sha256} API keys.")
    ] = None,
    registry: Annotated[
        Path | None, typer.Option(help="Serve this registry's promoted version.")
    ] = None,
    insecure_no_auth: Annotated[
        bool, typer.Option(help="Run with NO authentication (local experiments only).")
    ] = False,
    threads: ThreadsOption = None,
    backend: BackendOption = "auto",
) -> None:
    """Run the review API (FastAPI on uvicorn). Keys: FLAGGER_API_KEYS or --keys-file.
    Audit log and label store: audit.jsonl and labels.db in $FLAGGER_DATA_DIR, else in the user
    data directory (FLAGGER_AUDIT_LOG and FLAGGER_STORE_URL override them).
    """
    import os

    import uvicorn

    from flagger.api.app import create_app
    from flagger.api.settings import ServiceSettings

    overrides: dict[str, Any] = {"backend": backend, "insecure_no_auth": insecure_no_auth}
    named = (
        ("model", model),
        ("keys_file", keys_file),
        ("threads", threads),
        ("registry", registry),
    )
    for name, value in named:
        if value is not None:
            overrides[name] = value
    settings = ServiceSettings(**overrides)
    create_app(settings)  # refuse bad keys or a missing key list before binding the port
    for name, value in overrides.items():  # worker processes read the same settings
        os.environ[f"FLAGGER_{name.upper()}"] = str(value)
    logging.getLogger("flagger.api").setLevel(logging.INFO)
    uvicorn.run(
        "flagger.api.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,  # our own request log carries ids and timings, never bodies
        log_level="info",
        http="h11",  # the protocol the 413 draining and Expect: 100-continue are tested on
    )


@app.command()
def evaluate(
    data: Annotated[Path | None, typer.Option(help="Labelled CSV, JSONL or Parquet file.")] = None,
    split: Annotated[
        str | None, typer.Option(help="Only rows whose 'split' is this (e.g. dev).")
    ] = None,
    suite: Annotated[
        Path | None, typer.Option(help="Behavioural suite directory (e.g. training/behaviour).")
    ] = None,
    model: ModelOption = None,
    threshold: ThresholdOption = None,
    text_field: TextFieldOption = "text",
    explanations: Annotated[
        bool,
        typer.Option(
            "--explanations",
            help="Also measure the evidence of the flagged messages against random spans.",
        ),
    ] = False,
    rationales: Annotated[
        Path | None,
        typer.Option(
            help="Human rationales (training/rationales/rationales.jsonl): measure the evidence "
            "against the words people marked, on their test part. EDOS texts come from --data, "
            "corpus texts from the corpus folder beside the rationales' folder."
        ),
    ] = None,
    reliability_plot: Annotated[
        Path | None, typer.Option(help="Write a reliability diagram (PNG) here.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    threads: ThreadsOption = None,
    backend: BackendOption = "auto",
) -> None:
    """Report EDOS Task A/B/C macro-F1, precision, recall, PR-AUC and calibration error, and/or
    the pass rates of a behavioural suite."""
    if data is None and suite is None and rationales is None:
        raise ConfigError("give --data FILE, --suite DIR, --rationales FILE, or several")
    flagger = _load(model, threads, backend)
    report: dict[str, Any] = {"model": flagger.version}
    if data is not None:
        report.update(
            _evaluate_data(
                flagger, data, split, threshold, text_field, explanations, reliability_plot
            )
        )
    if rationales is not None:
        report["rationales"] = _evaluate_rationales(flagger, rationales, data, threshold)
    if suite is not None:
        from flagger.behaviour import load_suite, suite_report

        cases = load_suite(suite)
        ref = flagger.resolve_threshold(threshold)
        scores = flagger.sexist_scores([c.text for c in cases])
        report["suite"] = {"path": str(suite), "operating_point": ref.name}
        report["suite"].update(suite_report(cases, scores, ref.value))
    if as_json:
        typer.echo(json.dumps(report, indent=2))
        return
    if data is not None:
        _print_data_report(report, data, split)
    if suite is not None:
        _print_suite_report(report["suite"])
    if rationales is not None:
        _print_rationales(report["rationales"])


def _evaluate_data(
    flagger: Any,
    data: Path,
    split: str | None,
    threshold: str | None,
    text_field: str,
    explanations: bool,
    reliability_plot: Path | None,
) -> dict[str, Any]:
    from flagger.data import load_examples, select_split
    from flagger.evaluate import evaluate as run_evaluate

    examples = select_split(load_examples(data, text_field=text_field), split)
    metrics, probs = run_evaluate(flagger, examples, threshold)
    report: dict[str, Any] = {"data": str(data), "split": split, **metrics}
    if explanations:
        from flagger.faithfulness import faithfulness

        report["explanations"] = faithfulness(flagger, [e.text for e in examples], threshold)
    if reliability_plot:
        report["reliability_plot"] = str(_plot(reliability_plot, examples, probs, flagger))
    return report


def _evaluate_rationales(
    flagger: Any, path: Path, data: Path | None, threshold: str | None
) -> dict[str, Any]:
    from flagger.faithfulness import faithfulness, plausibility
    from flagger.rationales import load_rationales, message_texts, resolve

    texts = message_texts(data, path.resolve().parent.parent / "corpus")
    found = load_rationales(path)
    pairs = [(r, t) for r, t in resolve(found, texts) if r.part == "test" and not r.no_evidence]
    if not pairs:
        raise ConfigError(
            f"{path}: none of its test-part messages could be found; give the EDOS file as --data"
        )
    return {
        "path": str(path),
        "part": "test",
        "available": len(pairs),
        "plausibility": plausibility(flagger, pairs, threshold),
        "faithfulness": faithfulness(flagger, [t for _, t in pairs], threshold),
    }


def _print_rationales(report: dict[str, Any]) -> None:
    plaus = report["plausibility"]
    typer.echo(
        f"evidence against human rationales ({report['path']}, {report['part']} part: "
        f"{report['available']} messages, {plaus['evidence']['flagged']} flagged at "
        f"{plaus['operating_point']}):"
    )
    typer.echo(f"  {'':<34} {'word F1':>8} {'median words':>13}")
    for key, name in (
        ("evidence", "evidence (target-aware search)"),
        ("before", "search before targets"),
        ("random", "random non-target spans"),
    ):
        row = plaus[key]
        typer.echo(f"  {name:<34} {row['token_f1']:>8.3f} {row['median_evidence_words']:>13.1f}")
    _print_explanations(report["faithfulness"])


def _print_data_report(report: dict[str, Any], data: Path, split: str | None) -> None:
    typer.echo(
        f"model {report['model']} on {data} (split: {split or 'all'}), "
        f"{report['messages']} messages, operating point {report['operating_point']} "
        f"(threshold {report['threshold']:.4f})"
    )
    for key in (
        "task_a_macro_f1",
        "task_b_macro_f1",
        "task_c_macro_f1",
        "precision",
        "recall",
        "pr_auc",
        "ece_uncalibrated",
        "ece",
    ):
        if key in report:
            typer.echo(f"  {key:<18} {report[key]:.4f}")
    if "explanations" in report:
        _print_explanations(report["explanations"])
    if "reliability_plot" in report:
        typer.echo(f"reliability plot: {report['reliability_plot']}")


def _print_suite_report(suite: dict[str, Any]) -> None:
    typer.echo(
        f"behavioural suite {suite['path']}: {suite['cases']} cases, operating point "
        f"{suite['operating_point']} (threshold {suite['threshold']:.4f})"
    )
    typer.echo(f"  {'capability':<22} {'cases':>6} {'pass':>7}")
    for name, row in suite["capabilities"].items():
        typer.echo(f"  {name:<22} {row['cases']:>6} {row['pass_rate']:>7.1%}")
    typer.echo(f"  {'overall':<22} {suite['cases']:>6} {suite['pass_rate']:>7.1%}")
    typer.echo("  false-positive rate on neutral and positive mentions:")
    for group, row in suite["false_positive_rate_by_group"].items():
        typer.echo(f"    {group:<20} {row['cases']:>6} {row['rate']:>7.1%}")


def _plot(path: Path, examples: list[Any], probs: Any, flagger: Any) -> Path:
    import numpy as np
    from scipy.special import expit

    from flagger.plots import reliability_plot

    rows = [i for i, e in enumerate(examples) if e.sexist is not None]
    return reliability_plot(
        path,
        np.array([examples[i].sexist for i in rows]),
        probs.sexist[rows],
        expit(probs.sexist_logit[rows]),
        title=f"Reliability of {flagger.version}",
    )


def _print_explanations(report: dict[str, Any]) -> None:
    typer.echo(
        f"evidence of {report['flagged']} flagged messages ({report['explained']} with evidence):"
    )
    if "comprehensiveness" not in report:
        return
    typer.echo(f"  {'':<26} {'evidence':>8} {'random':>8}")
    for name in ("comprehensiveness", "sufficiency"):
        typer.echo(f"  {name:<26} {report[name]:>8.4f} {report['random_' + name]:>8.4f}")
    rows = (
        ("comprehensiveness ratio", "comprehensiveness_ratio", ".2f"),
        ("un-flagged by removal", "unflagged_by_removal", ".4f"),
        ("complete (search reached)", "complete", ".4f"),
        ("only target words", "target_only", ".4f"),
        ("spans per message", "spans_per_message", ".2f"),
        ("evidence words, mean", "mean_evidence_words", ".2f"),
        ("evidence words, median", "median_evidence_words", ".1f"),
    )
    for label, key, fmt in rows:
        typer.echo(f"  {label:<26} {report[key]:>8{fmt}}")


@app.command()
def calibrate(
    model_dir: Annotated[Path, typer.Argument(help="Model directory to re-calibrate in place.")],
    data: Annotated[Path, typer.Option(help="Labelled CSV, JSONL or Parquet file.")],
    split: Annotated[
        str | None, typer.Option(help="Rows whose 'split' is this (default dev).")
    ] = "dev",
    text_field: TextFieldOption = "text",
    suite: Annotated[
        Path | None,
        typer.Option(help="Also run this behavioural suite and record it in the model card."),
    ] = None,
    baseline: Annotated[
        Path | None,
        typer.Option(help="The model this one replaces: measured too, shown as 'before'."),
    ] = None,
    steps: Annotated[
        Path | None,
        typer.Option(help="JSON list of the measured steps that led to this model, for the card."),
    ] = None,
    threads: ThreadsOption = None,
) -> None:
    """Fit calibration and choose the operating points of a model on labelled data (dev)."""
    from flagger.training.calibrate import calibrate_model_dir

    info = calibrate_model_dir(
        model_dir,
        data,
        split=split,
        text_field=text_field,
        num_threads=threads,
        suite=suite,
        baseline=baseline,
        steps=steps,
    )
    calibration = info.calibration
    typer.echo(
        f"{model_dir}: {calibration.method} calibration "
        f"(temperature {calibration.temperature:.3f}), "
        f"ECE {calibration.report.get('ece_uncalibrated')} -> {info.metrics['dev'].get('ece')}"
    )
    for name, point in info.operating_points.items():
        typer.echo(
            f"  {name:<8} threshold {point.value:.4f}  precision {point.precision}  "
            f"recall {point.recall}  macro-F1 {point.macro_f1}"
        )


@app.command("export-onnx")
def export_onnx(
    model_dir: Annotated[Path, typer.Argument(help="Model directory to add the export to.")],
    data: Annotated[Path, typer.Option(help="Labelled CSV, JSONL or Parquet file to check on.")],
    split: Annotated[
        str | None, typer.Option(help="Rows whose 'split' is this (default dev).")
    ] = "dev",
    text_field: TextFieldOption = "text",
    threads: ThreadsOption = None,
    max_f1_loss: Annotated[
        float, typer.Option(help="Largest Task A macro-F1 drop allowed (experiments only).")
    ] = 0.005,
    check: Annotated[
        list[Path] | None,
        typer.Option(help="Out-of-domain labelled file the export must also hold on (repeatable)."),
    ] = None,
    remeasure: Annotated[
        bool,
        typer.Option(
            "--remeasure",
            help="Measure the existing export again as it is now run and record the figures, "
            "whatever they are (the file is kept; says whether the gate would keep it).",
        ),
    ] = False,
) -> None:
    """Export to ONNX int8 and keep it only if Task A macro-F1 drops by at most 0.005."""
    from flagger.training.export import export_onnx as run_export
    from flagger.training.export import gate_problem, remeasure_onnx

    if remeasure:
        record = remeasure_onnx(
            model_dir,
            data,
            split=split,
            text_field=text_field,
            num_threads=threads,
            checks=check or (),
        )
        problem = gate_problem(record, max_f1_loss)
        typer.echo(
            f"gate: {'a new export like this would be refused: ' + problem if problem else 'holds'}"
        )
    else:
        record = run_export(
            model_dir,
            data,
            split=split,
            text_field=text_field,
            num_threads=threads,
            max_f1_loss=max_f1_loss,
            checks=check or (),
        )
    if record.out_of_domain:
        pooled = record.out_of_domain["pooled"]
        typer.echo(
            f"out of domain ({pooled['rows']} messages): macro-F1 {pooled['macro_f1_onnx']:.4f} "
            f"(PyTorch {pooled['macro_f1_torch']:.4f})"
        )
    typer.echo(
        f"{model_dir}/{record.file}: macro-F1 {record.macro_f1_onnx:.4f} "
        f"(PyTorch {record.macro_f1_torch:.4f}), same verdict on {record.agreement:.2%}"
    )


@app.command()
def train(
    data: Annotated[Path, typer.Option(help="Labelled CSV, JSONL or Parquet file.")],
    out: Annotated[Path, typer.Option(help="Model directory to write.")],
    config: Annotated[Path | None, typer.Option(help="JSON training config (a recipe).")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed (overrides the config).")] = None,
    epochs: Annotated[float | None, typer.Option(help="Epochs (overrides the config).")] = None,
    max_steps: Annotated[int | None, typer.Option(help="Stop after this many steps.")] = None,
    base_model: Annotated[
        str | None, typer.Option(help="Local encoder directory to start from.")
    ] = None,
    extra_train: Annotated[
        list[Path] | None,
        typer.Option(help="Labelled file whose rows all join the training split (repeatable)."),
    ] = None,
    text_field: TextFieldOption = "text",
    name: Annotated[
        str, typer.Option(help="Model name recorded in the directory.")
    ] = "flagger-edos",
    version: Annotated[
        str, typer.Option(help="Model version recorded in the directory.")
    ] = "1.0.0",
) -> None:
    """Fine-tune a model on labelled data and write a self-contained model directory."""
    from flagger.training import TrainingConfig
    from flagger.training import train as run_train

    overrides: dict[str, Any] = {
        "seed": seed,
        "epochs": epochs,
        "max_steps": max_steps,
        "base_model": base_model,
    }
    recipe = (
        TrainingConfig.from_file(config, **overrides)
        if config
        else TrainingConfig(**{k: v for k, v in overrides.items() if v is not None})
    )
    result = run_train(
        data,
        out,
        recipe,
        text_field=text_field,
        name=name,
        version=version,
        extra_train=extra_train or (),
    )
    typer.echo(
        f"wrote {result.model_dir} ({result.steps} steps, {result.seconds:.0f}s); "
        f"dev: {_task_scores(result.dev_metrics)}"
    )


@app.command()
def adapt(
    data: Annotated[Path, typer.Option(help="File whose training texts the encoder adapts to.")],
    out: Annotated[Path, typer.Option(help="Encoder directory to write (a base for train).")],
    epochs: Annotated[float, typer.Option(help="Passes over the training texts.")] = 2.0,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 13,
    base_model: Annotated[str | None, typer.Option(help="Encoder to start from.")] = None,
    text_field: TextFieldOption = "text",
    threads: ThreadsOption = None,
) -> None:
    """Continue masked-language-model training of the encoder on the training texts (not dev)."""
    from flagger.training.adapt import AdaptConfig, adapt_encoder

    config = AdaptConfig(base_model=base_model, epochs=epochs, seed=seed, num_threads=threads)
    typer.echo(f"wrote {adapt_encoder(data, out, config, text_field=text_field)}")


@app.command()
def soup(
    models: Annotated[list[Path], typer.Argument(help="Model directories from the same base.")],
    data: Annotated[Path, typer.Option(help="Labelled file whose dev split picks ingredients.")],
    out: Annotated[Path, typer.Option(help="Model directory to write.")],
    text_field: TextFieldOption = "text",
    version: Annotated[str | None, typer.Option(help="Version of the averaged model.")] = None,
    weights: Annotated[
        str | None,
        typer.Option(help="Comma-separated weights, one per model: average them all with these."),
    ] = None,
    threads: ThreadsOption = None,
) -> None:
    """Average fine-tuned models greedily (a model soup), keeping what improves dev; or with
    fixed --weights (e.g. to interpolate a fine-tuned model back towards its predecessor)."""
    from flagger.training.soup import make_soup

    try:
        shares = [float(w) for w in weights.split(",")] if weights else None
    except ValueError:
        raise ConfigError(
            f"--weights must be numbers separated by commas, found {weights!r}"
        ) from None
    result = make_soup(
        models,
        data,
        out,
        text_field=text_field,
        version=version,
        num_threads=threads,
        weights=shares,
    )
    typer.echo(f"wrote {result.model_dir}; dev: {_task_scores(result.dev_metrics)}")


labels_app = typer.Typer(no_args_is_help=True, help="Reviewers' labels: import, export, stats.")
models_app = typer.Typer(no_args_is_help=True, help="The model registry: list, show, promote.")
app.add_typer(labels_app, name="labels")
app.add_typer(models_app, name="models")

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        envvar="FLAGGER_STORE_URL",
        help="Label store URL (default: SQLite at $FLAGGER_DATA_DIR/labels.db, "
        "else in the user data directory).",
    ),
]
RegistryOption = Annotated[
    Path,
    typer.Option("--registry", envvar="FLAGGER_REGISTRY", help="Model registry directory."),
]
DEFAULT_REGISTRY = Path("registry")


def _store(url: str | None) -> Any:
    from flagger.data_dir import default_store_url
    from flagger.store import LabelStore

    return LabelStore(url or default_store_url())


@labels_app.command("import")
def labels_import(
    file: Annotated[Path, typer.Argument(help="CSV/JSONL rows or a Label Studio JSON export.")],
    db: DbOption = None,
    reviewer: Annotated[str, typer.Option(help="Reviewer name for rows without one.")] = "import",
) -> None:
    """Store labelled cases (id, text, label, category?, vector?, reviewer?, note?)."""
    from flagger.label_files import import_labels

    report = import_labels(file, _store(db), reviewer=reviewer)
    for problem in report.skipped[:20]:
        typer.echo(f"skipped {problem}", err=True)
    typer.echo(f"stored {report.stored} labels, skipped {len(report.skipped)}", err=True)
    if report.skipped:
        raise typer.Exit(1)


@labels_app.command("export")
def labels_export(
    out: Annotated[Path, typer.Option("--out", "-o", help="JSONL file to write.")],
    db: DbOption = None,
) -> None:
    """Write every label, history included, as JSON lines."""
    from flagger.label_files import export_labels

    typer.echo(f"wrote {export_labels(_store(db), out)} labels to {out}", err=True)


@labels_app.command("stats")
def labels_stats(db: DbOption = None) -> None:
    """Counts by label, category and reviewer; usable cases; disagreements (listed)."""
    store = _store(db)
    typer.echo(json.dumps({**store.stats(), "disagreement_cases": store.disagreements()}, indent=2))


@app.command()
def queue(
    scan_output: Annotated[
        Path, typer.Argument(help="A scan's output (run it with --keep-text all).")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Label Studio tasks JSON to write.")],
    n: Annotated[int, typer.Option("--n", min=1, help="How many messages.")] = 50,
    audit_share: Annotated[
        float,
        typer.Option(
            min=0.0,
            max=1.0,
            help="Share of the queue drawn uniformly at random (marked 'audit'): calibration "
            "and operating points are fitted on these picks alone.",
        ),
    ] = 0.2,
    seed: Annotated[int, typer.Option(help="Seed of the random audit picks.")] = 0,
    db: DbOption = None,
) -> None:
    """Pick the unlabelled scanned messages most worth a reviewer's time (Label Studio tasks)."""
    from flagger.review_queue import pick_for_review, write_label_studio_tasks
    from flagger.writers import read_results

    labelled = set(_store(db).latest_labels())
    chosen = pick_for_review(
        read_results(scan_output), labelled, n, audit_share=audit_share, seed=seed
    )
    write_label_studio_tasks(chosen, out)
    audited = sum(row["picked"] == "audit" for row in chosen)
    typer.echo(f"{len(chosen)} messages queued in {out} ({audited} random audit picks)", err=True)


@app.command()
def retrain(
    data: Annotated[Path, typer.Option(help="Base labelled data (EDOS CSV with train/dev).")],
    registry: RegistryOption = DEFAULT_REGISTRY,
    db: DbOption = None,
    config: Annotated[Path | None, typer.Option(help="Recipe JSON (TrainingConfig).")] = None,
    org_weight: Annotated[
        int | None,
        typer.Option(min=1, help="Times each org label is repeated (default 2; 6 with --fast)."),
    ] = None,
    quick: Annotated[bool, typer.Option(help="Few steps, for trying things (minutes).")] = False,
    fast: Annotated[
        bool,
        typer.Option(
            help="Adapt the serving model (the promoted one, or --from) in minutes instead of "
            "retraining from the base encoder."
        ),
    ] = False,
    start_from: Annotated[
        Path | None, typer.Option("--from", help="Model directory --fast continues from.")
    ] = None,
    replay: Annotated[
        list[Path] | None,
        typer.Option(
            help="Labelled files or folders replayed (sampled) with --fast, e.g. the "
            "authored corpus training/corpus."
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Data order and dropout.")] = 13,
    suite: Annotated[Path | None, typer.Option(help="Behavioural suite directory.")] = None,
    version: Annotated[str | None, typer.Option(help="Version of the new model.")] = None,
    threads: ThreadsOption = None,
) -> None:
    """Train a candidate on base data + stored labels; calibrate it on the random audit picks
    when there are enough; measure it; add it to the registry."""
    from flagger.training.config import TrainingConfig
    from flagger.training.retrain import RETRAIN_EPOCHS
    from flagger.training.retrain import retrain as run_retrain

    recipe = None
    if config:
        recipe = TrainingConfig.from_file(config, num_threads=threads)
    elif not fast:
        recipe = TrainingConfig(epochs=RETRAIN_EPOCHS, num_threads=threads, seed=seed)
    result = run_retrain(
        registry,
        data,
        _store(db),
        config=recipe,
        quick=quick,
        fast=fast,
        init_model=start_from,
        replay=replay or (),
        seed=seed,
        num_threads=threads,
        suite=suite,
        org_weight=org_weight,
        version=version,
        progress=sys.stderr.isatty(),
    )
    evaluation = result.version.evaluation
    calibrated = result.calibrated_on
    typer.echo(
        f"{result.version.id}: frozen-set Task A {evaluation.task_a:.4f}, suite failures "
        f"{evaluation.suite_failures}/{evaluation.suite_cases}; {result.org_examples} org labels, "
        f"{result.trained_on} trained on ({result.held_back} held back, "
        f"{result.disagreements} disagreements left out); calibrated on "
        f"{calibrated['source']} ({calibrated['audit_labels']} audit labels); "
        f"{'int8 ONNX export' if result.onnx is None else 'no ONNX export: ' + result.onnx}; "
        f"{result.seconds:.0f}s. Promote with: flagger models promote {result.version.id}"
    )


def _registry(path: Path) -> Any:
    from flagger.registry import Registry

    return Registry(path)


@models_app.command("list")
def models_list(registry: RegistryOption = DEFAULT_REGISTRY) -> None:
    """Every version with its frozen-set evaluation; * marks the promoted one."""
    for row in _registry(registry).describe():
        mark = "*" if row["promoted"] else " "
        typer.echo(
            f"{mark} {row['id']:<28} Task A {row['task_a']:.4f}  suite failures "
            f"{row['suite_failures']:<4} added {row['added_at']}"
        )


@models_app.command("show")
def models_show(
    version: Annotated[str, typer.Argument(help="name@version")],
    registry: RegistryOption = DEFAULT_REGISTRY,
) -> None:
    """A version's evaluation and its model description."""
    from flagger.model_dir import read_info

    found = _registry(registry)
    path = found.path(version)
    info = read_info(path).model_dump(
        include={"name", "version", "operating_points", "metrics", "data"}
    )
    typer.echo(
        json.dumps({**found.get(version).model_dump(), "path": str(path), "info": info}, indent=2)
    )


@models_app.command("promote")
def models_promote(
    version: Annotated[str, typer.Argument(help="name@version")],
    registry: RegistryOption = DEFAULT_REGISTRY,
    force: Annotated[
        bool, typer.Option(help="Promote even if the gate refuses (recorded).")
    ] = False,
    reason: Annotated[str | None, typer.Option(help="Why (recorded; needed with --force).")] = None,
    by: Annotated[str, typer.Option(help="Who is promoting (recorded).")] = "cli",
) -> None:
    """Serve this version, if it is no worse than the promoted one on the frozen set."""
    if force and not reason:
        raise ConfigError("--force needs --reason, which is recorded in the registry history")
    event = _registry(registry).promote(version, by=by, force=force, reason=reason)
    typer.echo(
        f"promoted {event.version} (was {event.previous})" + (" FORCED" if event.forced else "")
    )


@models_app.command("rollback")
def models_rollback(
    registry: RegistryOption = DEFAULT_REGISTRY,
    by: Annotated[str, typer.Option(help="Who is rolling back (recorded).")] = "cli",
    reason: Annotated[str | None, typer.Option(help="Why (recorded).")] = None,
) -> None:
    """Serve again the version promoted before the current one."""
    event = _registry(registry).rollback(by=by, reason=reason)
    typer.echo(f"rolled back to {event.version} (was {event.previous})")


@models_app.command("add")
def models_add(
    model_dir: Annotated[Path, typer.Argument(help="A model directory to register.")],
    data: Annotated[Path, typer.Option(help="Base labelled data (for the frozen set).")],
    registry: RegistryOption = DEFAULT_REGISTRY,
    db: DbOption = None,
    suite: Annotated[Path | None, typer.Option(help="Behavioural suite directory.")] = None,
) -> None:
    """Register an existing model directory (e.g. the shipped one) with its evaluation."""
    from flagger.registry import Registry
    from flagger.training.candidate import ensure_frozen_set, evaluate_candidate, frozen_sha256

    found = Registry(registry)
    frozen, _ = ensure_frozen_set(found, data, _store(db))
    evaluation = evaluate_candidate(model_dir, frozen, frozen_sha256(found), suite)
    version = found.add(model_dir, evaluation)
    failures = evaluation.suite_failures
    typer.echo(f"added {version.id}: Task A {evaluation.task_a:.4f}, suite failures {failures}")


def _task_scores(metrics: dict[str, Any]) -> str:
    return ", ".join(
        f"{k} {metrics[k]:.4f}"
        for k in ("task_a_macro_f1", "task_b_macro_f1", "task_c_macro_f1")
        if k in metrics
    )


def main() -> None:
    """Console entry point: run the app, turning user errors into one line and exit code 2."""
    try:
        app()
    except FlaggerError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except OSError as exc:  # disk full, permission denied: say which file, keep what was done
        typer.echo(f"error: {exc.strerror or exc} ({exc.filename or 'no file name'})", err=True)
        sys.exit(2)
