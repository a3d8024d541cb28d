"""Search-space files are checked when loaded, with the file, key and line in the message."""

from __future__ import annotations

import warnings

import optuna
import pytest

import autoimb
from autoimb._compat import TORCH_AVAILABLE
from autoimb.data.dataset import validate
from autoimb.engine.settings import SearchSettings
from autoimb.engine.space import (
    builtin_spaces,
    component_defaults,
    load_space,
    parse_space,
    shipped_space_file,
    space_difference,
)
from autoimb.engine.space_size import strategy_count
from autoimb.engine.study import first_trials
from autoimb.exceptions import SearchSpaceError
from autoimb.leaderboard import finished_trials
from autoimb.metrics.registry import get_metric
from autoimb.stages import REGISTRY, STAGES


@pytest.mark.parametrize("name", builtin_spaces())
def test_builtin_spaces_load_and_sample(name: str) -> None:
    space = load_space(name)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(20):
        config = space.sample(study.ask())
        for stage, choice in config.items():
            assert choice["name"] in REGISTRY[stage]
    assert space.describe().startswith(name)


@pytest.mark.parametrize("name", builtin_spaces())
def test_initial_strategies_run_as_named_with_nothing_else(name: str, small_binary) -> None:
    space = load_space(name)
    if name == "deep" and not TORCH_AVAILABLE:
        pytest.skip("the deep space's baselines need torch")
    X, y = small_binary
    settings = SearchSettings(metric=get_metric("f1"), space=space, warm_start=None)
    trials = first_trials(settings, validate(X, y))
    assert len(trials) == len(space.initial)
    for choice, flat in zip(space.initial, trials, strict=True):
        study = optuna.create_study()
        study.enqueue_trial(flat)
        config = space.sample(study.ask())
        for stage in STAGES:
            expected = choice.get(stage, "none")
            assert config[stage]["name"] == expected, (stage, choice)
            params = space.stages.get(stage, {}).get(expected, {})
            for param in params.values():
                assert config[stage][param.name] == param.default


def test_the_portfolio_does_not_repeat_a_baseline(small_binary) -> None:
    space = load_space("default")
    X, y = small_binary
    settings = SearchSettings(metric=get_metric("f1"), space=space, warm_start="portfolio")
    trials = first_trials(settings, validate(X, y))
    assert len(trials) > len(space.initial)
    assert len({tuple(sorted(t.items())) for t in trials}) == len(trials)


