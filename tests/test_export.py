"""Saved pipelines load safely and predict identically; foreign content is refused."""

from __future__ import annotations

import collections
import importlib
import json
import os
import subprocess
import sys
import time
import warnings
import zipfile
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.linear_model import LogisticRegression

import autoimb
import autoimb.export
from autoimb.config import SEARCH_MEMBER_SHARE
from autoimb.data.dataset import validate
from autoimb.engine.model_card import rows_kept_by
from autoimb.engine.pipeline import StrategyPipeline
from autoimb.exceptions import AutoImbError, SchemaError, UntrustedModelError
from autoimb.export import OWN_TYPES, TRUSTED_TYPES, load, save, untrusted_types
from autoimb.library_versions import modules_in
from autoimb.posthoc.ensemble import EnsembleClassifier
from autoimb.posthoc.threshold import ThresholdedClassifier
from autoimb.report.winner import Winner
from autoimb.stages import REGISTRY


@pytest.fixture(scope="module")
def result(hepatitis):
    X, y = hepatitis
    return autoimb.search(X, y, metric="f1", n_trials=3, space="fast", cv=3, random_state=0)


def test_round_trip_predicts_identically(result, hepatitis, tmp_path) -> None:
    X, _ = hepatitis
    path = result.save(tmp_path / "model.skops")
    loaded = autoimb.load(path)
    np.testing.assert_array_equal(loaded.predict_proba(X), result.best_pipeline.predict_proba(X))
    np.testing.assert_array_equal(loaded.predict(X), result.best_pipeline.predict(X))
    assert loaded.model_card_["metric"] == "f1"
    # The columns it reads, as a fitted scikit-learn model names them.
    assert loaded.n_features_in_ == X.shape[1]
    assert list(loaded.feature_names_in_) == list(X.columns)
    assert loaded.model_card_["schema"]["categorical"]
    # A card written before the columns' order was kept names them, in another order: none.
    schema = loaded.model_card_["schema"]
    loaded.model_card_["schema"] = {k: v for k, v in schema.items() if k != "inputs"}
    assert loaded.n_features_in_ == X.shape[1] and not hasattr(loaded, "feature_names_in_")


def test_a_model_saved_by_another_version_loads_with_a_warning(result, hepatitis, tmp_path):
    X, _ = hepatitis
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # this version's own file: no warning
        loaded = autoimb.load(result.save(tmp_path / "model.skops"))
    loaded.model_card_["autoimb_version"] = "0.0.1"
    older = autoimb.export.save(loaded, tmp_path / "older.skops")
    with pytest.warns(UserWarning, match=r"saved by autoimb 0\.0\.1, and this is autoimb"):
        again = autoimb.load(older)
    np.testing.assert_array_equal(again.predict(X), loaded.predict(X))


def test_a_model_saved_with_a_newer_library_than_here_is_refused(result, hepatitis, tmp_path):
    """An XGBoost model saved with 3.2 and read with 2.1 moved probabilities by up to 0.47,
    silently; only the libraries the model holds objects of are compared."""
    from autoimb.library_versions import MODEL_LIBRARIES

    loaded = autoimb.load(result.save(tmp_path / "model.skops"))
    used = modules_in(loaded)
    assert "autoimb" in used
    holds = [name for name, module in MODEL_LIBRARIES.items() if module in used]
    spare = [name for name, module in MODEL_LIBRARIES.items() if module not in used]
    assert holds and spare
    versions = dict(loaded.model_card_["versions"])
    loaded.model_card_["versions"] = {**versions, holds[0]: "99.1.0"}
    newer = autoimb.export.save(loaded, tmp_path / "newer.skops")
    with pytest.raises(AutoImbError, match=rf"saved with {holds[0]} 99\.1\.0 \(here ") as err:
        autoimb.load(newer)
    assert f"pip install '{holds[0]}>=99.1.0'" in str(err.value)
    loaded.model_card_["versions"] = {**versions, spare[0]: "99.1.0", holds[0]: "0.1"}
    autoimb.load(autoimb.export.save(loaded, tmp_path / "unused.skops"))  # nothing it holds
    autoimb.load(autoimb.export.save(loaded, tmp_path / "unused.joblib"), trust=True)  # nor so


