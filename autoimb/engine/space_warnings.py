"""What a user's own space offers that runs otherwise on this data, said once as the search
starts (the shipped spaces' behaviour is in the README)."""

from __future__ import annotations

import warnings

from autoimb._warnings import user_stacklevel
from autoimb.data.dataset import Dataset
from autoimb.engine.space import SearchSpace, builtin_spaces, shipped_space_file
from autoimb.stages import REGISTRY


def warn_numeric_only(space: SearchSpace, data: Dataset) -> None:
    """Samplers that interpolate every column run as SMOTE-NC / SMOTE-N on data with category
    columns: each of their trials scores as smote's, while the leaderboard names them."""
    offered = [
        name
        for name in space.stages.get("resampler", {})
        if REGISTRY["resampler"][name].numeric_only
    ]
    if not data.categorical or not offered or _shipped(space):
        return
    shown = ", ".join(map(repr, data.categorical[:3])) + (" …" if len(data.categorical) > 3 else "")
    warnings.warn(
        f"space {space.name!r} offers {', '.join(offered)}, which interpolate every column as "
        f"a number: the data has category columns ({shown}), so each runs as SMOTE-NC (SMOTE-N "
        "when every column is a category) and scores as smote does. Leave them out of the "
        "space, or encode the categories as numbers to search them.",
        UserWarning,
        stacklevel=user_stacklevel(),
    )


def _shipped(space: SearchSpace) -> bool:
    """One of autoimb's spaces, also as a worker reads it back from the study (by its text)."""
    if space.shipped:
        return True
    name = space.name
    return name in builtin_spaces() and shipped_space_file(name).read_text("utf-8") == space.text