def test_default_space_names_every_core_component() -> None:
    space = load_space("default")
    for stage in ("resampler", "weighting", "model"):
        expected = {n for n, c in REGISTRY[stage].items() if c.requires is None}
        expected -= {"explicit", "one_class_svm", "local_outlier_factor"}
        assert expected <= set(space.stages[stage]), stage


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (
            "model: {lightgbmm: {}}",
            r"line 1, model.lightgbmm: unknown model .*Did you mean 'lightgbm'",
        ),
        (
            "model:\n  lightgbm:\n    num_leaves: {type: int, low: 9, high: 3}",
            r"line 3, model.lightgbm.num_leaves: `low <= high` must hold",
        ),
        (
            "model:\n  lightgbm:\n    learning_rate: {type: float, low: 0, high: 1, log: true}",
            "log range needs low > 0",
        ),
        ("model: {lightgbm: {num_leaves: {type: complex, low: 1, high: 2}}}", "'type' must be"),
        ("model: {lightgbm: {num_leaves: {choices: []}}}", "non-empty list"),
        ("model: {lightgbm: {num_leaves: {type: int, low: 2, high: 3, default: 5}}}", "outside"),
        ("model: {lightgbm: {num_leaves: {type: int, low: 2, high: 3, bogus: 1}}}", "unknown key"),
        (
            "model: {lightgbm: {}}\nresampler:\n  smote:\n    k_nieghbors: 3",
            r"line 4, resampler.smote.k_nieghbors: autoimb's resampler 'smote' has no parameter "
            r".*Did you mean 'k_neighbors'",
        ),
        # LightGBM has a max_depth; autoimb's component does not pass it on, and says so.
        (
            "model: {lightgbm: {max_depth: 3}}",
            r"autoimb's model 'lightgbm' has no parameter 'max_depth'\. It takes only these: "
            r"\[.*'num_leaves'.*\]; others of the library it wraps are not passed on",
        ),
        ("model: {lightgbm: {}}\nweighting: {balanced: {power: 2}}", "takes no parameters"),
        (
            "model: {lightgbm: {}}\nresampler:\n  random_under:\n"
            "    sampling_ratio: {type: float, low: 0.1, high: 5.0}",
            r"sampling_ratio must lie in \(0.0, 1.0\]; got 5.0",
        ),
        ("model: {xgboost: {subsample: {choices: [0.5, 1.5]}}}", r"subsample .*got 1.5"),
        ("model: {lightgbm: {n_estimators: 0}}", r"n_estimators must lie in \[1, inf\); got 0"),
        ("resampler: {smote: {}}", "names no 'model' stage"),
        ("modle: {lightgbm: {}}\nmodel: {lightgbm: {}}", "line 1: unknown key 'modle'"),
        ("model: {lightgbm: {}\n  bad: [", "malformed YAML at line"),
        ("model: {lightgbm: {}}\ninitial: [{model: xgboost}]", "not a component of this space"),
        # Values no trial can run, or that a model would quietly cut, refused at load:
        ("model: {lightgbm: {num_leaves: banana}}", "num_leaves takes whole numbers; got 'banana'"),
        ("model: {lightgbm: {num_leaves: }}", "num_leaves takes whole numbers; got None"),
        (
            "model: {lightgbm: {num_leaves: {type: float, low: 4, high: 8}}}",
            "num_leaves takes whole numbers; give it 'type: int'",
        ),
        ("model: {logistic_regression: {C: {choices: [1, x]}}}", "C takes numbers; got 'x'"),
        ("model: {logistic_regression: {C: {type: float, low: 1, high: 2, log: 'no'}}}", "'log'"),
        ("model: {lightgbm: {num_leaves: {type: int, low: 4, high: 8, step: 0}}}", "'step'"),
        ("model: {lightgbm: {num_leaves: {type: int, low: 4, high: 8, step: 0.5}}}", "whole"),
        (
            "model: {logistic_regression: {C: {type: float, low: 1, high: 2, default: big}}}",
            "default",
        ),
        ("model: {random_forest: {min_samples_leaf: 0}}", "min_samples_leaf must lie in"),
        # A share of the columns past 1 failed most trials, one scikit-learn error each:
        (
            "model: {extra_trees: {max_features: {type: float, low: 0.1, high: 2.0}}}",
            r"max_features takes a share of the columns in \(0, 1\] .*got 2.0",
        ),
        ("model: {random_forest: {max_features: {choices: [sqrt, 0.5, 2.0]}}}", r"got 2.0"),
        ("model: {random_forest: {max_features: 0}}", r"max_features takes .*got 0"),
        # Values the component cannot take failed every trial that drew them:
        (
            "model: {lightgbm: {}}\nresampler:\n  borderline_smote: {kind: borderline-3}",
            r"line 3, resampler.borderline_smote.kind: kind takes one of \['borderline-1', "
            r"'borderline-2'\]; got 'borderline-3'",
        ),
        (
            "model: {lightgbm: {}}\nensemble:\n  soft_voting:\n"
            "    partner: {choices: [svm, lightgbmm]}",
            r"line 4, ensemble.soft_voting.partner: .*got 'svm', 'lightgbmm' \(did you mean "
            r"'lightgbm'\?\)",
        ),
        (
            "model: {lightgbm: {}}\nresampler: {near_miss: {version: {choices: [1, 4]}}}",
            r"version takes one of \[1, 2, 3\]; got 4",
        ),
        ("model: {lightgbm: {}}\nensemble: {stacking: {partner: svm}}", "partner takes one of"),
        ("model: {mlp: {norm: batchnorm}}", r"norm takes one of .*\(did you mean 'batch'\?\)"),
        ("model: {lightgbm: {}}\naugmenter: {mixup: {cat_mode: Keep}}", "did you mean 'keep'"),
        # Parameters taking words or numbers: a misspelt word failed every trial that drew it.
        (
            "model: {random_forest: {max_features: {choices: [sqtr, 0.5]}}}",
            r"max_features takes one of \['sqrt', 'log2', None\] or a number; got 'sqtr' "
            r"\(did you mean 'sqrt'\?\)",
        ),
        ("model: {one_class_svm: {gamma: auot}}", r"or a number; got 'auot' \(did you mean 'auto"),
        # An endless range failed every trial with "OverflowError: Range exceeds valid bounds",
        # naming no parameter; a step past the range drew low every time.
        (
            "model:\n  logistic_regression:\n    C: {type: float, low: 1.0, high: .inf, log: true}",
            r"line 3, model.logistic_regression.C: 'low' and 'high' must be finite; got .*inf",
        ),
        (
            "model:\n  logistic_regression:\n    C: {type: float, low: -.inf, high: 1.0}",
            r"line 3, .*must be finite",
        ),
        ("model: {logistic_regression: {C: .inf}}", r"C must be a finite number; got inf"),
        ("model: {logistic_regression: {C: {choices: [1.0, .nan]}}}", "finite number; got nan"),
        (
            "model:\n  lightgbm:\n    num_leaves: {type: int, low: 4, high: 8, step: 10}",
            r"line 3, model.lightgbm.num_leaves: 'step' 10 is larger than the range 4..8",
        ),
        ("model: {xgboost: {subsample: {type: float, low: 0.5, high: 0.6, step: 0.2}}}", "step"),
        ("model: {lightgbm: {}}\nmodel: {xgboost: {}}", r"line 2.*'model' given twice"),
        ("model: {lightgbm: {}}\nresampler:\n", "stage 'resampler' must map component names"),
        ("model: {lightgbm: {}}\ninitial: [{modle: lightgbm}]", "'modle' is no stage.*'model'"),
        ("model: {lightgbm: {}}\ninitial: [{model: {name: lightgbm}}]", "not a component"),
        # Strategies tried first that the space could never draw were left out in silence.
        (
            "model: {logistic_regression: {}}\nresampler: {smote: {}}\n"
            "initial: [{model: logistic_regression}]",
            r"line 3, initial: \{'model': 'logistic_regression'\} is never drawn from this "
            r"space: a stage left out runs as 'none', which this space's 'resampler' stage does "
            r"not offer; name one of \['smote'\], or add 'none: \{\}' to the stage",
        ),
        (
            "model: {balanced_random_forest: {}, lightgbm: {}}\n"
            "weighting: {none: {}, balanced: {}}\n"
            "initial: [{model: balanced_random_forest, weighting: balanced}]",
            r"model 'balanced_random_forest' takes no class weights \(it balances the classes "
            r"itself\).*leave weighting out",
        ),
        (
            "model: {lightgbm: {}}\nresampler: {none: {}, smote: {}}\n"
            "initial: [{resampler: smote}]",
            r"never drawn .*it names no model; name one of \['lightgbm'\]",
        ),
        # A range beside 'choices' was dropped in silence: the trials drew the choices only.
        (
            "model:\n  lightgbm:\n    num_leaves: {choices: [8, 16], low: 2, high: 64}",
            r"line 3, model.lightgbm.num_leaves: 'choices' and \['high', 'low'\] given "
            r"together; the trials draw from 'choices' alone\. Give either 'choices' or a range",
        ),
        (
            "model: {logistic_regression: {C: {type: int, choices: [0.1, 1.0]}}}",
            r"'type: int' beside 'choices' holding 0.1; give choices of that type, or leave "
            r"'type' out",
        ),
        ("model: {lightgbm: {num_leaves: {type: intt, choices: [8, 16]}}}", r"'type' must be"),
        # A step that does not divide the range had its high cut, with Optuna's warning that
        # named neither the parameter nor the line.
        (
            "model:\n  lightgbm:\n    num_leaves: {type: int, low: 4, high: 17, step: 4}",
            r"line 3, model.lightgbm.num_leaves: the range 4..17 is no whole number of steps of "
            r"4; the trials would never draw above 16\. Give high: 16, or a step that divides",
        ),
        (
            "resampler: {smote: {sampling_ratio: {type: float, low: 0.3, high: 1.0, step: 0.3}}}"
            "\nmodel: {lightgbm: {}}",
            r"range 0.3..1.0 is no whole number of steps of 0.3; .*above 0.9\. Give high: 0.9",
        ),
        # Explicit class weights without weights ran equal ones, reported as explicit.
        (
            "model: {lightgbm: {}}\nweighting: {explicit: {}}",
            r"line 2, weighting.explicit: weighting 'explicit' needs 'weights' given in the "
            r"space: no default fits every data set\. .*one per class, in label order",
        ),
    ],
)
def test_bad_space_files_are_refused(text: str, match: str) -> None:
    with pytest.raises(SearchSpaceError, match=match):
        parse_space(text, source="my.yaml")


