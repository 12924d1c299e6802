"""Render a model card (Hugging Face model-card layout) from a model's ``flagger.json``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flagger.generalisation import markdown_table, operating_points_table
from flagger.model_dir import ModelInfo, read_info, rewrite_info

_METRIC_NAMES = {
    "task_a_macro_f1": "Task A macro-F1 (sexist / not sexist, all posts)",
    "task_b_macro_f1": "Task B macro-F1 (4 categories, gold-sexist posts)",
    "task_c_macro_f1": "Task C macro-F1 (11 vectors, gold-sexist posts)",
    "precision": "Precision (sexist) at the default threshold",
    "recall": "Recall (sexist) at the default threshold",
    "pr_auc": "PR-AUC (sexist)",
    "ece": "Expected calibration error (15 bins), calibrated",
    "ece_uncalibrated": "Expected calibration error (15 bins), before calibration",
}


def _operating_point_rows(info: ModelInfo) -> str:
    def cell(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.4f}"

    return "\n".join(
        f"| `{name}` | {p.value:.4f} | {cell(p.precision)} | {cell(p.recall)} | "
        f"{cell(p.macro_f1)} | {cell(p.flag_rate)} | {p.description} |"
        for name, p in info.operating_points.items()
    )


def _suite_text(info: ModelInfo) -> str:
    suite = info.metrics.get("suite")
    if not suite:
        return "Not measured: run `flagger calibrate DIR --data FILE --suite training/behaviour`."
    baseline = info.metrics.get("baseline", {})
    old = baseline.get("suite", {})
    before = f" {baseline['model']} |" if old else ""
    rule = "---|" if old else ""

    def was(section: str, name: str, key: str) -> str:
        row = old.get(section, {}).get(name)
        return f" {row[key]:.1%} |" if row else (" n/a |" if old else "")

    rows = "\n".join(
        f"| {name} | {row['cases']} |{was('capabilities', name, 'pass_rate')} "
        f"{row['pass_rate']:.1%} |"
        for name, row in suite["capabilities"].items()
    )
    overall = f" {old['pass_rate']:.1%} |" if old else ""
    fairness = "\n".join(
        f"| {group} | {row['cases']} |{was('false_positive_rate_by_group', group, 'rate')} "
        f"{row['rate']:.1%} |"
        for group, row in suite["false_positive_rate_by_group"].items()
    )
    dev_rows = ""
    if baseline.get("dev"):
        now = info.metrics.get("dev", {})
        dev_rows = "\n\nEDOS dev, before and after:\n\n| metric | " + baseline["model"]
        dev_rows += f" | {info.name}@{info.version} |\n|---|---|---|\n"
        dev_rows += "\n".join(
            f"| {key} | {baseline['dev'][key]:.4f} | {now[key]:.4f} |"
            for key in ("task_a_macro_f1", "task_b_macro_f1", "task_c_macro_f1", "ece")
            if key in baseline["dev"] and key in now
        )
    return f"""Behavioural suite `{suite.get("path", "?")}` ({suite["cases"]} templated cases
written by the flagger team, never trained on), each model at its default operating point:

| capability | cases |{before} {info.name}@{info.version} |
|---|---|{rule}---|
{rows}
| **overall** | {suite["cases"]} |{overall} **{suite["pass_rate"]:.1%}** |

### Fairness: false-positive rate on neutral and positive mentions

| mentioned group | not-sexist cases |{before} {info.name}@{info.version} |
|---|---|{rule}---|
{fairness}{dev_rows}{_steps_text(info)}"""


def _steps_text(info: ModelInfo) -> str:
    steps = info.training.get("improvement_steps")
    if not steps:
        return ""

    def cell(row: dict[str, Any], key: str, form: str) -> str:
        value = row.get(key)
        return "n/a" if value is None else format(value, form)

    rows = "\n".join(
        f"| {row['step']} | {cell(row, 'dev_task_a', '.4f')} | {cell(row, 'suite', '.1%')} | "
        f"{row.get('weakest', 'n/a')} | {cell(row, 'women_fpr', '.1%')} |"
        for row in steps
    )
    return f"""

### How this model was improved, step by step

Each step measured on EDOS dev (Task A at its best threshold) and on the suite (at that
threshold); women FPR is the false-positive rate on neutral mentions of women.