def test_the_model_card_names_the_positive_class_by_its_label(small_binary, tmp_path) -> None:
    """The label, not its class code: "defect" sorts first, so its code is 0."""
    X, y = small_binary
    labels = y.map({0: "normal", 1: "defect"})
    found = autoimb.search(X, labels, metric="f1", n_trials=1, space="fast", random_state=0)
    card = autoimb.load(found.save(tmp_path / "m.skops")).model_card_
    assert card["decision"]["pos_label"] == "defect" == card["positive_class"]
    assert found.report()["decision"]["pos_label"] == "defect"
    assert Winner.from_card(card).decision == found.decision


def test_loaded_model_checks_new_data(result, hepatitis, tmp_path) -> None:
    X, _ = hepatitis
    loaded = autoimb.load(result.save(tmp_path / "model.skops"))
    with pytest.raises(SchemaError, match="lacks 1 column"):
        loaded.predict(X.drop(columns=["x0"]))
    # Its yes/no columns' values as training had them; written otherwise, they are warned of.
    column = loaded.model_card_["schema"]["categorical"][0]
    assert loaded.model_card_["schema"]["categories"][column] == ["no", "yes"]
    with pytest.warns(
        UserWarning, match=rf"column '{column}': \d+% of its values were never seen.*letter case"
    ):
        loaded.predict(X.assign(**{column: X[column].str.upper()}))
    with pytest.warns(UserWarning, match=r"never seen.*but for spaces around them"):
        loaded.predict(X.assign(**{column: X[column].str.pad(8, side="right")}))
    with pytest.raises(AutoImbError, match="duplicated column names"):  # as fit refuses them
        loaded.predict(pd.concat([X, X[["x0"]]], axis=1))


def test_saved_pipeline_holds_no_sampler(tmp_path, small_binary) -> None:
    X, y = small_binary
    data = validate(X, y)
    config = {"resampler": {"name": "smote"}, "model": {"name": "lightgbm", "n_estimators": 10}}
    pipe = StrategyPipeline(config, data.schema(), random_state=0).fit(data.X, data.y)
    served = ThresholdedClassifier(pipe, decision_threshold=0.5, classes=data.classes)
    served.model_card_ = {}
    path = save(served, tmp_path / "m.skops")
    types = sio.get_untrusted_types(file=path)
    assert not any("SMOTE" in t or "NearestNeighbors" in t or "KDTree" in t for t in types)


COMPONENTS = [(stage, name) for stage, names in REGISTRY.items() for name in names]


def _save_served(pipe: StrategyPipeline, data, config: dict, folder) -> Path:
    """The pipeline served as a search serves it (threshold, classes, model card), saved."""
    served = ThresholdedClassifier(pipe, decision_threshold=0.5, classes=data.classes)
    served.model_card_ = {"config": config}
    return save(served, folder / "m.skops")


@pytest.mark.parametrize("fitted", ["refit", "in a trial"])
@pytest.mark.parametrize(("stage", "name"), COMPONENTS, ids=[f"{s}-{n}" for s, n in COMPONENTS])
def test_every_component_saves_with_trusted_types_only(
    stage, name, fitted, tmp_path, small_binary
) -> None:
    """A refit, and a trial's fold model (fitted under the trial's deadline, with the search's
    share of members), which is served when the refit does not fit in the budget."""
    component = REGISTRY[stage][name]
    if component.requires == "torch":
        pytest.importorskip("torch")
    X, y = small_binary
    data = validate(X, y)
    model = {"name": name, "n_estimators": 5} if stage == "model" else {"name": "lightgbm"}
    config = {"model": {"n_estimators": 5, **model}}
    if stage != "model":
        config[stage] = {"name": name}
    if fitted == "refit":
        pipe = StrategyPipeline(config, data.schema(), random_state=0).fit(data.X, data.y)
    else:
        pipe = StrategyPipeline(
            config, data.schema(), random_state=0, member_share=SEARCH_MEMBER_SHARE
        )
        preprocessor = pipe.make_preprocessor().fit(data.X)
        Xt = preprocessor.transform(data.X)
        pipe.fit_transformed(preprocessor, Xt, data.y, deadline=time.monotonic() + 600)
    path = _save_served(pipe, data, config, tmp_path)
    assert untrusted_types(path) == []
    np.testing.assert_allclose(load(path).predict_proba(X), pipe.predict_proba(X))
    used = modules_in(load(path))  # what the libraries' versions are checked for
    assert {"autoimb", "numpy"} <= used
    if name in ("lightgbm", "xgboost"):
        assert name in used


