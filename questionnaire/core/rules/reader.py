"""The rules file as data: YAML with line numbers (yes and no stay strings), and its content hash."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

import yaml

from questionnaire.core.rules.model import UNSIGNED_KEYS, RuleError, RulesFileError


class LineMap(dict[str, Any]):
    """A YAML mapping that knows its line, each key's line, and the keys it was given twice."""

    line = 0
    lines: dict[Any, int]
    duplicates: list[tuple[Any, int]]


class LineList(list[Any]):
    """A YAML list that knows its line and each item's."""

    line = 0
    lines: list[int]


try:  # libyaml's parser reads the file about ten times faster than the pure-Python one
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader as _SafeLoader  # type: ignore[assignment]


class YamlLoader(_SafeLoader):
    """SafeLoader that reads only true/false as booleans and remembers where everything was."""


YamlLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
YamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def _construct_map(loader: YamlLoader, node: yaml.MappingNode) -> LineMap:
    loader.flatten_mapping(node)
    result = LineMap()
    result.line, result.lines, result.duplicates = node.start_mark.line + 1, {}, []
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in result:
            result.duplicates.append((key, key_node.start_mark.line + 1))
        result[key] = loader.construct_object(value_node, deep=True)
        result.lines[key] = key_node.start_mark.line + 1
    return result


def _construct_list(loader: YamlLoader, node: yaml.SequenceNode) -> LineList:
    result = LineList(loader.construct_object(n, deep=True) for n in node.value)
    result.line, result.lines = node.start_mark.line + 1, [n.start_mark.line + 1 for n in node.value]
    return result


YamlLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_map)
YamlLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_list)


def line_of(obj: Any, key: Any = None, default: int = 1) -> int:
    """The line of a parsed mapping or list, or of one of its keys or items; `default` for anything else."""
    if isinstance(obj, LineMap):
        return obj.lines.get(key, obj.line) if key is not None else obj.line
    if isinstance(obj, LineList):
        return obj.lines[key] if isinstance(key, int) and key < len(obj.lines) else obj.line
    return default


def read_yaml(raw: bytes, shown: str) -> Any:
    """The parsed rules file (mappings and lists that know their lines); RulesFileError when it is
    not UTF-8 text or not YAML."""
    try:
        return yaml.load(raw.decode("utf-8"), Loader=YamlLoader)  # noqa: S506 - YamlLoader is a SafeLoader subclass  # nosec B506
    except UnicodeDecodeError as exc:
        raise RulesFileError([RuleError(shown, 1, None, "the file is not UTF-8 text")]) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        problem = getattr(exc, "problem", None) or str(exc)
        raise RulesFileError([RuleError(shown, line, None, f"YAML syntax: {problem}")]) from exc


# --- the content a sign-off approves ----------------------------------------------------------


def _canonical(obj: Any) -> Any:
    """Parsed YAML as plain JSON data: mappings with text keys (sorted when dumped), lists, scalars."""
    if isinstance(obj, Mapping):
        return {(k if isinstance(k, str) else f"{type(k).__name__}:{k!r}"): _canonical(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_canonical(v) for v in obj]
    if obj is None or isinstance(obj, (str, bool, int)):
        return obj
    if isinstance(obj, float):
        return repr(obj) if obj != obj or obj in (float("inf"), float("-inf")) else obj
    return f"{type(obj).__name__}:{obj}"  # dates and other YAML scalars


def content_sha256(data: Any) -> str:
    """SHA-256 of a parsed rules file's content: what a clinical sign-off approves.

    Computed over the parsed data, canonically serialised (JSON, sorted keys, no spaces), with the
    ruleset's `status` and `sign_off` left out: comments, quoting and layout do not count, while any
    change to a rule, level, message, source, example or the version does.
    """
    if isinstance(data, Mapping):
        data = dict(data)
        if isinstance(data.get("ruleset"), Mapping):
            data["ruleset"] = {k: v for k, v in data["ruleset"].items() if k not in UNSIGNED_KEYS}
    text = json.dumps(_canonical(data), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
