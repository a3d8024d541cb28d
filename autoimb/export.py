"""Save and load fitted pipelines; loading never runs code from the file.

The default format is skops: loading it builds only the types named in :data:`TRUSTED_TYPES`,
the ones autoimb itself writes; a file holding anything else is refused. joblib (pickle) files
run arbitrary code when loaded, so they are read only with an explicit ``trust=True``.

A saved pipeline is inference-only: samplers act in ``fit`` and are never kept on the fitted
pipeline, so no training row of a SMOTE neighbour tree leaves with the model. A model that
predicts from training rows keeps them, though: the local outlier factor the majority rows it
was fitted on, the one-class SVM its support vectors, both standardised, which the saved scaler
undoes (the components flagged ``keeps_rows``). The model card names the ones a model holds
(``keeps_training_rows``), and a save warns of them.
"""

from __future__ import annotations

import json
import sys
import types
import warnings
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import joblib
import numpy as np

from autoimb._checks import check_flag, check_path
from autoimb._warnings import user_stacklevel
from autoimb.atomic import write_atomic
from autoimb.exceptions import AutoImbError, UntrustedModelError
from autoimb.library_versions import modules_in, older_here, older_here_message
from autoimb.posthoc.threshold import ThresholdedClassifier
from autoimb.redact import shown

PICKLE_SUFFIXES = (".joblib", ".pkl", ".pickle")
MODEL_FORMATS = (".skops", *PICKLE_SUFFIXES)  # the pickles need trust to load

# autoimb's own types a saved pipeline may hold, by name: loading imports only the modules a
# file names, so `autoimb predict` of a forest never imports the search (optuna, the samplers).
# A test checks that each name still resolves to its class.
OWN_TYPES: tuple[str, ...] = (
    "autoimb.data.preprocess.Preprocessor",
    "autoimb.engine.pipeline.StrategyPipeline",
    "autoimb.posthoc.ensemble.EnsembleClassifier",
    "autoimb.posthoc.threshold.ThresholdedClassifier",
    "autoimb.stages.anomaly.detectors.AnomalyDetectorClassifier",
    "autoimb.stages.anomaly.detectors.AnomalyScoreFeatures",
    "autoimb.stages.deep.mlp.TabularMLPClassifier",
    "autoimb.stages.ensembles.combined.BaggedClassifier",
    "autoimb.stages.ensembles.combined.CombinedClassifier",
    "autoimb.stages.ensembles.combined.StackedClassifier",
    "autoimb.stages.hybrid.models.DeepTreeStackingClassifier",
    "autoimb.stages.hybrid.models.LeafEmbeddingClassifier",
    "autoimb.stages.hybrid.models.NeuralEmbeddingBoostClassifier",
)

# Every type a saved autoimb pipeline may hold beyond skops' own defaults (builtins, numpy,
# scikit-learn's estimators). Kept explicit: a test saves a pipeline of every registered
# model and checks that what skops reports is covered here, and nothing else is loaded.
TRUSTED_TYPES: tuple[str, ...] = (
    *OWN_TYPES,
    "builtins.slice",
    "collections.OrderedDict",
    "imblearn.ensemble._bagging.BalancedBaggingClassifier",
    "imblearn.ensemble._easy_ensemble.EasyEnsembleClassifier",
    "imblearn.ensemble._forest.BalancedRandomForestClassifier",
    "imblearn.ensemble._weight_boosting.RUSBoostClassifier",
    "imblearn.pipeline.Pipeline",
    "imblearn.under_sampling._prototype_selection._random_under_sampler.RandomUnderSampler",
    "lightgbm.basic.Booster",
    "lightgbm.sklearn.LGBMClassifier",
    "numpy.float32",
    "sklearn.metrics._dist_metrics.EuclideanDistance64",
    "sklearn.neighbors._ball_tree.BallTree",
    "sklearn.neighbors._kd_tree.KDTree",
    "sklearn.tree._tree.Tree",
    "numpy.float64",
    "numpy.int64",
    "xgboost.core.Booster",
    "xgboost.sklearn.XGBClassifier",
)