@pytest.mark.parametrize("model", ["lightgbm", "xgboost"])
def test_category_splits_predict_the_same_after_loading(model, hepatitis, tmp_path) -> None:
    """The boosted models split hepatitis's text columns natively; the saved model keeps those
    splits and the code of categories it never saw."""
    X, y = hepatitis
    data = validate(X, y)
    config = {"model": {"name": model}}
    pipe = StrategyPipeline(config, data.schema(), random_state=0).fit(data.X, data.y)
    loaded = load(_save_served(pipe, data, config, tmp_path))
    new = X.copy()
    new[data.categorical[0]] = "a category never seen"
    for rows in (X, new):
        np.testing.assert_allclose(loaded.predict_proba(rows), pipe.predict_proba(rows))
    assert not np.allclose(pipe.predict_proba(new), pipe.predict_proba(X))


def test_a_model_that_predicts_from_training_rows_says_so_on_its_card_and_when_saved(
    result, small_binary, tmp_path
) -> None:
    """The local outlier factor keeps the majority rows it was fitted on: whoever has the file
    has them. A forest keeps none, and saves without a word."""
    X, y = small_binary
    space = tmp_path / "detector.yaml"
    space.write_text("name: detector\nmodel:\n  local_outlier_factor: {}\n")
    found = autoimb.search(X, y, metric="f1", n_trials=1, space=space, random_state=0)
    assert found.model_card()["keeps_training_rows"] == ["local_outlier_factor"]
    with pytest.warns(UserWarning, match=r"holds rows of the training data.*local_outlier_factor"):
        path = found.save(tmp_path / "lof.skops")
    model = load(path).estimator.model_
    rows = model.scaler_.inverse_transform(model.detector_._fit_X)
    majority = X.to_numpy()[(y == y.value_counts().idxmax()).to_numpy()]
    np.testing.assert_allclose(rows, majority, atol=1e-9)
    assert result.model_card()["keeps_training_rows"] == []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result.save(tmp_path / "forest.skops")


@pytest.mark.parametrize("stage", ["model", "ensemble"])
def test_the_components_that_keep_rows_are_found_in_an_ensemble_too(stage, small_binary) -> None:
    """The one-class SVM keeps its support vectors alone, voting beside a partner, and as one
    pipeline of an ensemble of them."""
    data = validate(*small_binary)
    config = {"model": {"name": "one_class_svm"}}
    if stage == "ensemble":
        config["ensemble"] = {"name": "soft_voting", "partner": "logistic_regression"}
    pipe = StrategyPipeline(config, data.schema(), random_state=0).fit(data.X, data.y)
    forest = StrategyPipeline({"model": {"name": "extra_trees", "n_estimators": 5}}, data.schema())
    forest.fit(data.X, data.y)
    assert rows_kept_by(pipe) == ["one_class_svm"]
    assert rows_kept_by(EnsembleClassifier([forest, pipe], [0.5, 0.5])) == ["one_class_svm"]
    assert rows_kept_by(forest) == []


def test_a_crafted_file_is_refused(tmp_path) -> None:
    path = tmp_path / "evil.skops"
    sio.dump({"payload": os.system}, path)
    with pytest.raises(UntrustedModelError, match="types autoimb does not write"):
        load(path)


def test_a_file_of_an_earlier_autoimb_whose_types_moved_is_named_so(result, tmp_path) -> None:
    """Its types (``autoimb.threshold.ThresholdedClassifier``, since moved) were taken for a
    sign of tampering."""
    saved = result.save(tmp_path / "model.skops")
    moved = tmp_path / "earlier.skops"
    with zipfile.ZipFile(saved) as old, zipfile.ZipFile(moved, "w") as new:
        for item in old.infolist():
            content = old.read(item.filename)
            if item.filename == "schema.json":
                content = content.replace(b'"autoimb.posthoc.threshold"', b'"autoimb.threshold"')
            new.writestr(item, content)
    with pytest.raises(UntrustedModelError, match=r"saved by an earlier autoimb") as err:
        load(moved)
    assert "autoimb.threshold.ThresholdedClassifier" in str(err.value)
    assert "tampered" not in str(err.value)


