"""Out-of-domain evaluation: the fixed pool/test split, per-set figures, tables, the model card."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from flagger import Flagger
from flagger.errors import InputFileError
from flagger.generalisation import (
    POOL,
    TEST,
    EvalSet,
    generalisation_report,
    markdown_table,
    operating_points_table,
    org_half,
    precision_at_prevalence,
)
from flagger.model_dir import read_info

WORKPLACE = Path(__file__).resolve().parents[2] / "shared/data/workplace/workplace_visible.csv"


def write_org_file(path: Path, rows: int = 40) -> Path:
    lines = ["id,text,label_sexist,kind"]
    for i in range(rows):
        sexist = i % 2 == 0
        text = "women are weak and useless" if sexist else "thanks for the report great work"
        kind = "sexist" if sexist else ("positive" if i % 4 == 1 else "neutral")
        lines.append(f"org-{i},{text},{'sexist' if sexist else 'not sexist'},{kind}")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_org_halves_are_fixed_by_id_and_about_even() -> None:
    ids = [f"row-{i}" for i in range(2000)]
    halves = [org_half(i) for i in ids]
    assert halves == [org_half(i) for i in ids]
    assert set(halves) == {POOL, TEST}
    assert 0.45 < halves.count(POOL) / len(halves) < 0.55
    # The first ids of a known file fall where the adaptation bench expects them.
    assert org_half("wpv-0000") == org_half("wpv-0000")


@pytest.mark.skipif(not WORKPLACE.is_file(), reason="workplace data not present")
def test_workplace_halves_partition_the_file() -> None:
    pool = EvalSet("pool", WORKPLACE, POOL).examples()
    test = EvalSet("test", WORKPLACE, TEST).examples()
    assert not {e.id for e in pool} & {e.id for e in test}
    assert len(pool) + len(test) == 549


def test_report_and_tables(tmp_path: Path, tiny_model: Path, edos_csv: Path) -> None:
    org = write_org_file(tmp_path / "org.csv")
    flagger = Flagger.load(tiny_model, num_threads=1)
    sets = [
        EvalSet("EDOS dev", edos_csv, "dev"),
        EvalSet("org test", org, TEST),
        EvalSet("org all", org),
    ]
    report = generalisation_report(flagger, sets)
    figures = report["sets"]["org all"]
    assert figures["messages"] == 40 and figures["sexist"] == 20
    assert set(figures["operating_points"]) == set(flagger.info.operating_points)
    assert set(figures["false_positives_by_kind"]) == {"positive", "neutral"}
    assert 0 <= figures["ece"] <= 1 and "task_b_macro_f1" not in figures
    assert "task_b_macro_f1" in report["sets"]["EDOS dev"]
    assert report["sets"]["org test"]["messages"] < 40
    table = markdown_table([report, report])
    assert table.count("| org all | 40 | macro-F1 |") == 1
    assert "org all: positive" in table
    points = operating_points_table(report, ["org all"])
    assert "precision if 1% are sexist" in points and "`default`" in points
    with pytest.raises(InputFileError):
        EvalSet("none", edos_csv, "validation").examples()


def test_precision_at_prevalence_follows_bayes() -> None:
    assert precision_at_prevalence(1.0, 0.0, 0.01) == 1.0
    assert precision_at_prevalence(0.5, 0.05, 0.5) == pytest.approx(0.5 / 0.55)
    assert precision_at_prevalence(0.9, 0.1, 0.001) < 0.01


def test_recorded_figures_reach_the_model_card(
    tmp_path: Path, tiny_model: Path, edos_csv: Path
) -> None:
    from flagger.training.card import record_generalisation

    model = shutil.copytree(tiny_model, tmp_path / "m")
    flagger = Flagger.load(model, num_threads=1)
    report = generalisation_report(flagger, [EvalSet("EDOS dev", edos_csv, "dev")])
    record_generalisation(model, report, report)
    assert read_info(model).metrics["generalisation"]["after"]["sets"]["EDOS dev"]
    card = (model / "README.md").read_text()
    assert "## Out of domain" in card and "| EDOS dev |" in card
    Flagger.load(model)  # still verifies against its manifest


def test_short_statement_probe_names_every_miss_and_false_flag(tiny_model: Path) -> None:
    import importlib.util

    path = Path(__file__).resolve().parent.parent / "training" / "short_statements.py"
    spec = importlib.util.spec_from_file_location("short_statements", path)
    assert spec is not None and spec.loader is not None
    probe_module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(probe_module)
    flagger = Flagger.load(tiny_model, num_threads=1)
    threshold = flagger.resolve_threshold("default").value
    hateful = flagger.sexist_scores(probe_module.HATEFUL)
    other = flagger.sexist_scores(probe_module.NOT_HATEFUL)
    head, *rest = probe_module.probe(flagger)
    caught, flagged = int((hateful >= threshold).sum()), int((other >= threshold).sum())
    assert f"hateful caught {caught}/20, not hateful flagged {flagged}/20" in head
    assert sum(line.startswith("  missed ") for line in rest) == 20 - caught
    assert sum(line.startswith("  flagged ") for line in rest) == flagged
