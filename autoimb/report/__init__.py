"""The HTML report, its plots, and the winner rebuilt from a result, a saved model or a study."""

# Marks a page as autoimb's, so the command line may replace it (autoimb/cli/outputs.py).
GENERATOR_TAG = '<meta name="generator" content="autoimb">'