def test_a_strategy_tried_first_is_shown_as_the_file_wrote_it() -> None:
    """The loader's own '__lines__' key showed in the message."""
    with pytest.raises(SearchSpaceError) as caught:
        parse_space("model: {lightgbm: {}}\ninitial:\n  - {model: {name: lightgbm}}")
    assert "model={'name': 'lightgbm'} is not a component" in str(caught.value)
    assert "__lines__" not in str(caught.value)


@pytest.mark.parametrize(
    "step", [{"low": 0.1, "high": 1.0, "step": 0.1}, {"low": 0.05, "high": 0.95, "step": 0.15}]
)
def test_a_float_step_that_divides_its_range_is_taken_without_a_word(step) -> None:
    spec = {"type": "float", **step}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_space({"model": {"xgboost": {"subsample": spec}}})


def test_a_strategy_tried_first_with_parameters_is_refused_as_written_with_the_fix() -> None:
    """The loader's '__lines__' showed in a nested entry and in a mapping given for the list,
    and a parameter was called 'no stage', without saying where settings of one's own go."""
    refusals = {
        "initial: {model: lightgbm}": r"initial: must be a list of strategies, each a mapping "
        r"of stage to component \(- \{model: lightgbm\}\); got \{'model': 'lightgbm'\}",
        "initial:\n  - {model: {lightgbm: {num_leaves: 8}}}": r"model=\{'lightgbm': "
        r"\{'num_leaves': 8\}\} is not a component .*runs each component at the space's "
        r"defaults: give 8 as the 'default:' of model\.lightgbm\.num_leaves",
        "initial:\n  - {model: lightgbm, num_leaves: 8}": r"'num_leaves' is no stage.*runs each "
        r"component at the space's defaults: give 8 as the 'default:' of "
        r"model\.lightgbm\.num_leaves, or pass warm_start=\[\{'model': \{'name': 'lightgbm', "
        r"'num_leaves': 8\}\}\] from Python",
    }
    for initial, match in refusals.items():
        with pytest.raises(SearchSpaceError, match=match) as refused:
            parse_space(f"model: {{lightgbm: {{}}}}\n{initial}\n", source="my.yaml")
        assert "__lines__" not in str(refused.value)


