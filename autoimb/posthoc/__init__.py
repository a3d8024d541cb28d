"""Arrays in, no fitting of strategies: thresholds, ensemble selection, calibration, intervals.

Imports only metrics; knows nothing of Optuna or the engine (tests/test_layout.py).
"""
