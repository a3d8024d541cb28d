"""The HTML report, its plots, and the winner rebuilt from a result, a saved model or a study."""
