"""The KEEL data sets in ../shared/datasets/keel, read the same way by every benchmark."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from pandas.api.types import is_numeric_dtype

ROOT = Path(__file__).resolve().parents[1]
KEEL = ROOT.parent / "shared" / "datasets" / "keel"


def load_keel(name: str, folder: Path = KEEL) -> tuple[pd.DataFrame, np.ndarray]:
    """Features (text columns as object dtype, '?' as missing) and labels coded 0..C-1."""
    frame = pd.read_csv(folder / f"{name}.csv.gz", na_values=["?"])
    y_raw = frame.pop("target").to_numpy()
    for column in frame.columns:
        if not is_numeric_dtype(frame[column]):
            frame[column] = frame[column].astype(object).where(frame[column].notna(), np.nan)
    _, y = np.unique(y_raw, return_inverse=True)
    return frame, y.astype(np.int64)