| step | dev Task A | suite | weakest capability | women FPR |
|---|---|---|---|---|
{rows}"""


def _data_limitation(info: ModelInfo) -> str:
    if info.data.get("extra_train"):
        return (
            "Trained on public social-media posts and on workplace messages written by the "
            "flagger team,\n  not on real internal messages: vocabulary, tone and the base rate "
            "of sexism differ.\n  Expect more errors on short, polite or implicit messages."
        )
    return (
        "Trained on public social-media posts, not workplace messages: vocabulary, tone and the "
        "base\n  rate of sexism differ. Expect more errors on short, polite or implicit messages."
    )


def _extra_train_text(info: ModelInfo) -> str:
    extras = info.data.get("extra_train") or []
    if not extras:
        return ""
    rows = "\n".join(f"| `{e['file']}` | {e['rows']} | `{e['sha256'][:12]}` |" for e in extras)
    weight = info.training.get("extra_train_weight", 1)
    return f"""
Added to the training split only (never to dev), the recipe's own files repeated {weight}x:

| file | rows | sha256 |
|---|---|---|
{rows}
"""


def _generalisation_text(info: ModelInfo) -> str:
    recorded = info.metrics.get("generalisation")
    if not recorded:
        return "Not measured: run `training/generalisation.py --model DIR --record`."
    reports = [r for r in (recorded.get("before"), recorded["after"]) if r]
    return f"""Measured with `training/generalisation.py` ({recorded["after"].get("backend", "?")}
backend), each model at its own default operating point. EDOS dev is in domain; the blind split
(written apart from the training corpus, never trained on), the workplace statements (split by a
fixed hash of the id: recipes chosen on the pool half, the test half reported) and the ToxiGen
seed statements are out of domain and were never trained on.

{markdown_table(reports)}

Operating points on the workplace test half beside EDOS dev:

{operating_points_table(recorded["after"], ["EDOS dev", "workplace test"])}"""


def record_generalisation(
    directory: str | Path, report: dict[str, Any], before: dict[str, Any] | None = None
) -> None:
    """Store a generalisation report (and the one it is compared with) in a model directory.

    Raises:
        ModelDirectoryError: if the directory does not match its manifest.
    """
    path = Path(directory)
    info = read_info(path)
    metrics = {**info.metrics, "generalisation": {"after": report, "before": before}}
    info = info.model_copy(update={"metrics": metrics})
    rewrite_info(path, info, render_card(info))


def _calibration_text(info: ModelInfo) -> str:
    calibration = info.calibration
    where = info.data.get("calibrated_on", {})
    kept = f" The base calibration was kept: {where['why']}." if "why" in where else ""
    if calibration.method == "identity":
        return f"Not calibrated: scores are the sigmoid of the sexist logit.{kept}"
    how = {
        "temperature": f"temperature scaling (T = {calibration.temperature:.3f})",
        "platt": f"Platt scaling (T = {calibration.temperature:.3f}, bias {calibration.bias:.3f})",
        "isotonic": f"isotonic regression ({len(calibration.isotonic_logits)} steps)",
    }[calibration.method]
    report = calibration.report
    fitted_on = (
        "messages of the organisation's random audit sample"
        if where.get("source") == "organisation random audit sample"
        else "dev messages"
    )
    return (
        f"Scores are calibrated by {how}, fitted on {report.get('messages', '?')} {fitted_on}. "
        f"ECE before: {report.get('ece_uncalibrated', '?')}; "
        f"out of fold ({report.get('folds', '?')}-fold): temperature "
        f"{report.get('ece_temperature_out_of_fold', '?')}, Platt "
        f"{report.get('ece_platt_out_of_fold', '?')}, isotonic "
        f"{report.get('ece_isotonic_out_of_fold', '?')}. A more flexible method is used only "
        f"when it beats the simpler one out of fold.{kept}"
    )


def _runtime_text(info: ModelInfo) -> str:
    export = info.onnx
    if export is None:
        return "Runs on PyTorch (float32 from fp16 weights); no ONNX export is included."
    measured = export.measured_on
    return (
        f"Scans run on ONNX Runtime with `{export.file}` ({export.quantization}); PyTorch is the "
        f"fallback (`--backend torch`). Measured on {measured.get('rows', '?')} "
        f"{measured.get('split', '?')} messages at threshold {measured.get('threshold', '?')}: "
        f"Task A macro-F1 {export.macro_f1_onnx:.4f} against {export.macro_f1_torch:.4f} on "
        f"PyTorch, same verdict on {export.agreement:.1%} of messages, largest logit difference "
        f"{export.max_abs_logit_difference:.3f}."
    )


def _metric_rows(metrics: dict[str, Any]) -> str:
    return "\n".join(
        f"| {label} | {metrics[key]:.4f} |"
        for key, label in _METRIC_NAMES.items()
        if key in metrics
    )


def _length_text(info: ModelInfo) -> str:
    rule = info.length
    if rule.split == "windows" and not rule.penalty:
        return (
            "\nLong messages are cut into overlapping windows and take their most severe one's "
            "score.\n"
        )
    context = ""
    if rule.context_weight:
        side = (
            f"{rule.context_tokens} tokens each side"
            if rule.context_tokens
            else "as much as fits in one window"
        )
        context = (
            f", {rule.context_weight} of its logit taken from the part read with the text around "
            f"it ({side})"
        )
    return (
        f"\nLong messages are cut into parts at paragraphs and sentences ({rule.split}) and take "
        f"the most severe part's score{context}, its logit lowered by {rule.penalty} x "
        f"log(tokens / {rule.reference_tokens}) for messages longer than "
        f"{rule.reference_tokens} tokens (`bench/long_messages.py`: fitted on EDOS dev and the "
        "authored long messages of `training/long_messages/`).\n"
    )


def render_card(info: ModelInfo) -> str:
    """Return the Markdown model card for ``info``."""
    dev = info.metrics.get("dev", {})
    training = {k: v for k, v in info.training.items() if k != "history"}
    recipe = "\n".join(f"| `{k}` | `{v}` |" for k, v in sorted(training.items()))
    return f"""---