def _skops() -> Any:
    """``skops.io``, imported without importing torch.

    skops builds its list of trusted types by importing every scikit-learn module, and
    scikit-learn's array-API shim for torch imports torch, seconds at every start of `autoimb
    predict`, though the shim holds no estimator. While skops imports, a stand-in takes the
    shim's place; it is removed afterwards, so any real use of the shim imports it as usual.
    """
    if "skops.io" in sys.modules:
        return sys.modules["skops.io"]
    shim = "sklearn.externals.array_api_compat.torch"
    stand_in = shim not in sys.modules
    if stand_in:
        sys.modules[shim] = types.ModuleType(shim)
    try:
        import skops.io
    finally:
        if stand_in:
            del sys.modules[shim]
    return skops.io


def save(model: Any, path: str | Path, *, overwrite: bool = True) -> Path:
    """Write ``model`` to ``path`` (skops, or joblib when the suffix asks for it), whole or
    not at all: an interrupted save leaves the file it replaces as it was."""
    path = check_path("path", path)
    overwrite = check_flag("overwrite", overwrite)  # "false" is true: it would replace the file
    if path.is_dir():
        raise AutoImbError(
            f"{path} is a folder; give the model file's path in it, such as {path / 'model.skops'}."
        )
    suffix = path.suffix.lower()
    if suffix not in MODEL_FORMATS:
        raise AutoImbError(
            f"{path}: a model is saved as .skops (the safe format) or as a pickle (.joblib, "
            ".pkl, .pickle, which only a trusted load opens); name the file with one of these."
        )
    if path.exists() and not overwrite:
        raise AutoImbError(
            f"{path} already exists; choose another path, or pass overwrite=True to replace it."
        )
    if isinstance(model, ThresholdedClassifier):
        _refuse_unloadable(model, path)
    if (differs := _rule_differs(model)) is not None:
        _restate_rule(model, differs)
    written = write_atomic(path, lambda temporary: _dump(model, temporary, suffix))
    card = getattr(model, "model_card_", None)
    if kept := (card.get("keeps_training_rows") if isinstance(card, dict) else None):
        warnings.warn(
            f"{path} holds rows of the training data (scaled): {', '.join(kept)} predicts from "
            "them. Share the file only where the training data may go.",
            UserWarning,
            stacklevel=user_stacklevel(),
        )
    return written


def _refuse_unloadable(model: ThresholdedClassifier, path: Path) -> None:
    """What :func:`load` would refuse is not written: a pipeline without its model card (a
    copy made by ``clone``, as cross_val_score's and GridSearchCV's are), or whose positive
    class is not the one its rule was tuned for (``model.decision`` says why)."""
    if not isinstance(getattr(model, "model_card_", None), dict):
        raise AutoImbError(
            f"{path}: this pipeline carries no model card, and autoimb.load refuses a model "
            "without one. clone() leaves the card behind (cross_val_score and GridSearchCV "
            "fit clones); save the pipeline a search returned (result.save), refitted in "
            "place with best_pipeline.fit if need be."
        )
    model.decision  # noqa: B018 - raises where pos_label was set to another class


def _dump(model: Any, path: Path, suffix: str) -> None:
    if suffix in PICKLE_SUFFIXES:
        joblib.dump(model, path, compress=3)
        return
    # Trees' node arrays compress about four-fold at the fastest level (five-fold at the
    # default, for twice the time), and reading them back costs no more.
    skops_io = _skops()
    with _fast_writer():
        skops_io.dump(model, path, compression=zipfile.ZIP_DEFLATED, compresslevel=1)


class _IndexedZip(zipfile.ZipFile):
    """A zip archive whose names are looked up in its own index.

    skops asks for the list of names written so far before it writes each array (so that an
    array met twice is written once); built anew each time, that list made saving quadratic
    in the arrays: 3.8 of the 5.6 s that a forest of 1,000 balanced trees took."""

    def namelist(self) -> Any:
        return self.NameToInfo.keys()


class _CompactJson:
    """The json module as skops' writer sees it, writing without indentation."""

    def __getattr__(self, name: str) -> Any:
        return getattr(json, name)

    @staticmethod
    def dumps(obj: Any, **kwargs: Any) -> str:
        kwargs.pop("indent", None)
        return json.dumps(obj, **kwargs)


