"""Smoke runs of the benchmark scripts, so they cannot rot: tiny budgets, two small data sets."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
DATASETS = ["hepatitis", "glass_0_6_vs_5"]  # missing values and '?'; 108 rows
METHODS = ["autoimb", "lgbm_balanced", "logreg_balanced"]


def run_script(name: str, *args: str, timeout: float = 120) -> str:
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / name), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, f"{name} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _benchmark_module(name: str) -> Any:
    """A script of benchmarks/ imported as a module, under a name of its own (export.py is
    no autoimb.export)."""
    spec = importlib.util.spec_from_file_location(f"benchmark_{name}", BENCHMARKS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_write_section_keeps_hand_written_text(tmp_path: Path) -> None:
    markdown = _benchmark_module("_markdown")
    path = tmp_path / "R.md"
    path.write_text("# Title\n\nAnalysis by hand.\n")
    markdown.write_section(path, "quality", "first")
    markdown.write_section(path, "overhead", "other")
    markdown.write_section(path, "quality", "second")
    text = path.read_text()
    assert "Analysis by hand." in text and "other" in text
    assert "second" in text and "first" not in text


def test_the_paired_tally_leaves_ties_out_and_needs_six_sets_that_moved(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    paired = importlib.import_module("_paired")
    five = pd.Series([0.05, 0.04, 0.03, 0.02, 0.01, 0.0005, -0.0005])
    result = paired.tally(five)
    assert (result.better, result.tied, result.worse) == (5, 2, 0)
    assert np.isnan(result.p)  # five moved: no outcome could reach p < 0.05
    assert paired.paired_cells(five) == ["5/2/0", "-"]
    six = paired.tally(pd.concat([five, pd.Series([0.06])]))
    assert six.counts(" / ") == "6 / 2 / 0"
    assert six.p == pytest.approx(0.03125)


def test_quality_smoke_and_resume(keel: Path, tmp_path: Path) -> None:
    args = [
        "--datasets",
        *DATASETS,
        "--methods",
        *METHODS,
        "--metrics",
        "f1",
        "--budget",
        "2",
        "--data-dir",
        str(keel),
        "--out-dir",
        str(tmp_path),
        "--summary",
        str(tmp_path / "RESULTS.md"),
    ]
    run_script("quality.py", *args)
    frame = pd.read_csv(tmp_path / "quality.csv")
    assert len(frame) == len(DATASETS) * 3 * len(METHODS)
    assert frame.error.isna().all(), frame.error.dropna().tolist()
    assert frame.score.between(0, 1).all()
    autoimb = frame[frame.method == "autoimb"]
    assert autoimb.cv_score.notna().all()
    assert (autoimb.fit_seconds < 2 * 2 + 5).all()  # the budget holds, give or take a refit
    summary = (tmp_path / "RESULTS.md").read_text()
    for heading in ("### F1: mean score and mean rank", "wins / ties / losses", "Honesty gap"):
        assert heading in summary
    assert (tmp_path / "quality_ranks.png").stat().st_size > 0
    assert len(list((tmp_path / "leaderboards").glob("*.csv"))) == len(DATASETS) * 3

    out = run_script("quality.py", *args)  # everything is in the CSV: nothing is refit
    assert len(pd.read_csv(tmp_path / "quality.csv")) == len(frame)
    assert " fold " not in out

    # A rerun against the run itself: every set tied with the autoimb it is.
    csv = str(tmp_path / "quality.csv")
    out = run_script("versus.py", csv, "--before", csv, "--budget", "2")
    assert f"{len(DATASETS)} sets × 3 folds" in out
    assert f"| autoimb | +0.0000 | 0/{len(DATASETS)}/0 | nan |" in out

    # The honesty summary reads the same CSV: gap, interval coverage, calibration.
    details = autoimb.detail.map(json.loads)
    assert all(d["interval_low"] <= d["interval_high"] for d in details)
    assert all({"brier", "brier_raw", "ece", "ece_raw", "score_basis"} <= set(d) for d in details)
    out = run_script(
        "honesty.py",
        str(tmp_path / "quality.csv"),
        "--index",
        str(keel / "index.csv"),
        "--summary",
        str(tmp_path / "RESULTS.md"),
    )
    for heading in ("Signed gap", "Interval coverage", "Calibration"):
        assert heading in out and heading in (tmp_path / "RESULTS.md").read_text()


def test_overhead_smoke(tmp_path: Path) -> None:
    summary = tmp_path / "RESULTS.md"
    summary.write_text("Hand-written notes.\n")
    run_script(
        "overhead.py",
        "--sizes",
        "1000",
        "--budget",
        "4",
        "--jobs",
        "1",
        "--sampler-trials",
        "10",
        "20",
        "--out-dir",
        str(tmp_path),
        "--summary",
        str(summary),
    )
    searches = pd.read_csv(tmp_path / "overhead.csv")
    assert len(searches) == 1
    row = searches.iloc[0]
    assert row.trials >= 1 and 0 < row.fit_predict_fraction <= 1
    assert pd.isna(row.not_timed), f"timing targets missing from the library: {row.not_timed}"
    assert len(pd.read_csv(tmp_path / "sampler.csv")) == 2
    text = summary.read_text()
    assert "Hand-written notes." in text and "trials/min" in text


def test_ablation_smoke_and_resume(keel: Path, tmp_path: Path) -> None:
    args = [
        "--datasets",
        "glass_0_6_vs_5",
        "--variants",
        "no_resampling",
        "no_portfolio",
        "--budget",
        "2",
        "--data-dir",
        str(keel),
        "--out",
        str(tmp_path / "ablation.csv"),
        "--summary",
        str(tmp_path / "RESULTS.md"),
    ]
    run_script("ablation.py", *args)
    frame = pd.read_csv(tmp_path / "ablation.csv")
    variants = {"full", "no_threshold_tuning", "no_resampling", "no_portfolio"}
    assert set(frame.variant) == variants
    assert len(frame) == 3 * len(variants)
    assert frame.score.between(0, 1).all()
    # The variant's space really has the family off.
    space = yaml.safe_load((tmp_path / "spaces" / "no_resampling.yaml").read_text())
    assert space["resampler"] == {"none": {}}
    assert all(choice["resampler"] == "none" for choice in space["initial"])
    summary = (tmp_path / "RESULTS.md").read_text()
    assert "| no_resampling |" in summary and "| no_threshold_tuning |" in summary
    out = run_script("ablation.py", *args)
    assert len(pd.read_csv(tmp_path / "ablation.csv")) == len(frame)
    assert " fold " not in out


@pytest.mark.parametrize(
    "script",
    [
        "quality.py",
        "honesty.py",
        "overhead.py",
        "ablation.py",
        "parallel.py",
        "scale.py",
        "portfolio.py",
        "portfolio_lofo.py",
        "anytime.py",
        "selection.py",
        "selection_cost.py",
        "fold_bagging.py",
        "outside_models.py",
        "versus.py",
        "anytime_lofo.py",
        "blending.py",
        "wide.py",
        "categories.py",
        "reading.py",
        "export.py",
    ],
)
def test_help(script: str) -> None:
    assert "usage" in run_script(script, "--help", timeout=60)


def test_export_times_saving_a_forest_both_ways(tmp_path: Path) -> None:
    own, plain = _benchmark_module("export").forest_save_seconds(tmp_path, trees=5)
    assert own > 0 and plain > 0
    import skops.io

    for name in ("forest.skops", "plain.skops"):
        path = tmp_path / name
        forest = skops.io.load(path, trusted=skops.io.get_untrusted_types(file=path))
        assert len(forest.estimators_) == 5


def test_the_autogluon_peer_runs_on_a_tiny_set(keel: Path, tmp_path: Path) -> None:
    """Only where the `bench` extra is installed: AutoGluon is a peer, never a dependency."""
    pytest.importorskip(
        "autogluon.tabular", reason="AutoGluon is in the `bench` extra, not installed here"
    )
    run_script(
        "quality.py",
        "--datasets",
        "glass_0_6_vs_5",
        "--methods",
        "autogluon",
        "--metrics",
        "f1",
        "average_precision",
        "--folds",
        "0",
        "--budget",
        "5",
        "--data-dir",
        str(keel),
        "--out-dir",
        str(tmp_path),
        timeout=300,
    )
    frame = pd.read_csv(tmp_path / "quality.csv")
    assert len(frame) == 2 and frame.error.isna().all(), frame.error.tolist()
    assert frame.score.between(0, 1).all() and (frame.budget == 5).all()


def test_search_value_smoke_and_resume(keel: Path, tmp_path: Path) -> None:
    out = tmp_path / "sv.csv"
    args = [
        "--datasets",
        "glass_0_6_vs_5",
        "--budget",
        "3",
        "--variants",
        "current",
        "all_members_best",
        "--data-dir",
        str(keel),
        "--out",
        str(out),
    ]
    text = run_script("search_value.py", *args, timeout=180)
    frame = pd.read_csv(out)
    assert len(frame) == 2 and frame.error.isna().all(), frame.error.tolist()
    assert (frame.trials > 0).all() and frame.score.between(0, 1).all()
    assert "| all_members_best |" in text
    run_script("search_value.py", *args, timeout=120)  # everything is in the CSV: no refit
    assert len(pd.read_csv(out)) == 2


def test_budget_smoke_writes_a_row_per_cell(tmp_path: Path) -> None:
    out = tmp_path / "budget.csv"
    text = run_script(  # a cell too short for any trial first: its row is an error's
        "budget.py", "--rows", "400", "--budgets", "0.01", "3", "--out", str(out), timeout=180
    )
    frame = pd.read_csv(out)
    assert len(frame) == 2 and "no trial completed" in frame.error.iloc[0]
    assert frame.trials.iloc[1] > 0
    assert "| 400 | 3 |" in text


def test_wide_smoke(keel: Path) -> None:
    text = run_script(
        "wide.py",
        *("--sets", "hepatitis", "--columns", "30", "--rows", "200", "--repeats", "1"),
        *("--search-budgets", "3", "--data-dir", str(keel)),
    )
    assert "| hepatitis | 155 | 19 |" in text and "| synthetic 30 | 200 | 30 |" in text
    assert "| 30 | 3.0 |" in text


def test_reading_smoke_times_each_step() -> None:
    text = run_script("reading.py", "--rows", "2000")
    assert "Reading 2,000 new rows" in text and "| conform to the schema |" in text


def test_selection_cost_smoke() -> None:
    text = run_script("selection_cost.py", "--rows", "300", "--metrics", "f1")
    assert "| 300 | 2 | f1 |" in text
    text = run_script("selection_cost.py", "--rows", "200", "--metrics", "mcc",
                      "--classes", "4", "--candidates", "4")  # fmt: skip
    assert "| 200 | 4 | mcc |" in text


def test_fold_bagging_measures_both_ways_and_summarises(keel: Path, tmp_path: Path) -> None:
    out, results = tmp_path / "bagging.csv", tmp_path / "R.md"
    run_script("fold_bagging.py", "--sets", "hepatitis", "--data-dir", str(keel), "--out",
               str(out), "--summary", str(results))  # fmt: skip
    rows = pd.read_csv(out)
    assert len(rows) == 9 and set(rows["model"]) == {"lightgbm", "extra_trees", "logistic"}
    assert rows[["f1_refit", "f1_bag"]].notna().all().all()
    assert "| logistic | 1 |" in results.read_text()


def test_outside_models_measures_each_family_beside_the_searches(
    keel: Path, tmp_path: Path
) -> None:
    out, results = tmp_path / "outside.csv", tmp_path / "R.md"
    run_script("outside_models.py", "--sets", "hepatitis", "--data-dir", str(keel), "--out",
               str(out), "--summary", str(results))  # fmt: skip
    rows = pd.read_csv(out)
    assert len(rows) == 18 and set(rows["family"]) == {"svm", "knn"}
    assert rows[["cv", "held"]].notna().all().all()
    # hepatitis is one of the 80 sets of the 10 s searches, not one of the anytime sets
    text = results.read_text()
    assert "| 80 sets, 10 s (`c06a37c`) | svm | 1 |" in text and "anytime" not in text


def test_categories_measures_each_model_under_both_rules(keel: Path, tmp_path: Path) -> None:
    out, results = tmp_path / "categories.csv", tmp_path / "R.md"
    run_script("categories.py", "--sets", "ecoli_0_vs_1", "--data-dir", str(keel), "--out",
               str(out), "--summary", str(results))  # fmt: skip
    rows = pd.read_csv(out)
    assert len(rows) == 24 and set(rows["rule"]) == {
        "lightgbm_defaults", "searched", "one_against_rest_below_8", "partition"
    }  # fmt: skip
    assert rows[["average_precision", "f1", "mcc"]].notna().all().all()
    text = results.read_text()
    assert "| lightgbm | balanced | mcc | 1 |" in text and "| xgboost | none | f1 | 1 |" in text


def test_anytime_summarises_budgets_on_shared_pairs(tmp_path: Path) -> None:
    rows = [
        {"dataset": d, "fold": 0, "method": m, "metric": "f1", "score": s + 0.1 * (b == 60),
         "budget": b, "error": None}
        for d, base in (("a", 0.5), ("b", 0.6), ("c", 0.7))
        for m, s in (("autoimb", base), ("flaml", base - 0.05))
        for b in (10, 60)
    ]  # fmt: skip
    rows.append(dict(rows[0], dataset="only_at_10s"))  # no 60 s partner: left out of the gain
    # A second outer fold of set a, autoimb only, no gain there: a set's gain is its folds' mean
    # (the test counts sets), and the peers' curve leaves out the fold they did not run.
    rows += [dict(rows[0], fold=1, budget=b, score=0.5) for b in (10, 60)]
    paths = []
    for budget in (10, 60):
        path = tmp_path / f"anytime_{budget}s.csv"
        pd.DataFrame([r for r in rows if r["budget"] == budget]).to_csv(path, index=False)
        paths.append(str(path))
    summary, plot = tmp_path / "R.md", tmp_path / "anytime.png"
    text = run_script("anytime.py", *paths, "--summary", str(summary), "--plot", str(plot))
    assert plot.stat().st_size > 1000
    assert "| f1 | 10 s → 60 s | 3 | 0.600 | 0.683 | 0.083 | 3/0/0 |" in text
    assert "| f1 | 10 s | autoimb | 3 | 0.600 |" in text
    assert "<!-- anytime:start -->" in summary.read_text()


def test_selection_replays_every_rule_on_measured_candidates(keel: Path, tmp_path: Path) -> None:
    out, keep = tmp_path / "selection.csv", tmp_path / "keep"
    args = ["--datasets", "glass_0_6_vs_5", "--budget", "6", "--early", "3"]
    run_script(
        "selection.py", "run", *args, "--data-dir", str(keel), "--out", str(out),
        "--keep", str(keep), "--fresh-splits", "1", timeout=240,
    )  # fmt: skip
    frame = pd.read_csv(out)
    assert len(frame) >= 1 and frame.test.between(0, 1).all()
    assert frame.fresh_value.notna().all() and (frame.budget == 6).all()
    text = run_script("selection.py", "summary", "--out", str(out))
    assert "| race |" in text and "| oracle |" in text
    run_script("selection.py", "run", *args, "--data-dir", str(keel), "--out", str(out))
    assert len(pd.read_csv(out)) == len(frame)  # the search is in the CSV: not run again
    kept = np.load(keep / "glass_0_6_vs_5_0_6.npz")
    assert sorted(kept["trials"]) == sorted(frame.trial)
    assert kept["proba"].shape[:2] == (len(frame), len(kept["y_test"]))
    blended = run_script("blending.py", str(out), str(keep))
    assert "| 6 s | blend_race | 1 |" in blended and "| 3 s | race | 1 |" in blended


@pytest.mark.slow
def test_threads_smoke(tmp_path: Path) -> None:
    out = tmp_path / "T.md"
    text = run_script(
        "threads.py", "--rows", "3000", "--models", "lightgbm", "--busy", "1",
        "--repeats", "1", "--summary", str(out),
    )  # fmt: skip
    assert "1 busy process" in text and "GOMP_SPINCOUNT=1000" in text
    assert "threads:start" in out.read_text()


def test_many_categories_prints_each_fit_with_the_merchant_codes_it_kept() -> None:
    text = run_script("many_categories.py", "--rows", "3000", "--strategies", "smote+lightgbm")
    assert text.splitlines()[1].split()[:3] == ["smote+lightgbm", "3000", "256"]


def test_multiclass_factors_replays_the_served_rule(tmp_path: Path) -> None:
    out = tmp_path / "fits.csv"
    printed = run_script(
        "multiclass_factors.py",
        "--sets",
        "wine_skewed",
        "--seeds",
        "0",
        "--budget",
        "2",
        "--csv",
        str(out),
    )
    assert "wine_skewed" in printed and "guard2" in printed
    fits = pd.read_csv(out).pivot_table(index="fold", columns="rule", values="score")
    assert len(fits) == 3
    # The factors tuned again on the search's evidence are the ones it served.
    assert np.allclose(fits["served"], fits["tuned"])
    assert fits.notna().all().all()
