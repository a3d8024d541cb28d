"""The search: space, pipeline, folds, budget, storage, study, run, finish and what follows.

Never imports the API, the command line or the report (tests/test_layout.py).
"""