def test_a_strategy_tried_first_may_name_none_for_a_stage_the_space_leaves_out() -> None:
    """No component is what such a stage runs; 'none' there was refused as no component."""
    space = parse_space(
        "model: {lightgbm: {}}\ninitial:\n  - {augmenter: none, model: lightgbm}\n",
        source="my.yaml",
    )
    assert space.initial == [{"model": "lightgbm"}]


def test_an_empty_space_file_is_named_as_empty(tmp_path) -> None:
    """It read "a mapping of stages; got a NoneType: None"."""
    for text in ("", "# my space, to fill in\n"):
        empty = tmp_path / "mine.yaml"
        empty.write_text(text)
        with pytest.raises(
            SearchSpaceError,
            match=r"mine.yaml: the space is empty \(no stage in it\); name at least its "
            r"models, e.g\. 'model: \{lightgbm: \{\}\}'",
        ):
            load_space(str(empty))


def test_the_values_a_component_declares_hold_its_shipped_defaults() -> None:
    """A declared set that left out a default would refuse the shipped spaces themselves."""
    defaults = component_defaults()
    declared = [
        (stage, name, param, values)
        for stage in STAGES
        for name, component in REGISTRY[stage].items()
        for param, values in component.values.items()
    ]
    assert {name for _, name, _, _ in declared} >= {"borderline_smote", "near_miss", "stacking"}
    for stage, name, param, values in declared:
        assert defaults[stage][name][param] in values, (stage, name, param)


def test_unknown_space_name(tmp_path) -> None:
    with pytest.raises(SearchSpaceError, match="neither a built-in space"):
        load_space("nope")
    # A name too long for a path escaped as "OSError: [Errno 36] File name too long".
    with pytest.raises(SearchSpaceError, match=r"'x{77}\.\.\.' is neither a built-in space"):
        load_space("x" * 5000)
    with pytest.raises(SearchSpaceError, match=r"file that exists. Did you mean 'default'\?"):
        load_space("defualt")
    path = tmp_path / "mine.yaml"
    path.write_text("model: {logistic_regression: {C: 2.0}}\n")
    space = load_space(str(path))
    assert space.sample(optuna.create_study().ask())["model"] == {
        "name": "logistic_regression",
        "C": 2.0,
    }


def test_components_that_do_not_scale_leave_large_searches() -> None:
    space = load_space("default")
    for stage in ("features", "resampler", "model"):
        small = space.available(stage, n_rows=1_000)
        large = space.available(stage, n_rows=1_000_000)
        assert set(large) < set(small)
        assert all(REGISTRY[stage][name].scales for name in large)


def test_a_space_whose_models_cannot_run_here_is_refused_before_a_study(
    glass, tmp_path, monkeypatch
) -> None:
    import autoimb
    import autoimb.engine.space as space_module

    X, y = glass  # six classes: an anomaly detector is for two
    only = tmp_path / "detector.yaml"
    only.write_text("name: detector\nmodel:\n  isolation_forest: {}\n")
    log = tmp_path / "study.log"
    with pytest.raises(SearchSpaceError, match="isolation_forest is for two classes only"):
        autoimb.search(X, y, space=str(only), n_trials=2, storage=str(log))
    assert not log.exists()  # nothing written: the command can run again as it is
    monkeypatch.setattr(space_module, "TORCH_AVAILABLE", False)
    deep = tmp_path / "mlp.yaml"
    deep.write_text("name: only_mlp\nmodel:\n  mlp: {}\n")
    with pytest.raises(
        SearchSpaceError, match=r"mlp needs PyTorch \(pip install 'autoimb\[deep\]'\)"
    ):
        autoimb.search(X, y, space=str(deep), n_trials=2)
    # The shipped deep space runs on without them, and says so: its point is the deep models.
    with pytest.warns(UserWarning, match=r"space 'deep' searches without what.*model mlp needs"):
        load_space("deep").check_models(n_classes=2, sample_weight=False, n_rows=100)


