"""Every default, row threshold and budget share, in one place.

Policy lives here so that a change of mind is one edit: the engine, the API and the command
line read these names and hold no numbers of their own.
"""

from __future__ import annotations

# What a search optimises, and for how long, when the user does not say.
DEFAULT_METRIC = "average_precision"
DEFAULT_TIME_BUDGET = 60.0  # seconds, the command line's default when --n-trials is not given
DEFAULT_CV = 5
FOLD_KINDS = ("stratified", "group", "time")  # the named ways to split rows into folds
DEFAULT_SPACE = "default"
DEFAULT_WARM_START = "portfolio"
DEFAULT_STUDY_NAME = "autoimb"
HEARTBEAT_SECONDS = 30  # database storages: a worker silent for 3 × this is taken as dead

# Data size.
SMALL_DATA_ROWS = 20_000  # below: one thread per model (threads cost more than they gain)
LARGE_DATA_ROWS = 100_000  # above: 3 folds, and components that do not scale leave the search
LARGE_DATA_FOLDS = 3
SHARED_MATRIX_ROWS = 100_000  # above: folds share one preprocessed matrix instead of a copy each
FIDELITY_MIN_ROWS = 20_000  # multi-fidelity: the smallest training sample still has this many
FIDELITY_FACTOR = 3  # each fidelity is this many times the last; successive halving's rate
MAX_ROWS_FACTOR = 3  # resamplers may grow a training fold to this many times the data ...
MIN_ROW_BUDGET = 100_000  # ... or to this many rows, whichever is more
# Trials fit this share of an averaged ensemble's members (a forest's trees, bags): ranking
# strategies needs far fewer than the final model, which is refitted with all of them.
SEARCH_MEMBER_SHARE = 0.25
# Fold-level pruning (autoimb.engine.pruning), once this many trials have finished: after the
# first fold a trial goes on only if it scores among the best this percent of the finished
# trials' first folds (100: always), from the second fold on only if above their median.
PRUNE_AFTER_TRIALS = 6
FIRST_LOOK_KEEP = 100.0

# Budget.
ENSEMBLE_SHARE = 0.05  # of the time budget, kept after the trials for ensemble selection,
# but at least this many seconds where that is at most twice the share: the nested comparison
# that makes an ensemble's score honest needs about 0.3-0.8 s on 1k-4k rows (in 120 searches of
# 10 s, 19 of 48 ensemble winners reported their optimistic selection score without it, 1 of 49
# with it)
ENSEMBLE_MIN_SECONDS = 1.0
ADVICE_SHARE = 0.2  # ... and for the learning-curve advice, when asked for
TRIAL_SHARE = 1 / 3  # one trial may use at most this share of the budget ...
TRIAL_MIN_SECONDS = 5.0  # ... but never less than this
# Once this many trials have finished, one may take at most this many times their median
# cross-validation, but PACE_FLOOR_SECONDS: a trial far dearer than the search's pace costs
# the trials of many cheap strategies, and the sampler learns from its cut what it costs.
# (At 1k rows / 60 s a floor of 2.5 s rather than 5 s ran 53 trials against 39, held-out F1
# level on 20 sets at 10 s and 60 s; benchmarks/RESULTS.md.)
PACE_TRIALS = 5
PACE_FACTOR = 5.0
PACE_FLOOR_SECONDS = 2.5
REMEASURE_MAX_SHARE = 0.15  # the fresh-fold measure is skipped when it would cost more
REFIT_MARGIN = 1.3  # a refit on all rows, from the fits on k - 1 folds, with this margin
# From this many rows a forest's trees cost more than linearly in rows (2.3 times as long on
# 1.5 times 16k rows), so the refit estimate grows its part by the rows twice more; below, a
# fit's fixed costs weigh more and it grows about linearly or less (1.2 times at 1k rows: the
# extra growth reckoned a 0.5 s refit of 1,484 rows at 2.9 s).
SUPERLINEAR_FIT_ROWS = 10_000
ENSEMBLE_TIME_SHARE = 0.5  # ensemble selection may use this share of the time left
# An ensemble winner's unused race time goes to more trials when there is time for this many
# trials of the search's mean length (autoimb.engine.spare_time): time otherwise unused.
SPARE_TIME_TRIALS = 1
# A search in which no trial has completed stops once this many failed in a row: more than the
# space's fixed baselines and portfolio, whose models differ, so a cause they share is the
# data's or the call's, and the error that names it comes now rather than at the budget's end.
FAILURES_BEFORE_GIVING_UP = 20
# A search whose sampler drew this many finished strategies in a row stops: a repeat fits nothing
# and does not count toward n_trials, so a search bounded by trials alone would draw on forever.
REPEATS_BEFORE_STOPPING = 200

# Categories. A column of more values than this (a merchant, a postcode) keeps its own codes
# for its most frequent ones; the others share the code of a value new at prediction. Each code
# is a one-hot column to SMOTE-NC and a histogram bin to LightGBM: 20,000 of them took SMOTE-NC
# 13 GB on 40,000 rows, and LightGBM 45% more time a fit (benchmarks/many_categories.py).
MOST_CATEGORIES = 255

# Choosing and reporting.
INTERVAL_LEVEL = 0.8  # the probability the score interval is drawn for
IMPORTANCE_REPEATS = 3  # the winner's permutation importance: shuffles of a column per fold ...
IMPORTANCE_ROWS = 10_000  # ... on at most this many validation rows in all (folds subsampled)
# A search bounded by trials, not time, measures importance for at most as long as its trials
# and the rest took, and never less than this.
IMPORTANCE_MIN_SECONDS = 30.0
IMPORTANCE_BATCH_CELLS = 2_000_000  # values of the shuffled copies predicted in one call
KEPT_PREDICTIONS = 20  # out-of-fold predictions of the best trials kept for ensembles
MIN_CHOICE = 3  # fewest finished trials for the winner to be measured again on fresh folds
# Trials within this many paired standard errors of the best count as equally good, and the
# steadiest of them wins (autoimb.posthoc.steady); 0 takes the best-scoring trial as it is.
NOISE_STANDARD_ERRORS = 1.0
# Besides the chosen trial, this many of the best-scoring ones are cross-validated again on a
# fresh split, and the choice is made again on both splits (autoimb.posthoc.steady).
RACE_TOP = 3
STUDY_ATTR = "autoimb"  # the study's user attribute holding the search's settings