language: en
license: cc0-1.0
library_name: flagger
base_model: sentence-transformers/all-MiniLM-L6-v2
tags: [text-classification, sexism-detection, edos]
---

# {info.name} {info.version}

A multi-task classifier that scores a message for sexism (EDOS Task A) and names its category
(Task B, 4 classes) and fine-grained vector (Task C, 11 classes). One all-MiniLM-L6-v2 encoder
(6 layers, 384 hidden) with mean pooling feeds three linear heads, fine-tuned jointly.

## Intended use

Triage of an organisation's internal messages by a professional-standards team: the model
points reviewers at messages that may be sexist and says what kind. Every flag is a prompt for
a human decision, never a decision on its own.

**Out of scope:** automated sanctions, judging individuals without review, languages other
than English, and content types far from short posts (code, long documents).

## Training data

EDOS (SemEval-2023 Task 10, CC0): Gab and Reddit posts labelled by trained annotators.
File `{info.data.get("file", "?")}` (sha256 `{info.data.get("sha256", "?")}`):
{info.data.get("train_rows", "?")} training rows, {info.data.get("dev_rows", "?")} dev rows
used for checkpoint selection and the threshold. Selected: {info.metrics.get("selected", "?")}.
{_extra_train_text(info)}
## Metrics (dev split, saved weights, threshold {info.threshold:.4f})

| metric | value |
|---|---|
{_metric_rows(dev)}

The threshold and checkpoint were chosen on this dev split, so these figures are optimistic;
an independent test set is the fair measure.

## Calibration

{_calibration_text(info)}

## Operating points

Thresholds on the calibrated score, chosen as each rule says; pass the name as `--threshold NAME`.
Messages within {info.uncertainty_band} of the threshold are marked `uncertain`.
{_length_text(info)}

| name | threshold | precision | recall | macro-F1 | flag rate | rule |
|---|---|---|---|---|---|---|
{_operating_point_rows(info)}

## Behaviour on hard cases

{_suite_text(info)}

## Out of domain

{_generalisation_text(info)}

## Runtime

{_runtime_text(info)}

## Limitations and ethical considerations

- {_data_limitation(info)}
- Obfuscated spellings, sarcasm, quoted or reported speech (counter-speech) and neutral
  mentions of women are known hard cases; neutral mentions can be over-flagged.
- English only. Texts longer than {info.max_length} tokens are scored in overlapping windows and
  take their most severe window.
- Labels reflect the EDOS annotators' guidelines; categories for rare classes (e.g. threats of
  harm, condescending explanations) rest on few training examples.

## Training recipe

| setting | value |
|---|---|
{recipe}
"""
