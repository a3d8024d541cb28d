"""Reading a search space's YAML: the line of every key kept for messages, numbers read as a
person writes them, and a space given in Python (a dict, or YAML text) turned into the same
text a file holds."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import yaml

from autoimb.exceptions import SearchSpaceError

# What a string needs to be read as YAML text rather than a file name: a line break, or a key
# (``model: ...``). A colon alone is no key: ``C:\spaces\mine.yaml`` is a Windows path.
_LOOKS_LIKE_YAML = re.compile(r"\n|:(\s|$)")

# YAML 1.2 floats with an exponent; PyYAML reads YAML 1.1, where ``1e-3`` or ``1.0e3`` (no
# dot, or no sign on the exponent) is a word, and ``C: 1e-3`` would be refused as text.
_EXPONENT_FLOAT = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$")


class LineLoader(yaml.SafeLoader):
    """Remembers the line of every mapping key, so errors can point into the file."""


class _LinelessLoader(LineLoader):
    """For a space given in Python: the lines of a text written for it would point nowhere."""


def _mapping_with_lines(loader: LineLoader, node: yaml.MappingNode) -> dict[str, Any]:
    lines: dict[Any, int] = {}
    for key, _ in node.value:  # YAML keeps the last of two alike in silence
        if key.value in lines:
            raise yaml.constructor.ConstructorError(
                problem=f"{key.value!r} given twice (also at line {lines[key.value]})",
                problem_mark=key.start_mark,
            )
        lines[key.value] = key.start_mark.line + 1
    mapping = loader.construct_mapping(node, deep=True)
    mapping["__lines__"] = lines if not isinstance(loader, _LinelessLoader) else {}
    return mapping


LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_with_lines)
LineLoader.add_implicit_resolver("tag:yaml.org,2002:float", _EXPONENT_FLOAT, list("-+.0123456789"))


def read_yaml(text: str, source: str, *, with_lines: bool = True) -> Any:
    """The document of ``text``, each mapping with a ``__lines__`` key (empty without lines)."""
    try:
        return yaml.load(text, Loader=LineLoader if with_lines else _LinelessLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark and with_lines else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise SearchSpaceError(f"{source}: malformed YAML{where}: {problem}") from exc


def as_written(value: Any) -> Any:
    """A value as the file wrote it: without the lines the loader keeps beside its keys."""
    if isinstance(value, dict):
        return {k: as_written(v) for k, v in value.items() if k != "__lines__"}
    if isinstance(value, list):
        return [as_written(v) for v in value]
    return value


def at_line(source: str, lines: dict[str, int], key: str) -> str:
    """Where ``key`` is: its line, where the text is the user's (not one written from a dict)."""
    line = lines.get(key)
    return f"{source}, line {line}" if line is not None else source


def looks_like_yaml(text: str) -> bool:
    return _LOOKS_LIKE_YAML.search(text) is not None


def text_of_mapping(space: Mapping[str, Any], source: str) -> str:
    """The YAML a file would hold for ``space``, in its own order: the same mapping gives the
    same text, which a study records and a resumed search compares."""
    try:
        return yaml.safe_dump(_plain(space), sort_keys=False, allow_unicode=True)
    except yaml.YAMLError as exc:
        raise SearchSpaceError(
            f"{source}: holds a value a space cannot: {exc}. Give plain numbers, text, true or "
            "false, lists and dicts, as a YAML file would."
        ) from None


def _plain(value: Any) -> Any:
    """Mappings and tuples as YAML writes them, and a NumPy number or array as the Python
    number or list it holds (``np.arange(3, 8, 2)`` as choices)."""
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if type(value).__module__ == "numpy" and hasattr(value, "tolist"):
        return value.tolist()
    return value
