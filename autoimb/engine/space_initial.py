"""The strategies a space tries first (its ``initial:`` list), checked when it is loaded: an
entry the space could never draw would be left out of the search in silence."""

from __future__ import annotations

from typing import Any

from autoimb.engine.space_params import Param
from autoimb.engine.space_yaml import as_written, at_line
from autoimb.exceptions import SearchSpaceError, did_you_mean
from autoimb.stages import REGISTRY, STAGES, Component


def takes_no_weights(model: str) -> bool:
    """A model that balances the classes itself, or whose fit takes no sample weights, is
    drawn with weighting 'none' only."""
    component: Component = REGISTRY["model"][model]
    return component.balances_itself or not component.sample_weight


def parse_initial(
    items: Any,
    stages: dict[str, dict[str, dict[str, Param]]],
    source: str,
    lines: dict,
    known: dict[str, dict[str, dict[str, Any]]] | None = None,
) -> list[dict[str, str]]:
    """``known``: each component's parameters, to tell a parameter named as if a stage."""
    where = f"{at_line(source, lines, 'initial')}, initial"
    if not isinstance(items, list):
        raise SearchSpaceError(
            f"{where}: must be a list of strategies, each a mapping of stage to component "
            f"(- {{model: lightgbm}}); got {as_written(items)!r}."
        )
    initial = []
    for item in items:
        if not isinstance(item, dict):
            raise SearchSpaceError(
                f"{where}: each entry maps stages to components; got {as_written(item)!r}."
            )
        # A stage the space leaves out runs no component: 'none' there is what runs anyway.
        item = {
            stage: name
            for stage, name in as_written(item).items()
            if not (stage in STAGES and stage not in stages and name == "none")
        }
        for stage, name in item.items():
            if stage not in STAGES:
                hint = did_you_mean(stage, STAGES)
                raise SearchSpaceError(
                    f"{where}: {stage!r} is no stage.{hint} The stages: {list(STAGES)}."
                    f"{_settings_hint(item, stage, known or {})}"
                )
            if not isinstance(name, str) or name not in stages.get(stage, {}):
                settings = ""
                if isinstance(name, dict) and len(name) == 1:
                    [(component, params)] = name.items()
                    if isinstance(params, dict) and params:
                        settings = _defaults_hint(stage, str(component), params)
                raise SearchSpaceError(
                    f"{where}: {stage}={name!r} is not a component of this space's {stage!r} "
                    f"stage.{settings}"
                )
        if reason := _never_drawn(item, stages):
            raise SearchSpaceError(f"{where}: {item!r} is never drawn from this space: {reason}.")
        initial.append({str(k): str(v) for k, v in item.items()})
    return initial


def _settings_hint(item: dict[str, Any], key: str, known: dict[str, dict[str, Any]]) -> str:
    """For a parameter of one of the entry's components, named beside the stages."""
    for stage, name in item.items():
        if isinstance(name, str) and key in known.get(stage, {}).get(name, {}):
            return _defaults_hint(stage, name, {key: item[key]})
    return ""


def _defaults_hint(stage: str, name: str, params: dict[str, Any]) -> str:
    """Where a strategy tried first takes settings of its own: the space's defaults."""
    key, value = next(iter(params.items()))
    own = [{stage: {"name": name, **params}}]
    return (
        f" A strategy tried first names one component per stage and runs each component at "
        f"the space's defaults: give {value!r} as the 'default:' of {stage}.{name}.{key}, or "
        f"pass warm_start={own!r} from Python."
    )


def _never_drawn(item: dict[str, str], stages: dict[str, dict[str, dict[str, Param]]]) -> str:
    """Why a strategy tried first is none the space can draw, with the fix; "" when it can.
    A trial of it could not be queued, and it would be left out in silence."""
    model = item.get("model")
    if model is None:
        return f"it names no model; name one of {list(stages['model'])}"
    for stage, offered in stages.items():
        if stage in item or "none" in offered:
            continue
        if stage == "weighting" and takes_no_weights(model):
            continue  # drawn as none for this model, whatever the stage offers
        return (
            f"a stage left out runs as 'none', which this space's {stage!r} stage does not "
            f"offer; name one of {list(offered)}, or add 'none: {{}}' to the stage"
        )
    weighting = item.get("weighting", "none")
    if weighting != "none" and takes_no_weights(model):
        why = (
            "it balances the classes itself"
            if REGISTRY["model"][model].balances_itself
            else "its fit takes no sample weights"
        )
        return (
            f"model {model!r} takes no class weights ({why}), so it is drawn with weighting "
            f"'none' only; leave weighting out of this strategy"
        )
    return ""
