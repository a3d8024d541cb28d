from __future__ import annotations

import subprocess
import sys

import autoimb


def test_every_public_name_exists() -> None:
    for name in autoimb.__all__:
        assert getattr(autoimb, name) is not None


def test_import_is_light() -> None:
    code = "import sys, autoimb; print('lightgbm' in sys.modules or 'optuna' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_shipped_datasets() -> None:
    names = autoimb.data.datasets.list()
    assert {"yeast4", "glass_multiclass", "hepatitis"} <= set(names)
    X, y = autoimb.data.datasets.load("hepatitis", return_X_y=True)
    assert X.isna().any().any() and y.nunique() == 2