def _with_threshold(path: Path, threshold: float, out: Path) -> Path:
    """The saved file with the decision threshold inside its archive rewritten, as an edit of
    the file leaves it; every other member as it was."""

    def rewrite(node: object) -> bool:
        if isinstance(node, dict):
            if "decision_threshold" in node:  # the served classifier's own attributes
                node["decision_threshold"]["content"] = str(threshold)
                return True
            return any(rewrite(value) for value in node.values())
        return isinstance(node, list) and any(rewrite(value) for value in node)

    with zipfile.ZipFile(path) as archive, zipfile.ZipFile(out, "w") as edited:
        for member in archive.infolist():
            data = archive.read(member)
            if member.filename == "schema.json":
                schema = json.loads(data)
                assert rewrite(schema)
                data = json.dumps(schema).encode()
            edited.writestr(member, data)
    return out


def test_a_threshold_changed_inside_the_file_is_refused(result, hepatitis, tmp_path) -> None:
    """Its card would state one threshold while predict applied another."""
    X, _ = hepatitis
    saved = result.save(tmp_path / "model.skops")
    threshold = float(result.best_pipeline.decision_threshold)
    as_saved = load(_with_threshold(saved, threshold, tmp_path / "same.skops"))
    np.testing.assert_array_equal(as_saved.predict(X), result.predict(X))
    changed = _with_threshold(saved, threshold / 2, tmp_path / "changed.skops")
    with pytest.raises(
        AutoImbError, match=r"card states the probability threshold .*changed after it was saved"
    ):
        load(changed)
    # A threshold set by hand before saving is the file's own: its card states it.
    edited = load(saved).set_params(decision_threshold=threshold / 2)
    with pytest.warns(UserWarning, match="decision rule was set after the search"):
        save(edited, tmp_path / "edited.skops")
    reloaded = load(tmp_path / "edited.skops")
    assert reloaded.model_card_["decision"]["threshold"] == pytest.approx(threshold / 2)
    np.testing.assert_array_equal(reloaded.predict(X), edited.predict(X))


def test_a_positive_class_set_after_the_search_is_refused(result, hepatitis, tmp_path) -> None:
    """The threshold and the calibration were tuned for the card's positive class: another
    changed the predictions and the probabilities without a word, and saved and loaded so."""
    X, y = hepatitis
    served = load(result.save(tmp_path / "model.skops"))
    expected = served.predict(X)
    tuned = served.pos_label
    served.set_params(pos_label=1 - tuned)
    with pytest.raises(AutoImbError, match=rf"tuned for .*set pos_label back to {tuned}"):
        served.predict(X)
    with pytest.raises(AutoImbError, match="tuned for"):
        save(served, tmp_path / "other.skops")
    assert not (tmp_path / "other.skops").exists()
    served.set_params(pos_label=str(served.classes_[tuned]))  # a label, where a code is asked
    with pytest.raises(AutoImbError, match=r"index in classes_, from 0 to 1; got"):
        served.predict_proba(X)
    np.testing.assert_array_equal(served.set_params(pos_label=tuned).predict(X), expected)
    with pytest.raises(AutoImbError, match="tuned for") as refused:
        served.set_params(pos_label=1 - tuned).predict(X)
    assert "np." not in str(refused.value)  # the labels as they are written
    # Refitted in place on the same classes written otherwise, it predicts: the card's
    # positive class is no class of it now, so no rule of the search is broken by its code.
    relabelled = np.where(np.asarray(y) == served.classes_[tuned], "yes", "no")
    served.set_params(pos_label=1).fit(X, relabelled)
    assert set(served.predict(X)) <= {"yes", "no"}


def test_a_copy_without_its_card_is_not_saved_and_a_refit_keeps_the_rules_classes(
    result, hepatitis, small_binary, tmp_path
) -> None:
    """clone() leaves the model card behind, and load refuses a file without one: the save
    that wrote it now refuses first. A rule for two classes cannot be refitted on three."""
    from sklearn.base import clone

    X, y = hepatitis
    copy = clone(result.best_pipeline).fit(X, y)
    assert not hasattr(copy, "n_features_in_") and not hasattr(copy, "feature_names_in_")
    with pytest.raises(AutoImbError, match=r"carries no model card.*clone\(\) leaves"):
        save(copy, tmp_path / "copy.skops")
    assert not (tmp_path / "copy.skops").exists()
    three = np.arange(len(y)) % 3
    with pytest.raises(AutoImbError, match=r"y holds 3 classes, and this model's decision rule"):
        clone(result.best_pipeline).fit(X, three)