@contextmanager
def _fast_writer() -> Iterator[None]:
    """skops' writer with an :class:`_IndexedZip` and a schema written without indentation.

    ``indent=2`` sends json to its pure-Python encoder: 1.3 of the 3 s that saving an
    ensemble of forests took (1,000 trees, a 34 MB schema), against 0.1 s without it. The
    file differs only in whitespace. Where skops' writer is not laid out as expected, it is
    left as it is."""
    persist = sys.modules.get("skops.io._persist")
    if (
        persist is None
        or getattr(persist, "json", None) is not json
        or getattr(persist, "ZipFile", None) is not zipfile.ZipFile
    ):
        yield
        return
    persist.json, persist.ZipFile = _CompactJson(), _IndexedZip
    try:
        yield
    finally:
        persist.json, persist.ZipFile = json, zipfile.ZipFile


def untrusted_types(path: str | Path) -> list[str]:
    """Types in a skops file that autoimb does not write."""
    return _foreign(_skops().get_untrusted_types(file=path))


def _foreign(found: list[str]) -> list[str]:
    return sorted(set(found) - set(TRUSTED_TYPES))


def is_study_journal(path: str | Path) -> bool:
    """Whether a file is an Optuna journal (a study, as ``MODEL.optuna.log`` holds one): each
    line a JSON operation. Told apart without Optuna, which a prediction does not import."""
    try:
        with open(path, "rb") as handle:
            first = json.loads(handle.readline(1 << 16))
    except (OSError, ValueError):
        return False
    return isinstance(first, dict) and "op_code" in first


def load(path: str | Path, *, trust: bool = False) -> Any:
    """Load a pipeline saved by :meth:`SearchResult.save`.

    Parameters
    ----------
    trust
        Needed for joblib/pickle files, which can run any code when loaded: only load those
        from a source you trust.
    """
    given = path  # a database URL given for a model is shown without its password
    path = check_path("path", path)
    # A text "no" from a config is true by Python's truth, and would open the pickle.
    trust = check_flag("trust", trust)
    if path.is_dir():
        raise AutoImbError(f"{path} is a folder; give the model file in it (a .skops file).")
    if not path.is_file():
        raise AutoImbError(f"model file {shown(given)} does not exist.")
    if path.suffix.lower() in PICKLE_SUFFIXES:
        if not trust:
            raise UntrustedModelError(
                f"{path} is a pickle (joblib) file, and loading one can run arbitrary code. "
                "Load it with trust=True (CLI: --trust) only if you trust its source, or use "
                "the default .skops format."
            )
        try:
            return _checked(joblib.load(path), path)
        except AutoImbError:
            raise
        except Exception as exc:
            raise AutoImbError(
                f"{path} is not a readable joblib/pickle file ({type(exc).__name__}: {exc})."
            ) from exc
    data = path.read_bytes()  # read once: the types checked are the types loaded
    sio = _skops()
    try:
        # skops refuses the file before building anything if it holds a type not listed, so
        # one pass checks and loads; listing the file's types first would walk it twice.
        model = sio.loads(data, trusted=list(TRUSTED_TYPES))
    except sio.exceptions.UntrustedTypesFoundException:
        extra = _foreign(sio.get_untrusted_types(data=data))
        if all(name.startswith("autoimb.") for name in extra):  # types it has since moved
            raise UntrustedModelError(
                f"{path} was saved by an earlier autoimb, whose types {extra} this version no "
                "longer has; it was not loaded. Search again with this version, or load it "
                "with the autoimb that saved it."
            ) from None
        raise UntrustedModelError(
            f"{path} holds types autoimb does not write and will not load: {extra}. "
            "The file may have been tampered with; it was not loaded."
        ) from None
    except Exception as exc:
        if is_study_journal(path):
            raise AutoImbError(
                f"{path} is a search's study (its Optuna journal file), not a model; give the "
                "model file the search saved (.skops) instead."
            ) from None
        raise AutoImbError(f"{path} is not a readable skops model file ({exc}).") from exc
    return _checked(model, path)