def test_a_users_file_named_like_a_shipped_space_warns_of_what_it_leaves_out(
    tmp_path, monkeypatch
) -> None:
    """A copy of default.yaml was taken for the shipped space by its name, and searched
    without its easy_ensemble in silence when the data had sample weights."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "default.yaml").write_text(
        shipped_space_file("default").read_text(encoding="utf-8"), encoding="utf-8"
    )
    data = {"n_classes": 2, "sample_weight": True, "n_rows": 300}
    with pytest.warns(UserWarning, match=r"space 'default' searches without.*model easy_ensemble"):
        load_space("default.yaml").check_models(**data)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the shipped one leaves it out as its README says
        load_space("default").check_models(**data)


NEEDING_TORCH = [
    (stage, name, param, values)
    for stage in STAGES
    for name, component in REGISTRY[stage].items()
    for param, values in component.torch_choices.items()
]


@pytest.mark.parametrize(("stage", "name", "param", "values"), NEEDING_TORCH)
def test_without_torch_a_space_never_draws_a_choice_that_needs_it(
    stage, name, param, values, monkeypatch
) -> None:
    import autoimb.engine.space as space_module

    monkeypatch.setattr(space_module, "TORCH_AVAILABLE", False)
    takes = REGISTRY[stage][name].values.get(param, ("__other__",))
    choices = [*values, *[v for v in takes if v not in values]]
    text = f"name: s\n{stage}:\n  {name}:\n    {param}: {{choices: {choices}}}\n"
    if stage != "model":
        text += "model:\n  logistic_regression: {}\n"
    offered = parse_space(text).stages[stage][name][param].distribution.choices
    assert not set(values) & set(offered)
    monkeypatch.setattr(space_module, "TORCH_AVAILABLE", True)
    assert set(values) <= set(parse_space(text).stages[stage][name][param].distribution.choices)


def test_a_space_differs_only_in_what_its_trials_draw() -> None:
    fast = shipped_space_file("fast").read_text(encoding="utf-8")
    renamed = parse_space("# a copy\n" + fast.replace("name: fast", "name: mine"))
    assert space_difference(load_space("fast"), renamed) is None
    narrower = parse_space(
        fast.replace("C: {type: float, low: 0.001", "C: {type: float, low: 0.01")
    )
    assert space_difference(load_space("fast"), narrower) == (
        "model 'logistic_regression' draws ['C'] otherwise"
    )
    assert "stage 'features' offers" in space_difference(load_space("fast"), load_space("default"))


def test_explicit_class_weights_are_set_in_a_space_and_reach_the_model(small_binary) -> None:
    """Their default depends on the number of classes, so no shipped space holds one; a
    space of the user's gives them."""
    import autoimb
    from autoimb.engine.pipeline import StrategyPipeline

    X, y = small_binary
    space = parse_space(
        "model: {logistic_regression: {}}\n"
        "weighting: {explicit: {weights: [1.0, 10.0]}}\n"
        "resampler: {none: {}}\n"
    )
    found = autoimb.search(
        X, y, n_trials=1, space=space, cv=3, random_state=0, ensemble=False, importance=False
    )
    assert found.best_config["weighting"] == {"name": "explicit", "weights": [1.0, 10.0]}
    data = validate(X, y)

    def minority_share(weights: list[float]) -> float:
        config = {"model": {"name": "logistic_regression"}}
        config["weighting"] = {"name": "explicit", "weights": weights}
        pipeline = StrategyPipeline(config, data.schema(), random_state=0).fit(data.X, data.y)
        return pipeline.predict_proba(data.X)[:, data.pos_label].mean()

    assert minority_share([1.0, 10.0]) > minority_share([1.0, 1.0]) + 0.1


