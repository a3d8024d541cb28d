from __future__ import annotations

import subprocess
import sys

import autoimb


def test_every_public_name_exists() -> None:
    for name in autoimb.__all__:
        assert getattr(autoimb, name) is not None


def test_a_save_at_the_top_names_where_saving_is() -> None:
    """autoimb.load reads a model back; a user reaching for autoimb.save beside it is told how
    to save, not only that the name is missing."""
    import pytest

    with pytest.raises(AttributeError, match=r"result\.save\(path\).*best_pipeline_"):
        autoimb.save  # noqa: B018
    with pytest.raises(AttributeError, match=r"^module 'autoimb' has no attribute 'fit'$"):
        autoimb.fit  # noqa: B018


def test_import_is_light() -> None:
    code = "import sys, autoimb; print('lightgbm' in sys.modules or 'optuna' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_importing_it_makes_openmp_spin_briefly_unless_the_user_chose() -> None:
    """GNU OpenMP's long spinning ran a model on every core several times slower than on one
    beside other work."""
    import os

    code = "import os, autoimb; print(os.environ.get('GOMP_SPINCOUNT'))"
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    for given, expected in (
        ({}, "1000"),
        ({"GOMP_SPINCOUNT": "5"}, "5"),
        ({"OMP_WAIT_POLICY": "ACTIVE"}, "None"),  # spinning asked for: not cut short
    ):
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True,
            env={**env, **given},
        )  # fmt: skip
        assert out.stdout.strip() == expected


def test_search_documents_every_parameter() -> None:
    """search's docstring is the reference of its parameters: none may be missing from it."""
    import inspect
    import re

    documented = set()
    # Cleaned of its indentation, as Python 3.13 compiles docstrings: names start their line.
    for line in inspect.getdoc(autoimb.search).splitlines():
        if re.fullmatch(r"\w+(, \w+)*", line):
            documented.update(line.split(", "))
    assert set(inspect.signature(autoimb.search).parameters) <= documented


def test_shipped_datasets() -> None:
    from autoimb.datasets import load  # as a module, too: `import autoimb.datasets`

    assert load is autoimb.datasets.load
    names = autoimb.data.datasets.list()
    assert {"yeast4", "glass_multiclass", "hepatitis"} <= set(names)
    X, y = autoimb.data.datasets.load("hepatitis", return_X_y=True)
    assert X.isna().any().any() and y.nunique() == 2


def _search_in_a_subprocess(verbose: str) -> str:
    import subprocess
    import sys

    code = (
        "import autoimb\n"
        "X, y = autoimb.datasets.load('ecoli1', return_X_y=True)\n"
        f"autoimb.search(X, y, n_trials=3, space='fast', random_state=0, verbose={verbose})\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True
    )
    return done.stderr


def test_a_quiet_search_prints_nothing_not_even_optunas_lines() -> None:
    err = _search_in_a_subprocess("None")  # stderr is a pipe here: nobody is watching
    assert "A new study created" not in err
    assert "trial" not in err


def test_a_verbose_search_shows_each_trial_and_the_best_so_far() -> None:
    err = _search_in_a_subprocess("True")
    lines = [line for line in err.splitlines() if line.startswith("trial")]
    assert len(lines) == 3, err
    assert all("| best " in line and "elapsed" in line for line in lines)
    assert "A new study created" not in err
