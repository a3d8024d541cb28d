"""Scores for imbalanced targets: formulas, the Metric type, and the registry of names."""