def test_explicit_class_weights_not_one_per_class_are_refused_before_any_trial(small_binary):
    import autoimb

    X, y = small_binary
    space = parse_space(
        "model: {logistic_regression: {}}\nweighting: {explicit: {weights: [1, 2, 3]}}\n"
    )
    with pytest.raises(SearchSpaceError, match=r"one weight .* per class, 2 here.*got \[1, 2, 3\]"):
        autoimb.search(X, y, n_trials=1, space=space, cv=3)


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ("{type: float, low: 1, high: 20}", r"weights are fixed, one weight per class \(2 here"),
        ("[1.0, .inf]", r"a finite number >= 0.*got \[1.0, inf\]"),
        (
            "{type: categorical, choices: [[1, 10], [1, 20]]}",
            r"'choices' are single values .*got \[1, 10\]",
        ),
    ],
    ids=["searched-range", "infinite", "choices-of-lists"],
)
def test_explicit_class_weights_no_trial_can_use_are_refused_naming_the_file(
    small_binary, tmp_path, weights, message
) -> None:
    """A searched range drew one number for all classes and an infinite weight failed in
    scikit-learn: every trial failed. Lists as choices drew Optuna's warning at every trial."""
    import autoimb

    X, y = small_binary
    path = tmp_path / "weights.yaml"
    path.write_text(
        f"model: {{logistic_regression: {{}}}}\nweighting: {{explicit: {{weights: {weights}}}}}\n"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(SearchSpaceError, match=rf"weights\.yaml.*{message}"):
            autoimb.search(X, y, n_trials=1, space=str(path), cv=3)


def test_a_space_of_ones_own_says_what_it_searches_without(small_binary) -> None:
    """A model listed in the user's space that cannot run on the data was left out unsaid."""
    import autoimb

    X, y = autoimb.datasets.load("glass_multiclass", return_X_y=True)
    space = parse_space("model: {lightgbm: {n_estimators: 5}, isolation_forest: {}}")
    with pytest.warns(UserWarning, match=r"searches without .*isolation_forest is for two"):
        autoimb.search(X, y, metric="f1", n_trials=1, space=space, cv=3, random_state=0)


def test_a_space_with_nothing_to_search_runs_its_one_strategy_once(small_binary, tmp_path) -> None:
    """Every trial of such a space repeats the first to the last digit: the budget would go to
    copies, and the winner be picked among equal scores by chance."""
    X, y = small_binary
    path = tmp_path / "fixed.yaml"
    path.write_text(
        "name: fixed\nresampler: {none: {}}\nweighting: {balanced: {}}\n"
        "model:\n  logistic_regression: {C: 1.0}\n"
    )
    assert strategy_count(load_space(str(path)), n_classes=2) == 1
    assert strategy_count(load_space("fast"), n_classes=2) is None  # it draws floats
    log = str(tmp_path / "s.log")
    result = autoimb.search(X, y, space=str(path), n_trials=5, storage=log, cv=3)
    assert len(result.leaderboard) == 1
    assert any("ran once" in note for note in result.notes)
    again = autoimb.search(X, y, space=str(path), n_trials=5, storage=log, cv=3)
    assert len(again.leaderboard) == 1  # its one strategy has run: nothing more to add


_TWO_STRATEGIES = (
    "name: two\nresampler:\n  none: {}\n  random_over: {sampling_ratio: 1.0}\n"
    "model:\n  logistic_regression: {C: 1.0}\nensemble: {none: {}}\n"
)


def test_a_search_stops_once_every_strategy_of_its_space_has_run(tmp_path) -> None:
    """A space of two strategies searched for 6 s ran 145 trials of them (128 of one), and 6
    trials held 4 copies: each copy scores as the first did, on the same folds and seed."""
    X, y = autoimb.datasets.load("ecoli1", return_X_y=True)
    path = tmp_path / "two.yaml"
    path.write_text(_TWO_STRATEGIES)
    assert strategy_count(load_space(str(path))) == 2
    ranged = "model:\n  logistic_regression: {C: {type: float, low: 0.1, high: 1.0, step: 0.3}}"
    assert strategy_count(parse_space(ranged)) == 4
    log = str(tmp_path / "s.log")
    kwargs = dict(space=str(path), cv=3, ensemble=False, storage=log, random_state=0)
    result = autoimb.search(X, y, n_trials=6, **kwargs)
    assert sorted(result.leaderboard["resampler"]) == ["none", "random_over"]
    assert any("Every strategy of the space 'two' was tried (2)" in n for n in result.notes)
    again = autoimb.search(X, y, time_budget=10, **kwargs)
    assert len(again.leaderboard) == 2  # resumed: nothing left to try


def test_what_counts_as_a_strategy_tried_for_good() -> None:
    """A trial its time cap cut may finish with a longer budget (a resume at 30 s ran nothing
    after one at 4 s); a pruned or failed one would end the same, and is not fitted again; a
    strategy queued off the space's grid (C 0.75 on steps of 0.5) is none of its strategies."""
    from optuna.distributions import FloatDistribution
    from optuna.trial import TrialState, create_trial

    from autoimb.engine.space_size import CUT_BY_TIME, SettledStrategies

    grid = {"C": FloatDistribution(0.5, 1.0, step=0.5)}

    def trial(c: float, state: TrialState, **attrs) -> optuna.trial.FrozenTrial:
        return create_trial(
            state=state,
            value=0.5 if state == TrialState.COMPLETE else None,
            params={"C": c},
            distributions=grid,
            user_attrs={"config": {"model": {"name": "logistic_regression", "C": c}}, **attrs},
        )

    def config(c: float) -> dict:
        return {"model": {"name": "logistic_regression", "C": c}}

    study = optuna.create_study()
    study.add_trial(trial(0.5, TrialState.COMPLETE))
    study.add_trial(trial(1.0, TrialState.PRUNED, **{CUT_BY_TIME: True}))
    settled = SettledStrategies(2)
    assert not settled.every_one(study) and settled.repeated(study, config(1.0)) is None
    assert settled.repeated(study, config(0.5)) == 0
    study.add_trial(trial(1.0, TrialState.FAIL))
    assert settled.every_one(study) and settled.repeated(study, config(1.0)) == 2
    off_grid = optuna.create_study()
    off_grid.enqueue_trial({"C": 0.75})  # as a default between steps is queued

    def queued(t: optuna.Trial) -> float:
        t.set_user_attr("config", config(t.suggest_float("C", 0.5, 1.0, step=0.5)))
        return 0.5

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Optuna's word on the value off its grid
        off_grid.optimize(queued, n_trials=1)
    off_grid.add_trial(trial(0.5, TrialState.COMPLETE))
    assert not settled.every_one(off_grid)


def test_a_search_bounded_by_trials_stops_when_its_sampler_draws_only_repeats(monkeypatch):
    """Repeats do not count toward n_trials: where the space's end goes uncounted (taken here
    as endless), the sampler drawing nothing new would have drawn on forever."""
    from autoimb import config
    from autoimb.engine import run

    X, y = autoimb.datasets.load("ecoli1", return_X_y=True)
    monkeypatch.setattr(run, "strategy_count", lambda *args, **kwargs: None)
    monkeypatch.setattr(config, "REPEATS_BEFORE_STOPPING", 5)
    space = parse_space(_TWO_STRATEGIES)
    result = autoimb.search(X, y, n_trials=4, space=space, cv=3, ensemble=False, random_state=0)
    board = result.leaderboard
    assert (board["state"] == "COMPLETE").sum() == 2
    assert board.sort_values("trial")["state"].iloc[-5:].eq("PRUNED").all()


def test_a_trial_that_draws_a_finished_trials_strategy_is_not_fitted_again() -> None:
    """It is pruned before any fit, naming the trial it repeats; it is not counted as a
    finished trial, nor among the trials ``n_trials`` asks for."""
    X, y = autoimb.datasets.load("ecoli1", return_X_y=True)

    def again(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        if trial.number == 0:  # as a sampler drawing it anew would
            study.enqueue_trial(trial.params)

    space = parse_space(_TWO_STRATEGIES.replace("{none: {}}", "{none: {}, bagging: {}}"))
    result = autoimb.search(
        X, y, n_trials=2, space=space, cv=3, ensemble=False, callbacks=[again], random_state=0
    )
    board = result.leaderboard.sort_values("trial")
    assert list(board["state"][:2]) == ["COMPLETE", "PRUNED"]
    assert board["stopped"].iloc[1] == "repeats trial 0's strategy: not fitted again"
    assert (board["state"] == "COMPLETE").sum() == finished_trials(result.study) == 2
    repeats = board[board["state"] == "PRUNED"]
    assert repeats["stopped"].str.startswith("repeats trial ").all()


def test_a_space_file_not_in_utf8_or_not_yaml_is_refused_in_a_line(tmp_path) -> None:
    """A Latin-1 comment failed with a decoding traceback; a data file given as the space was
    printed whole into the message."""
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("# modèle\nmodel: {lightgbm: {}}\n".encode("latin-1"))
    with pytest.raises(SearchSpaceError, match=r"latin.yaml: not UTF-8 text.*save it as UTF-8"):
        load_space(str(latin))
    table = tmp_path / "train.csv"
    table.write_text("x0,x1,target\n" + "0.5,0.25,1\n" * 2000)
    with pytest.raises(SearchSpaceError, match="a mapping of stages; got a str") as refused:
        load_space(str(table))
    assert len(str(refused.value)) < 300


def test_parameters_taking_words_or_numbers_take_both() -> None:
    space = parse_space(
        "model:\n  random_forest: {max_features: {choices: [sqrt, log2, null, 0.3, 7]}}\n"
        "  one_class_svm: {gamma: {choices: [scale, auto, 0.01]}}\n"
    )
    forest = space.stages["model"]["random_forest"]["max_features"].distribution.choices
    assert list(forest) == ["sqrt", "log2", None, 0.3, 7]


LOGISTIC_ONLY = {
    "name": "mine",
    "resampler": {"none": {}, "random_under": {}},
    "model": {"logistic_regression": {"C": {"type": "float", "low": 0.01, "high": 10.0}}},
}


def test_a_space_given_as_yaml_text_or_a_dict_is_checked_as_a_file_is(small_binary) -> None:
    """YAML text was taken for a file name (a long one crashed with "File name too long"), and
    a dict was refused as "neither a built-in space nor a YAML file that exists"."""
    text = (
        f"name: tiny\ndescription: {'no resampling or SMOTE, then a linear model; ' * 6}\n"
        "initial:\n  - {resampler: none, model: logistic_regression}\n"
        "resampler: {none: {}, smote: {sampling_ratio: {type: float, low: 0.3, high: 1.0}}}\n"
        "model:\n  logistic_regression: {C: {type: float, low: 0.01, high: 10.0, log: true}}\n"
    )
    assert len(text) > 255  # past the longest file name
    X, y = small_binary
    found = autoimb.search(X, y, space=text, n_trials=2, cv=3, random_state=0, importance=False)
    assert found.best_config["model"]["name"] == "logistic_regression"
    assert load_space(text).initial == [{"resampler": "none", "model": "logistic_regression"}]
    as_dict = load_space(LOGISTIC_ONLY)
    assert as_dict.name == "mine"
    assert list(as_dict.stages["resampler"]) == ["none", "random_under"]
    assert load_space({"model": {"lightgbm": {}}}).name == "custom"
    with pytest.raises(
        SearchSpaceError,
        match=r"^the space given as a dict, model.lightgbm.num_leaves: `low <= high` must hold",
    ):
        load_space({"model": {"lightgbm": {"num_leaves": {"type": "int", "low": 9, "high": 3}}}})
    with pytest.raises(SearchSpaceError, match=r"^the space given as YAML text, line 2, model.xg"):
        load_space("name: mine\nmodel: {xgboostt: {}}\n")


def test_a_space_given_as_a_dict_takes_numpy_arrays_of_values(small_binary) -> None:
    """A NumPy array of choices failed with "ValueError: can only convert an array of size 1
    to a Python scalar", naming no parameter."""
    import numpy as np

    space = {
        "resampler": {"none": {}, "smote": {"k_neighbors": {"choices": np.arange(3, 8, 2)}}},
        "model": {
            "logistic_regression": {"C": {"choices": np.logspace(-2, 1, 4)}},
            "lightgbm": {"num_leaves": {"type": "int", "low": np.int64(4), "high": 16}},
        },
    }
    loaded = load_space(space)
    k = loaded.stages["resampler"]["smote"]["k_neighbors"].distribution
    assert list(k.choices) == [3, 5, 7] and all(type(v) is int for v in k.choices)
    C = loaded.stages["model"]["logistic_regression"]["C"].distribution
    assert list(C.choices) == pytest.approx([0.01, 0.1, 1.0, 10.0])
    X, y = small_binary
    found = autoimb.search(X, y, space=space, n_trials=2, cv=3, random_state=0, importance=False)
    assert len(found.leaderboard) == 2


def test_a_classifier_given_a_space_as_a_dict_clones_and_resumes_its_study(
    small_binary, tmp_path
) -> None:
    """The study records the dict's YAML: the same dict, cloned, resumes it."""
    from sklearn.base import clone

    X, y = small_binary
    log = str(tmp_path / "study.log")
    first = autoimb.AutoImbClassifier(
        space=LOGISTIC_ONLY, n_trials=2, cv=3, storage=log, random_state=0, importance=False
    ).fit(X, y)
    trials_before = len(first.result_.leaderboard)
    again = clone(first)
    assert again.get_params()["space"] == LOGISTIC_ONLY
    again.set_params(n_trials=1).fit(X, y)  # the same space: no refusal of another one
    assert len(again.result_.leaderboard) == trials_before + 1
    assert load_space(LOGISTIC_ONLY).text == load_space(dict(LOGISTIC_ONLY)).text


def test_numbers_in_scientific_notation_are_read_as_numbers() -> None:
    """YAML 1.1 reads 1e-3 (no dot, or no sign on the exponent) as text: 'C takes numbers'."""
    import yaml

    space = parse_space(
        "model:\n  logistic_regression:\n    C: {type: float, low: 1e-3, high: 1E2, log: true}\n"
        "weighting:\n  tempered: {power: {type: float, low: .1, high: 1.0, default: 5e-1}}\n"
        "resampler:\n  smote: {k_neighbors: 5, sampling_ratio: 1.0e-1}\n"
    )
    C = space.stages["model"]["logistic_regression"]["C"].distribution
    assert (C.low, C.high) == (0.001, 100.0)
    assert space.stages["weighting"]["tempered"]["power"].default == 0.5
    assert space.stages["resampler"]["smote"]["k_neighbors"].default == 5  # still a whole number
    assert space.stages["resampler"]["smote"]["sampling_ratio"].default == 0.1
    assert yaml.safe_load("x: 1e-3") == {"x": "1e-3"}  # other YAML is read as before


def test_a_strategy_tried_first_fits_a_model_that_takes_no_weights(glass) -> None:
    """A model that takes no class weights is drawn with none, whatever the weighting stage
    offers; where the data leaves a strategy out, the user's space says so."""
    X, y = glass
    space = parse_space(
        "name: mine\ninitial: [{model: balanced_random_forest}, {model: isolation_forest}]\n"
        "weighting: {balanced: {}}\n"
        "model: {balanced_random_forest: {}, logistic_regression: {}, isolation_forest: {}}\n"
    )
    settings = SearchSettings(metric=get_metric("f1"), space=space, warm_start=None)
    with pytest.warns(
        UserWarning,
        match=r"space 'mine' does not try \{'model': 'isolation_forest'\} first on this data: "
        r"its model 'isolation_forest' is not in space 'mine'",
    ):
        trials = first_trials(settings, validate(X, y))
    assert trials == [{"model": "balanced_random_forest"}]