def _checked(model: Any, path: Path) -> Any:
    """Only a fitted autoimb pipeline with its model card is served, by libraries no older
    than those that saved it (of those whose objects it holds)."""
    fitted = isinstance(model, ThresholdedClassifier) and hasattr(model, "classes_")
    saved_by = {"SearchResult": "result.save", "AutoImbClassifier": "clf.result_.save"}
    if (kind := type(model).__name__) in saved_by:
        raise AutoImbError(
            f"{path} holds a pickled {kind}, which joblib.load reads back as it is; "
            "autoimb.load reads the model files autoimb writes: save one with "
            f"{saved_by[kind]}('model.skops') (the safe format)."
        )
    if not fitted or not isinstance(getattr(model, "model_card_", None), dict):
        raise AutoImbError(
            f"{path} does not hold a fitted autoimb model (it holds a "
            f"{type(model).__name__}); load a file written by `autoimb search` or "
            "SearchResult.save."
        )
    if older := older_here(model.model_card_.get("versions"), modules_in(model)):
        raise AutoImbError(older_here_message(path, older))
    if (differs := _rule_differs(model)) is not None:
        raise AutoImbError(
            f"{path}: {differs}, so the file was changed after it was saved; it was not loaded. "
            "Use the file as autoimb saved it, or search again."
        )
    from autoimb import __version__

    saved_by_version = model.model_card_.get("autoimb_version")
    if saved_by_version is not None and saved_by_version != __version__:
        warnings.warn(
            f"{path} was saved by autoimb {saved_by_version}, and this is autoimb "
            f"{__version__}: it loads, but its predictions may differ from those the search "
            "measured. To be sure, search again (or resume the study) with this version.",
            UserWarning,
            stacklevel=user_stacklevel(),
        )
    return model


def _rule_differs(model: Any) -> str | None:
    """How the decision rule a model applies differs from the one its card states, if it does:
    a threshold changed inside a file would otherwise be applied under the card's old one. What
    a card does not state (a model saved before it was recorded) is not compared."""
    card = getattr(model, "model_card_", None)
    if not isinstance(model, ThresholdedClassifier) or not isinstance(card, dict):
        return None
    rule = card.get("decision") if isinstance(card.get("decision"), dict) else {}
    stated = {
        # The rule's own parts first: a change names what was set (``decision_threshold``).
        "decision threshold": rule.get("threshold", _UNSTATED),
        "class scale": rule.get("class_scale", _UNSTATED),
        "probability threshold": card.get("probability_threshold", _UNSTATED),
    }
    try:
        applied = {
            "probability threshold": model.probability_threshold,
            "decision threshold": model.decision_threshold,
            "class scale": model.class_scale,
        }
        for what, value in stated.items():
            if value is not _UNSTATED and not _same(value, applied[what]):
                return f"its model card states the {what} {value}, but it applies {applied[what]}"
    except (AttributeError, KeyError, TypeError, ValueError):  # a calibration not autoimb's
        return "its decision rule cannot be read"
    return None


_UNSTATED = object()


def _restate_rule(model: Any, differs: str) -> None:
    """A rule set after the search (``set_params(decision_threshold=...)``) is the one the file
    applies: the card states it, and says that its scores were measured with the search's."""
    card = model.model_card_
    card["decision"] = model.decision.labelled(model.classes_)
    card["probability_threshold"] = model.probability_threshold
    note = (
        f"The decision rule was set after the search ({differs.removeprefix('its ')}); the "
        "card's scores were measured with the search's rule."
    )
    card["notes"] = [*card.get("notes", []), note]
    warnings.warn(note, UserWarning, stacklevel=user_stacklevel())


def _same(stated: Any, applied: Any) -> bool:
    """Equal but for float noise (numbers, or a class scale's list of them); None only to None."""
    if stated is None or applied is None:
        return stated is None and applied is None
    a, b = np.asarray(stated, dtype=float), np.asarray(applied, dtype=float)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=1e-9, atol=1e-12))


def model_card(model: Any) -> dict[str, Any]:
    card = getattr(model, "model_card_", None)
    if card is None:
        raise AutoImbError("this model carries no model card; was it saved by autoimb?")
    return json.loads(json.dumps(card, default=str))
