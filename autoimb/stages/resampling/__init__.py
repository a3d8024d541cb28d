"""Resampling stage: over-sampling (the SMOTE family), under-sampling, and the two combined.

Targets are computed per fold from the fold's class counts, so a searched ``sampling_ratio``
means the same thing for binary and multi-class data, and neighbour counts are clipped to what
the fold's smallest oversampled class allows. Each module registers its samplers on import.
"""

from autoimb.stages.resampling import combined, over, under

__all__ = ["combined", "over", "under"]
