"""The KEEL data sets in ../shared/datasets/keel, read the same way by every benchmark."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from _markdown import add_summary_argument, publish
from pandas.api.types import is_numeric_dtype
from sklearn.model_selection import StratifiedKFold

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


def outer_splits(
    name: str, folder: Path, n_folds: int, seed: int, folds: Sequence[int]
) -> Iterator[tuple[int, tuple[pd.DataFrame, np.ndarray, pd.DataFrame, np.ndarray]]]:
    """``(fold, (X_train, y_train, X_test, y_test))`` of a set's outer stratified split, for the
    folds asked for: every benchmark that scores on held-out rows splits the same way."""
    X_all, y_all = load_keel(name, folder)
    splits = StratifiedKFold(n_folds, shuffle=True, random_state=seed)
    for fold, (train, test) in enumerate(splits.split(X_all, y_all)):
        if fold in folds:
            yield (
                fold,
                (
                    X_all.iloc[train].reset_index(drop=True),
                    y_all[train],
                    X_all.iloc[test].reset_index(drop=True),
                    y_all[test],
                ),
            )


def measure_sets(
    argv: Sequence[str] | None,
    doc: str,
    section: str,
    out: Path,
    columns: Sequence[str],
    measure: Callable[[str, Path], list[list[object]]],
    summary: Callable[[pd.DataFrame], str],
) -> None:
    """A script that measures the sets named on its command line one at a time into a CSV
    (appended to, so a long run resumes by naming the sets not yet done), then summarises it."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--sets", nargs="+", default=[], help="KEEL set names to measure")
    parser.add_argument("--data-dir", type=Path, default=KEEL)
    parser.add_argument("--out", type=Path, default=out, help="CSV the rows are appended to")
    add_summary_argument(parser, section)
    args = parser.parse_args(argv)
    for name in args.sets:
        rows = pd.DataFrame(measure(name, args.data_dir), columns=list(columns))
        rows.to_csv(args.out, mode="a", header=not args.out.exists(), index=False)
        print(rows.to_string(index=False, header=False), flush=True)
    if args.out.exists():
        publish(summary(pd.read_csv(args.out)), args.summary, section)