def test_a_duration_column_is_read_as_durations_at_predict(tmp_path) -> None:
    """Durations train as seconds: numbers at predict (hours, say) were read as seconds
    without a word, and the text a CSV holds them as was refused as not numeric."""
    rng = np.random.default_rng(6)
    y = (rng.random(300) < 0.2).astype(int)
    hours = np.where(y == 1, rng.integers(100, 200, 300), rng.integers(0, 100, 300))
    X = pd.DataFrame({"wait": pd.to_timedelta(hours, unit="h"), "noise": rng.normal(size=300)})
    found = autoimb.search(X, y, n_trials=1, space="fast", cv=3, random_state=0, ensemble=False)
    served = load(found.save(tmp_path / "m.skops"))
    assert served.model_card_["schema"]["durations"] == ["wait"]
    gaps = X.assign(wait=X["wait"].where(np.arange(300) % 50 != 5))  # NaT, written "NaT"
    as_text = gaps.assign(wait=gaps["wait"].astype(str).where(np.arange(300) != 6, ""))
    expected = served.predict_proba(gaps.assign(wait=gaps["wait"].where(np.arange(300) != 6)))
    np.testing.assert_array_equal(served.predict_proba(as_text), expected)
    with pytest.raises(AutoImbError, match="duplicated column names"):  # before any duration
        served.predict(pd.concat([X, X[["wait"]]], axis=1))
    for numbers in (hours.astype(float), as_text["wait"].where(np.arange(300) != 7, "5")):
        with pytest.raises(SchemaError, match=r"'wait' held durations .* names no unit"):
            served.predict(X.assign(wait=numbers))


def test_pickles_need_explicit_trust(result, tmp_path) -> None:
    path = tmp_path / "model.joblib"
    result.save(path)
    with pytest.raises(UntrustedModelError, match="trust=True"):
        load(path)
    assert isinstance(load(path, trust=True), ThresholdedClassifier)
    assert isinstance(joblib.load(path), ThresholdedClassifier)
    upper = result.save(tmp_path / "model.JOBLIB")  # the suffix in any case
    with pytest.raises(UntrustedModelError, match="trust=True"):
        load(upper)
    with pytest.raises(AutoImbError, match="is a folder; give the model file in it"):
        load(tmp_path)


def test_trusted_types_are_explicit_names() -> None:
    assert all("." in name and "*" not in name for name in TRUSTED_TYPES)
    assert len(set(TRUSTED_TYPES)) == len(TRUSTED_TYPES)


@pytest.mark.parametrize("name", OWN_TYPES)
def test_own_trusted_names_resolve_to_their_classes(name) -> None:
    module, _, qualname = name.rpartition(".")
    cls = getattr(importlib.import_module(module), qualname)
    assert isinstance(cls, type) and f"{cls.__module__}.{cls.__qualname__}" == name


