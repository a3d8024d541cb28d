from __future__ import annotations

import html
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import optuna
import pytest

import autoimb
from autoimb.exceptions import AutoImbError
from autoimb.metrics.registry import REPORT_METRICS
from autoimb.report.html import write_study_report

SECTIONS = {"winner", "curves", "features", "leaderboard", "history", "choices", "next", "data"}


class Page(HTMLParser):
    """What a reader of the report gets: its sections, images and outside references."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.sections: set[str] = set()
        self.images: list[str] = []
        self.links: list[str] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "section" and found.get("id"):
            self.sections.add(str(found["id"]))
        if tag == "img":
            self.images.append(str(found.get("src")))
        for key in ("src", "href"):
            if str(found.get(key, "")).startswith(("http:", "https:", "//")):
                self.links.append(str(found[key]))


def read(path: Path) -> tuple[str, Page]:
    text = path.read_text(encoding="utf-8")
    return text, Page(text)


@pytest.fixture(scope="module")
def result(small_binary):
    X, y = small_binary
    return autoimb.search(X, y, metric="f1", n_trials=8, space="fast", cv=3, random_state=0)


def test_report_html_holds_every_section_with_embedded_images(result, tmp_path):
    path = result.report_html(tmp_path / "sub" / "report.html")
    text, page = read(path)
    assert page.sections == SECTIONS
    # PR, ROC, threshold, calibration, feature importance, history, choices, importances
    assert len(page.images) >= 8
    assert all(src.startswith("data:image/png;base64,") for src in page.images)
    assert page.links == []
    for name in REPORT_METRICS:
        assert f"<th>{name}</th>" in text
    assert "Confusion matrix" in text and "imbalance ratio" in text
    assert "f1 against the threshold" in text  # the alt text of the threshold figure
    assert "Importances could not be computed" not in text
    # The board's thresholds are on the model's score, the winner's decision on P(class).
    assert "<th>threshold (model score)</th>" in text and "calibrated scale, so the two" in text
    # Every input column, with its drop in average precision and that drop's spread.
    assert "alt='feature importance'" in text and "drop in average_precision" in text
    for row in result.feature_importance.itertuples():
        assert f"<td>{html.escape(row.feature)}</td><td>{row.importance:.4f}</td>" in text


def test_the_out_of_fold_table_says_its_decision_was_tuned_on_its_rows(result, tmp_path):
    """Its threshold (and an ensemble's weights) were chosen on the rows it scores: the table
    reads optimistic, and the caption must say which number to quote instead."""
    text = html.unescape(result.report_html(tmp_path / "r.html").read_text(encoding="utf-8"))
    assert "Every metric, out of fold (optimistic)" in text
    caption = text.split("Out-of-fold predictions of")[1].split("</p>")[0]
    assert "tuned on these same rows" in caption and "are optimistic" in caption
    assert f"best_score, the headline {result.best_score:.4f} ({result.score_basis})" in caption
    assert ("ensemble's weights" in caption) == ("members" in result.best_config)


def test_study_alone_gives_the_search_sections_and_says_what_curves_need(result, tmp_path):
    text, page = read(write_study_report(tmp_path / "study.html", study=result.study))
    assert page.sections == SECTIONS
    assert "need its out-of-fold predictions" in text
    assert "Precision and recall" not in text
    assert "No feature importance was measured" in text
    assert len(page.images) >= 3  # history, choices, importances


def test_study_with_its_data_recomputes_the_winners_curves(result, small_binary, tmp_path):
    X, y = small_binary
    text, page = read(write_study_report(tmp_path / "again.html", study=result.study, X=X, y=y))
    assert "computed again" in text
    assert "Precision and recall" in text and "equal-count bins" in text
    assert "alt='feature importance'" in text  # measured again with the winner's fold models
    assert len(page.images) >= 8


def test_model_card_alone_describes_the_winner(result, tmp_path):
    card = result.best_pipeline.model_card_
    text, page = read(write_study_report(tmp_path / "card.html", model_card=card))
    # The columns' importances come with the card; only the study's parameters' are absent.
    assert "history and parameter importances are absent" in text
    assert f"{result.best_score:.4f}" in text
    assert len(page.images) == 1 and "alt='feature importance'" in text  # from the card


@pytest.mark.slow
def test_multiclass_report_draws_one_curve_per_class(glass, tmp_path):
    X, y = glass
    found = autoimb.search(X, y, metric="mcc", n_trials=2, space="fast", cv=3, random_state=0)
    text, page = read(found.report_html(tmp_path / "glass.html"))
    assert page.sections == SECTIONS
    assert "factor per class" in text and "against the threshold" not in text
    assert "Importances need at least 4 finished trials" in text
    # Several classes are decided by class factors: no threshold, no dot for one.
    assert "the dot is the chosen threshold" not in text and "one class against the rest" in text
    assert "each fold's class factors chosen on the other folds" in text
    assert "Not drawn: the other 0" not in text


def test_a_study_autoimb_did_not_write_is_refused(tmp_path):
    study = optuna.create_study()
    study.optimize(lambda trial: trial.suggest_float("x", 0, 1), n_trials=2)
    with pytest.raises(AutoImbError, match="not made by autoimb"):
        write_study_report(tmp_path / "x.html", study=study)


def test_a_report_needs_a_study_or_a_model(tmp_path):
    with pytest.raises(AutoImbError, match="needs a study, a model, or both"):
        write_study_report(tmp_path / "x.html")


def test_report_with_data_on_an_ensemble_model(result, small_binary, tmp_path):
    """A saved ensemble's card names its members' strategies; its curves are rebuilt from them."""
    X, y = small_binary
    card = result.model_card()
    best = result.study.best_trial
    others = [t for t in result.study.trials if t.state.name == "COMPLETE" and t != best]
    done = [best, others[0]]
    card["config"] = {
        "weights": {str(t.number): 0.5 for t in done},
        "members": {str(t.number): t.user_attrs["config"] for t in done},
        "threshold": 0.5,
    }
    out = write_study_report(
        tmp_path / "ensemble.html", study=result.study, model_card=card, X=X, y=y
    )
    text, page = read(out)
    assert page.sections >= SECTIONS
    assert "ensemble of trials" in text
    assert "went on after the model was saved" not in text
    assert len(page.images) >= 3  # the curves, rebuilt from the members' predictions


def test_the_report_shows_the_data_fingerprint(result, tmp_path):
    text, _ = read(result.report_html(tmp_path / "r.html"))
    fingerprint = result.study.user_attrs["autoimb"]["fingerprint"]
    assert "data fingerprint" in text and fingerprint["hash"] in text


def _study_with_values(values: list[float]) -> optuna.Study:
    study = optuna.create_study(direction="maximize")
    for value in values:
        study.add_trial(optuna.trial.create_trial(value=value))
    return study


def test_the_budget_verdict_reads_the_best_so_far_curve() -> None:
    from autoimb.report.guidance import budget_verdict

    assert "barely begun" in budget_verdict(_study_with_values([0.5, 0.6]))
    rising = [0.1 * (i % 5) + i / 100 for i in range(30)]  # a new best near the end
    assert "likely to help" in budget_verdict(_study_with_values(rising))
    flat = [0.9] + [0.5] * 29
    assert "not improved in the last 29 of 30" in budget_verdict(_study_with_values(flat))
    failing = _study_with_values([0.5, 0.6])
    for _ in range(3):
        failing.add_trial(optuna.trial.create_trial(state=optuna.trial.TrialState.FAIL))
    verdict = budget_verdict(failing)
    assert "Only 2 trials completed and 3 failed" in verdict and "fix that first" in verdict
    assert "likely to help" not in verdict
    one_failure = _study_with_values([0.5 + i / 100 for i in range(10)])
    one_failure.add_trial(optuna.trial.create_trial(state=optuna.trial.TrialState.FAIL))
    assert "barely begun" in budget_verdict(one_failure)  # one failure is not the trouble


def test_the_report_says_how_sure_and_what_next(result, tmp_path):
    text, _ = read(result.report_html(tmp_path / "r.html"))
    assert "More budget:" in text and "More data:" in text
    for note in result.notes:
        assert html.escape(note) in text
    if result.search_score != result.best_score:
        assert "How good, how sure." in text
    saved = result.save(tmp_path / "m.skops")
    card = autoimb.load(saved).model_card_
    assert card["notes"] == result.notes  # the report of the saved model shows them too


@pytest.mark.slow
def test_a_metric_of_ones_own_searches_saves_and_is_named_where_it_cannot_be_rebuilt(
    small_binary, tmp_path
) -> None:
    """A Metric defined in Python drives a whole search; a study or model keeps only its name,
    so the command line's report names it as the user's, not as a misspelt metric."""
    from conftest import run_cli

    from autoimb.metrics.metric import Metric

    def net_benefit(tp, fp, fn, tn):  # decision-curve net benefit at a 10% risk threshold
        return (tp - fp / 9.0) / np.maximum(tp + fp + fn + tn, 1.0)

    metric = Metric("net_benefit@0.1", "threshold", True, counts_fn=net_benefit)
    X, y = small_binary
    result = autoimb.search(X, y, metric=metric, n_trials=2, space="fast", cv=3, random_state=0)
    assert result.metric is metric and 0.0 < result.best_score < 1.0
    result.save(tmp_path / "m.skops")
    assert autoimb.load(tmp_path / "m.skops").model_card_["metric"] == "net_benefit@0.1"
    done = run_cli("report", "m.skops", cwd=tmp_path)
    assert done.returncode == 2
    assert "'net_benefit@0.1', which is not one of autoimb's" in done.stderr
    assert "Did you mean" not in done.stderr


def test_a_cost_reports_its_direction_its_value_and_weighted_counts(small_binary, tmp_path):
    X, y = small_binary
    weights = np.where(y == 1, 3.0, 1.0)
    result = autoimb.search(
        X, y, metric="cost:fn=10,fp=1", n_trials=1, space="fast", cv=3, random_state=0,
        sample_weight=weights,
    )  # fmt: skip
    text = html.unescape(result.report_html(tmp_path / "r.html").read_text())
    assert f"{result.best_score:.4f} per row, lower is better" in text
    table = text.split("Every metric, out of fold")[1].split("Confusion matrix")[0]
    assert "cost:fn=10,fp=1" in table  # the metric searched for, beside the usual ones
    assert next(iter(result.report()["metrics"])) == "cost:fn=10,fp=1"  # in Python, first
    assert "counts of weight, not of rows" in text
    matrix = result.report()["confusion_matrix"]  # weight, in units of its mean
    assert all(np.issubdtype(t, np.floating) for t in matrix.dtypes)


def test_the_threshold_curve_of_a_precision_floor_says_where_it_sits(small_binary, tmp_path):
    X, y = small_binary
    result = autoimb.search(
        X, y, metric="recall@precision>=0.8", n_trials=1, space="fast", cv=3, random_state=0
    )
    text = html.unescape(result.report_html(tmp_path / "r.html").read_text())
    assert "next to where precision drops below the floor" in text
    assert "middle of the best plateau" not in text
    assert "1 trial: 1 finished." in text and "Only 1 trial completed" in text  # not "1 trials"


def _metrics_and_confusion(path: Path) -> str:
    text = html.unescape(path.read_text(encoding="utf-8"))
    return text.split("Every metric, out of fold")[1].split("Out-of-fold predictions of")[0]


def test_a_model_and_its_data_give_the_searchs_own_out_of_fold_numbers(small_binary, tmp_path):
    """A forest's trials fit a quarter of its trees, on folds the study's seed (7) drew: the
    report on the model alone, with its data, computes them again as the search did."""
    from autoimb.engine.space import parse_space

    X, y = small_binary
    result = autoimb.search(
        X, y, metric="f1", n_trials=1, space=parse_space("model: {balanced_random_forest: {}}"),
        cv=3, random_state=7, ensemble=False, importance=False,
    )  # fmt: skip
    searched = result.report_html(tmp_path / "search.html")
    card = result.best_pipeline.model_card_
    rebuilt = write_study_report(tmp_path / "model.html", model_card=card, X=X, y=y)
    assert _metrics_and_confusion(rebuilt) == _metrics_and_confusion(searched)
    text = html.unescape(rebuilt.read_text(encoding="utf-8"))
    assert "<tr><th>trial</th><td>0</td></tr>" in text
    assert f"for a new set of {len(y):,} rows" in text


def test_a_model_and_its_data_type_the_columns_it_named_categorical_as_the_search_did(
    small_binary, tmp_path
):
    """A store number named in categorical_features was read back as a number by the report
    on the model and its data: its curves and confusion matrix were another model's."""
    from autoimb.engine.space import parse_space

    X, y = small_binary
    rng = np.random.default_rng(5)
    store = rng.integers(1, 40, len(y))
    store[np.asarray(y) == 1] = rng.choice([3, 17, 31], int(np.sum(y)))
    X = X.assign(store=store)
    result = autoimb.search(
        X, y, metric="f1", n_trials=1, space=parse_space("model: {logistic_regression: {}}"),
        cv=3, random_state=0, ensemble=False, importance=False, categorical_features=["store"],
    )  # fmt: skip
    assert "store" in result.best_pipeline.model_card_["schema"]["categorical"]
    searched = result.report_html(tmp_path / "search.html")
    card = result.best_pipeline.model_card_
    rebuilt = write_study_report(tmp_path / "model.html", model_card=card, X=X, y=y)
    assert _metrics_and_confusion(rebuilt) == _metrics_and_confusion(searched)


@pytest.mark.parametrize("with_text", [False, True])
def test_a_model_and_its_data_leave_out_the_columns_the_search_left_out(
    small_binary, tmp_path, with_text
):
    """A CSV's index column ("Unnamed: 0"), on rows sorted by label, is left out by the search
    as an identifier; the report read it back as a feature and scored 0.9998."""
    X, y = small_binary
    order = np.argsort(np.asarray(y), kind="stable")
    X, y = X.iloc[order].reset_index(drop=True), np.asarray(y)[order]
    X.insert(0, "Unnamed: 0", np.arange(len(y)))
    if with_text:  # a category of text: the report names the search's categorical columns
        X = X.assign(region=np.array(["north", "south", "east"])[np.arange(len(y)) % 3])
    result = autoimb.search(
        X, y, metric="f1", n_trials=1, space="fast", cv=3, random_state=0, ensemble=False,
        importance=False,
    )  # fmt: skip
    card = result.best_pipeline.model_card_
    assert "Unnamed: 0" in card["schema"]["dropped"]
    assert bool(card["schema"]["categorical"]) == with_text
    searched = result.report_html(tmp_path / "search.html")
    rebuilt = write_study_report(tmp_path / "model.html", model_card=card, X=X, y=y)
    assert _metrics_and_confusion(rebuilt) == _metrics_and_confusion(searched)


def test_a_rule_set_after_the_search_is_the_one_the_report_shows_and_applies(
    small_binary, tmp_path
):
    """set_params(decision_threshold=...) after the search: report() and the HTML report
    showed the new probability threshold beside the old decision threshold, and counted the
    confusion matrix with the old one."""
    X, y = small_binary
    result = autoimb.search(
        X, y, metric="f1", n_trials=1, space="fast", cv=3, random_state=0, ensemble=False,
        importance=False,
    )  # fmt: skip
    searched = result.report()
    result.best_pipeline.set_params(decision_threshold=0.6)
    said = result.report()
    assert said["decision"]["threshold"] == 0.6 != searched["decision"]["threshold"]
    assert said["decision"]["probability_threshold"] == result.best_pipeline.probability_threshold
    ev = result.evidence
    positives = int((ev.oof[:, 1] >= 0.6).sum())
    assert int(said["confusion_matrix"].iloc[:, 1].sum()) == positives
    assert said["score"] == searched["score"]  # measured with the search's rule, as said:
    assert said["decision"]["set_after_search"] and not searched["decision"]["set_after_search"]
    text = html.unescape(result.report_html(tmp_path / "r.html").read_text(encoding="utf-8"))
    assert "The decision rule was set after the search (set_params)" in text


def test_a_study_alone_says_its_winner_may_not_be_the_served_model(result, tmp_path):
    text, _ = read(write_study_report(tmp_path / "study.html", study=result.study))
    assert "the winner shown is the study's top-scoring trial" in html.unescape(text)


def test_the_leaderboards_threshold_caption_agrees_with_the_winners_scale(result, tmp_path):
    """A study alone knows its winner's threshold before calibration only: the caption said the
    Winner section wrote it on predict_proba's calibrated scale."""
    alone, _ = read(write_study_report(tmp_path / "study.html", study=result.study))
    assert "(before the calibration of predict_proba)" in alone
    assert "as is the decision in the Winner section" in html.unescape(alone)
    assert "calibrated scale, so the two numbers differ" not in alone
    served, _ = read(
        write_study_report(tmp_path / "m.html", model_card=result.model_card(), study=result.study)
    )
    assert "(before the calibration of predict_proba)" not in served
    assert "calibrated scale, so the two numbers differ" in served


def test_dollar_signs_in_names_and_labels_are_drawn_as_text(small_binary, tmp_path):
    """Matplotlib reads text between two "$" as TeX math: a column or class named with them
    must neither crash the report nor be typeset."""
    X, y = small_binary
    X = X.rename(columns={X.columns[0]: "revenue ($) / cost ($)", X.columns[1]: "price $x^^2$"})
    y = y.map({0: "under $5", 1: "over $5"})
    result = autoimb.search(X, y, metric="f1", n_trials=2, space="fast", cv=3, random_state=0)
    text, page = read(result.report_html(tmp_path / "r.html"))
    assert page.sections == SECTIONS
    assert "could not be drawn" not in text
    assert "alt='feature importance'" in text and "alt='Precision and recall'" in text
    assert html.escape("price $x^^2$") in text


def test_a_figure_that_cannot_be_drawn_says_why_and_the_rest_stays(result, tmp_path, monkeypatch):
    from autoimb.report import plots

    def broken(*args, **kwargs):
        raise ValueError("no bins today")

    monkeypatch.setattr(plots, "_reliability", broken)
    text, page = read(result.report_html(tmp_path / "r.html"))
    assert page.sections == SECTIONS
    assert "The calibration figure could not be drawn (ValueError: no bins today)." in text
    assert "alt='Precision and recall'" in text and "alt='optimisation history'" in text


def test_a_long_column_name_is_shortened_on_the_figure_and_whole_in_the_table(
    small_binary, tmp_path, monkeypatch
):
    """A 300-character name as a tick label pushed the bars and x label off the figure."""
    from autoimb.report import plots

    X, y = small_binary
    name = ("customer lifetime value " * 13)[:300]
    X = X.rename(columns={X.columns[0]: name})
    drawn = {}
    draw = plots._figure_html

    def keep(fig, alt, caption):
        drawn[alt] = fig
        return draw(fig, alt, caption)

    monkeypatch.setattr(plots, "_figure_html", keep)
    result = autoimb.search(X, y, metric="f1", n_trials=2, space="fast", cv=3, random_state=0)
    text, _ = read(result.report_html(tmp_path / "r.html"))
    assert f"<td>{name}</td>" in text
    fig = drawn["feature importance"]
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert name not in labels and name[:39].rstrip() + "…" in labels
    assert max(map(len, labels)) <= plots.LABEL_CHARS
    inside = ax.get_tightbbox(fig._get_renderer())
    assert inside.x0 >= 0 and inside.x1 <= fig.bbox.x1 and inside.y0 >= 0


def test_failed_trials_are_counted_apart_from_finished_ones_in_words(
    small_binary, tmp_path, broken_resampler
):
    from autoimb.engine.space import parse_space

    space = parse_space(
        # C drawn from a range: two components alone would stop once each has run
        "model: {logistic_regression: {C: {type: float, low: 0.5, high: 2.0}}}\n"
        "resampler: {broken: {}, none: {}}\n"
        "initial: [{resampler: none, model: logistic_regression},"
        " {resampler: broken, model: logistic_regression}]"
    )
    X, y = small_binary
    result = autoimb.search(X, y, metric="f1", n_trials=4, space=space, cv=3, random_state=0)
    states = result.leaderboard["state"].value_counts()
    finished, failed = states["COMPLETE"], states["FAIL"]
    assert finished + failed == 4 and finished < 4 and failed < 4
    text = html.unescape(result.report_html(tmp_path / "r.html").read_text(encoding="utf-8"))
    words = sorted([(finished, "finished"), (failed, "failed")], key=lambda c: -c[0])
    assert f"4 trials: {', '.join(f'{n} {w}' for n, w in words)}." in text
    assert "complete," not in text and "fail." not in text
    others = "1 trial (1 failed)" if failed == 1 else f"{failed} trials ({failed} failed)"
    assert f"Not drawn: the other {others}." in text
    # The failed trials chose another resampler: every finished one made the same choices.
    assert "Every finished trial made the same choices." in text
    assert f"completed and {failed} failed: see why they failed" in text
    assert "a longer search is likely to help" not in text


def test_small_shares_and_large_counts_read_as_they_are(result, tmp_path):
    """A rare class of 40 in 100,050 rows is not "0.0%", and 300 false alarms among
    99,710 negatives are not "0%"."""
    from autoimb.report.tables import confusion_html

    card = dict(result.best_pipeline.model_card_)
    card["data"] = {
        **card["data"],
        "rows": 100_050,
        "class_counts": {"0": 100_010, "1": 40},
        "imbalance_ratio": 100_010 / 40,
    }
    text = html.unescape(
        write_study_report(tmp_path / "card.html", model_card=card).read_text(encoding="utf-8")
    )
    data = text.split('id="data"')[1]
    assert "<td>100,050</td>" in data and "<td>2,500</td>" in data
    assert "<td>40</td><td><0.1%</td>" in data and "<td>100,010</td><td>>99.9%</td>" in data
    cells = html.unescape(confusion_html(np.array([[99_710, 300], [12, 28]]), ["0", "1"]))
    assert "300 <span class='muted'>(<1%)</span>" in cells
    assert "99,710 <span class='muted'>(>99%)</span>" in cells
    assert "12 <span class='muted'>(30%)</span>" in cells


def test_a_report_on_a_weighted_search_needs_its_weights(small_binary, tmp_path) -> None:
    """Without them its curves counted every row alike, in silence; the command line refused."""
    X, y = small_binary
    weights = np.linspace(1.0, 3.0, len(y))
    search = dict(n_trials=1, space="fast", cv=3, storage=str(tmp_path / "s.log"))
    study = autoimb.search(X, y, sample_weight=weights, warm_start=None, **search).study
    with pytest.raises(AutoImbError, match=r"weighted its rows: pass the same sample_weight="):
        write_study_report(tmp_path / "r.html", study=study, X=X, y=y)
    write_study_report(tmp_path / "r.html", study=study, X=X, y=y, sample_weight=weights)
    write_study_report(tmp_path / "r.html", study=study, X=X, y=y, force=True)  # knowingly


def _time_folds_search(small_binary, **kwargs):
    from autoimb.engine.splits import Folds

    X, y = small_binary
    order = np.random.default_rng(0).permutation(len(y))  # every class in the first block
    X, y = X.iloc[order].reset_index(drop=True), y.iloc[order].reset_index(drop=True)
    result = autoimb.search(
        X, y, metric="f1", n_trials=2, space="fast", cv=Folds(3, "time"), random_state=0,
        ensemble=False, **kwargs,
    )  # fmt: skip
    return X, y, result


def test_a_model_of_time_folds_and_its_data_count_only_the_rows_some_fold_validated(
    small_binary, tmp_path
):
    """Time folds never validate their first block: the report on the model with its data
    counted those rows as predicted negative in its confusion matrix and curves."""
    X, y, result = _time_folds_search(small_binary, importance=False)
    searched = result.report_html(tmp_path / "search.html")
    rebuilt = write_study_report(tmp_path / "model.html", model_card=result.model_card(), X=X, y=y)
    assert _metrics_and_confusion(rebuilt) == _metrics_and_confusion(searched)
    assert len(result.evidence.y) < len(y)


def test_a_report_says_how_its_search_ran_and_which_rows_no_fold_validated(small_binary, tmp_path):
    X, y, result = _time_folds_search(small_binary, importance=False)
    scored = len(result.evidence.y)
    for page in (
        result.report_html(tmp_path / "search.html"),
        write_study_report(tmp_path / "model.html", model_card=result.model_card()),
    ):
        text = html.unescape(page.read_text(encoding="utf-8"))
        assert "<th>searched with</th><td>f1, on 3 time folds (" in text
        assert "seed 0, n_trials=2 for the run that saved it, no sample weights</td>" in text
        assert f"No fold validated {len(y) - scored:,} of the {len(y):,} rows" in text
        assert f"come from the {scored:,} rows some fold validated" in text
    weights = np.linspace(1.0, 3.0, len(y))
    study = autoimb.search(
        X, y, sample_weight=weights, n_trials=1, space="fast", cv=3, random_state=0,
        importance=False,
    ).study  # fmt: skip
    text = write_study_report(tmp_path / "study.html", study=study).read_text(encoding="utf-8")
    assert "on 3 stratified folds, seed 0, rows weighted by sample_weight</td>" in text
    assert "No fold validated" not in text


def _features(path: Path) -> str:
    text = html.unescape(path.read_text(encoding="utf-8"))
    return text.split('id="features"')[1].split("</section>")[0]


def test_a_stopped_searchs_model_says_it_was_stopped_before_its_skipped_steps(
    small_binary, tmp_path
):
    """Ctrl-C or SIGTERM saves the best so far without a fresh-fold measure or importance: its
    notes said the measure was switched off and its report blamed the time budget."""
    from autoimb.data.dataset import validate
    from autoimb.engine.stopped import finish_study
    from autoimb.metrics.registry import get_metric

    X, y = small_binary
    first = autoimb.search(X, y, metric="f1", n_trials=2, space="fast", cv=3, random_state=0)
    stopped = finish_study(first.study, validate(X, y), get_metric("f1"), None)
    notes = " ".join(stopped.notes)
    assert "switched off" not in notes
    assert "(the search was stopped before this step)" in notes
    card = stopped.model_card()
    features = _features(write_study_report(tmp_path / "r.html", model_card=card))
    assert "the search was stopped before it was measured" in features
    assert "time budget" not in features


def test_a_search_without_importance_says_it_was_switched_off(small_binary, tmp_path):
    X, y = small_binary
    result = autoimb.search(
        X, y, metric="f1", n_trials=1, space="fast", cv=3, random_state=0, importance=False
    )
    features = _features(result.report_html(tmp_path / "r.html"))
    assert "the search was run with importance=False" in features
    assert "time budget" not in features
    study = _features(write_study_report(tmp_path / "s.html", study=result.study))
    assert "a study keeps none, and the report was not given the training data" in study


def test_a_saved_models_report_keeps_the_searchs_learning_curve_advice(small_binary, tmp_path):
    X, y = small_binary
    result = autoimb.search(
        X, y, metric="mcc", n_trials=2, space="fast", cv=3, random_state=0, advice=True,
        importance=False,
    )  # fmt: skip
    said = html.escape(result.advice.summary())
    card = result.model_card()
    page = write_study_report(tmp_path / "r.html", model_card=card, study=result.study)
    text = page.read_text(encoding="utf-8")
    assert f"<b>More data:</b> {said}" in text
    assert "More data:</b> not measured" not in text
    del card["advice"]  # a model saved before the advice was kept: asked for, it was not there
    old = write_study_report(tmp_path / "old.html", model_card=card, study=result.study)
    assert "More data:</b> not measured" in old.read_text(encoding="utf-8")


def _winner_part(path: Path) -> str:
    text = html.unescape(path.read_text(encoding="utf-8"))
    return text.split('id="winner"')[1].split("<h3>Strategy</h3>")[0]


def test_a_score_flattered_by_copied_rows_says_so_beside_it(yeast4, result, tmp_path) -> None:
    """Copies of a row on both sides of a fold are scored by models that trained on them: the
    headline score carries the caveat, not only the notes at the end of the page."""
    import pandas as pd

    X, y = yeast4
    positive = y == 1
    X = pd.concat([X, X[positive], X[positive]], ignore_index=True)
    y = pd.concat([y, y[positive], y[positive]], ignore_index=True)
    with pytest.warns(UserWarning, match="repeat another row"):
        copied = autoimb.search(
            X, y, metric="f1", n_trials=2, space="fast", cv=3, random_state=0,
            ensemble=False, importance=False,
        )  # fmt: skip
    caveat = "optimistic: rows repeat across folds"
    assert f"; {caveat}, see notes)" in repr(copied)
    assert caveat in copied._repr_html_()
    from autoimb.cli.summary import best_text  # the command line's headline

    assert f"; {caveat}, see the note)" in best_text(copied)
    assert caveat not in best_text(result)
    for page in (
        copied.report_html(tmp_path / "copied.html"),
        write_study_report(tmp_path / "card.html", model_card=copied.model_card()),
    ):
        winner = _winner_part(page)
        assert caveat in winner and "note on copied rows" in winner
    # Data without copies enough to matter reads as before.
    assert caveat not in repr(result)
    assert caveat not in _winner_part(result.report_html(tmp_path / "plain.html"))


_TWO_WEIGHTINGS = (
    "name: tiny\ninitial:\n  - {resampler: none, weighting: balanced, model: logistic_regression}\n"
    "resampler: {none: {}}\nweighting: {none: {}, balanced: {}}\n"
    "model: {logistic_regression: {}}\n"
)


@pytest.fixture(scope="module")
def spent(small_binary):
    """A search of a space of two strategies, which tries both and stops there."""
    from autoimb.engine.space import parse_space

    X, y = small_binary
    space = parse_space(_TWO_WEIGHTINGS)
    return autoimb.search(X, y, metric="f1", n_trials=6, space=space, cv=3, random_state=0)


def test_a_search_that_tried_its_whole_space_is_not_told_to_run_longer(spent, tmp_path):
    """More budget would only repeat the strategies tried: the advice is a wider space."""
    from autoimb.report.guidance import budget_verdict

    assert any("Every strategy of the space 'tiny' was tried (2)" in n for n in spent.notes)
    for page in (
        spent.report_html(tmp_path / "r.html"),
        write_study_report(
            tmp_path / "card.html", model_card=spent.model_card(), study=spent.study
        ),
    ):
        said = html.unescape(page.read_text(encoding="utf-8")).split("More budget:</b>")[1]
        said = said.split("</li>")[0]
        assert "search space was tried" in said and "widen the space" in said
        assert "likely to help" not in said and "Only 2 trials" not in said
    # A study alone does not say its space was spent: the verdict reads its curve as before.
    assert "barely begun" in budget_verdict(spent.study)


def test_a_repeat_of_a_tried_strategy_is_counted_apart_from_pruned_trials(spent, tmp_path):
    """A repeat was pruned before any fit, as the leaderboard's ``stopped`` says; counted as
    "pruned" it would read as a strategy stopped on its first folds."""
    board = spent.leaderboard
    repeats = board["stopped"].fillna("").str.contains("not fitted again")
    assert repeats.sum() == 1 and (board["state"] == "PRUNED").sum() == 1  # the board keeps it
    text = html.unescape(spent.report_html(tmp_path / "r.html").read_text(encoding="utf-8"))
    assert "3 trials: 2 finished, 1 repeat not fitted again." in text
    assert "Not drawn: the other 1 trial (1 repeat not fitted again)." in text
    assert "pruned" not in text.split('id="leaderboard"')[1].split('id="choices"')[0]


def test_multiclass_means_say_macro_and_unweighted_counts_are_integers(glass, result, tmp_path):
    """Over several classes f1, precision and recall are means over them, as the command line
    says; rows without weights are counted in whole rows, as scikit-learn counts them."""
    from sklearn.metrics import confusion_matrix as sk_confusion_matrix

    X, y = glass
    found = autoimb.search(
        X, y, metric="f1", n_trials=1, space="fast", cv=3, random_state=0, importance=False
    )
    table = _metrics_and_confusion(found.report_html(tmp_path / "glass.html"))
    for name in ("f1", "precision", "recall", "average_precision", "roc_auc"):
        assert f"<th>{name} (macro)</th>" in table
    assert "<th>mcc</th>" in table and "<th>balanced_accuracy</th>" in table
    matrix = found.report()["confusion_matrix"]
    assert all(np.issubdtype(t, np.integer) for t in matrix.dtypes)
    served = found.applied_decision.apply(found.evidence.oof)
    expected = sk_confusion_matrix(found.evidence.y, served, labels=range(len(found.classes_)))
    np.testing.assert_array_equal(matrix.to_numpy(), expected)
    # Two classes: the positive class's scores, named as they are.
    assert "(macro)" not in _metrics_and_confusion(result.report_html(tmp_path / "binary.html"))
    assert all(np.issubdtype(t, np.integer) for t in result.report()["confusion_matrix"].dtypes)


def test_a_saved_models_card_says_its_space_was_spent_and_scored_on_copies(
    small_binary, tmp_path
) -> None:
    """Both facts travel as fields of the saved model's card, so a report on it says them
    whatever the notes' words; a card saved before the fields is read by its notes' words."""
    import pandas as pd

    from autoimb.engine.space import parse_space

    X, y = small_binary
    rare = y == y.value_counts().idxmin()
    X = pd.concat([X, X[rare], X[rare]], ignore_index=True)
    y = pd.concat([y, y[rare], y[rare]], ignore_index=True)
    with pytest.warns(UserWarning, match="repeat another row"):
        found = autoimb.search(
            X, y, metric="f1", n_trials=6, space=parse_space(_TWO_WEIGHTINGS), cv=3,
            random_state=0, ensemble=False, importance=False,
        )  # fmt: skip
    card = autoimb.load(found.save(tmp_path / "m.skops")).model_card_
    assert card["space_spent"] is True and card["scored_on_copies"] is True

    def says_both(card: dict, name: str) -> bool:
        page = html.unescape(
            write_study_report(tmp_path / name, model_card=card).read_text(encoding="utf-8")
        )
        budget = page.split("More budget:</b>")[1].split("</li>")[0]
        return "widen the space" in budget and "optimistic: rows repeat" in _winner_part(
            tmp_path / name
        )

    assert says_both(card, "saved.html")
    reworded = {**card, "notes": [f"In other words: {note[::-1]}" for note in card["notes"]]}
    assert says_both(reworded, "reworded.html")
    old = {k: v for k, v in card.items() if k not in ("space_spent", "scored_on_copies")}
    assert says_both(old, "old.html")
    plain = {**card, "space_spent": False, "scored_on_copies": False}
    page = write_study_report(tmp_path / "plain.html", model_card=plain)
    assert "optimistic: rows repeat" not in _winner_part(page)
    assert "widen the space" not in page.read_text(encoding="utf-8")
