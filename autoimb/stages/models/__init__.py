"""Model stage, classic families: linear, boosted trees, forests.

Tree models read the categorical codes as they are (LightGBM and XGBoost natively as
categories); the linear model gets one-hot encoding and scaling in front of it. Each module
registers its components on import.
"""

from autoimb.stages.models import boosted, forests, linear

__all__ = ["boosted", "forests", "linear"]