def test_predicting_with_a_loaded_forest_imports_no_search_machinery(small_binary, tmp_path):
    """`autoimb predict` starts faster when loading a model skips optuna and the samplers."""
    X, y = small_binary
    data = validate(X, y)
    config = {"resampler": {"name": "smote"}, "model": {"name": "random_forest"}}
    pipe = StrategyPipeline(config, data.schema(), random_state=0).fit(data.X, data.y)
    model = ThresholdedClassifier(pipe, decision_threshold=0.5, classes=data.classes)
    model.model_card_ = {}
    path = save(model, tmp_path / "m.skops")
    X.head(20).to_csv(tmp_path / "x.csv", index=False)
    code = (
        "import sys, autoimb.export as e, pandas as pd\n"
        f"m = e.load({str(path)!r})\n"
        f"m.predict(pd.read_csv({str(tmp_path / 'x.csv')!r}))\n"
        "print(sorted(n for n in ('optuna', 'imblearn', 'autoimb.stages') if n in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_a_model_saved_into_a_new_folder_creates_it(result, hepatitis, tmp_path) -> None:
    X, _ = hepatitis
    path = result.save(tmp_path / "models" / "2026" / "model.skops")
    assert len(autoimb.load(path).predict(X.head(3))) == 3


def test_refuses_to_overwrite_when_asked(result, tmp_path) -> None:
    path = result.save(tmp_path / "model.skops")
    with pytest.raises(autoimb.AutoImbError, match=r"already exists.*pass overwrite=True"):
        result.save(path, overwrite=False)


def test_a_save_names_what_a_model_file_is_and_never_leaves_half_of_one(
    result, tmp_path, monkeypatch
) -> None:
    """A folder or another format is refused up front; a save cut short (here: the disk
    fills) leaves the model it was replacing whole, and nothing beside it."""
    with pytest.raises(AutoImbError, match=r"is a folder; .*model\.skops"):
        result.save(tmp_path)
    with pytest.raises(AutoImbError, match=r"saved as \.skops .* or as a pickle"):
        result.save(tmp_path / "model.json")
    path = result.save(tmp_path / "model.skops")
    before = path.read_bytes()

    def full_disk(model, target, **kwargs):
        Path(target).write_bytes(b"PK half a model")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(sio, "dump", full_disk)
    with pytest.raises(OSError, match="No space left"):
        result.save(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.skops"]


def test_a_pickled_estimator_is_pointed_to_the_model_file_it_holds(small_binary, tmp_path):
    X, y = small_binary
    clf = autoimb.AutoImbClassifier(n_trials=1, space="fast", random_state=0).fit(X, y)
    joblib.dump(clf, tmp_path / "clf.joblib")
    with pytest.raises(AutoImbError, match=r"pickled AutoImbClassifier.*clf\.result_\.save"):
        autoimb.load(tmp_path / "clf.joblib", trust=True)


@pytest.mark.parametrize(
    "foreign",
    [collections.OrderedDict(a=1), LogisticRegression()],
    ids=["a-dict", "an-unfitted-estimator"],
)
def test_a_file_that_holds_no_autoimb_model_is_refused(foreign, tmp_path) -> None:
    path = tmp_path / "other.skops"
    sio.dump(foreign, path)
    with pytest.raises(AutoImbError, match="does not hold a fitted autoimb model"):
        load(path)


def test_trust_on_a_file_that_is_no_pickle_is_a_clear_error(tmp_path) -> None:
    path = tmp_path / "model.joblib"
    path.write_text("not a pickle")
    with pytest.raises(AutoImbError, match=r"not a readable joblib/pickle file \(\w+Error: "):
        load(path, trust=True)


def test_schema_is_written_compact_and_skops_is_left_as_it_was(result, tmp_path) -> None:
    import skops.io._persist as persist

    path = save(result.best_pipeline, tmp_path / "model.skops")
    schema = zipfile.ZipFile(path).read("schema.json")
    assert b"\n" not in schema
    assert persist.json is json
    # skops' own reader takes it like any file it wrote.
    assert sio.load(path, trusted=sio.get_untrusted_types(file=path)) is not None


def test_saving_looks_each_array_up_by_name_and_writes_a_shared_one_once(tmp_path, monkeypatch):
    """skops asks before each array whether it was written; answered by listing every name
    so far, saving a forest of thousands of arrays was quadratic in them."""
    import skops.io._persist as persist
    from sklearn.ensemble import ExtraTreesClassifier

    X, y = autoimb.datasets.load("ecoli1", return_X_y=True)
    forest = ExtraTreesClassifier(n_estimators=30, random_state=0).fit(X, y)
    shared = np.arange(100.0)
    forest.shared_ = (shared, shared)
    listed = []
    names = zipfile.ZipFile.namelist
    monkeypatch.setattr(zipfile.ZipFile, "namelist", lambda z: listed.append(1) or names(z))
    path = save(forest, tmp_path / "forest.skops")
    assert not listed
    assert persist.ZipFile is zipfile.ZipFile and persist.json is json
    monkeypatch.undo()
    plain = tmp_path / "plain.skops"
    sio.dump(forest, plain)
    written = zipfile.ZipFile(path).namelist()
    assert len(written) == len(zipfile.ZipFile(plain).namelist()) == len(set(written))
    loaded = sio.load(path, trusted=sio.get_untrusted_types(file=path))
    np.testing.assert_array_equal(loaded.predict_proba(X), forest.predict_proba(X))
    np.testing.assert_array_equal(loaded.shared_[1], shared)


def test_a_save_or_report_where_nothing_can_be_written_names_the_file_asked_for(result):
    with pytest.raises(AutoImbError, match=r"cannot write /proc/m\.skops \("):
        result.save("/proc/m.skops")
    with pytest.raises(AutoImbError, match=r"a report is an HTML page"):
        result.report_html("/tmp/report.pdf")
