"""Build a validated config from its sources, in order of precedence:

schema defaults < --config FILE < explicit CLI flags < --set section.key=value.

Every problem is reported as one line naming its source and key path, e.g.
``configs/gan.yaml: train.lr_g: Input should be greater than 0``.
"""

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from ganaug_cli.errors import ConfigError

M = TypeVar("M", bound=BaseModel)
KeyPath = tuple[str, ...]


def read_yaml_file(path: Path) -> dict:
    """A YAML mapping from ``path``; malformed YAML names the file and line."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config file ({exc})") from None
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(f"{where}: malformed YAML: {problem}") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ConfigError(f"{path}: expected a mapping of sections at the top level")
    return loaded


def parse_set_option(item: str) -> tuple[KeyPath, Any]:
    """``train.lr_g=1e-4`` -> (("train", "lr_g"), 0.0001); values are parsed as YAML."""
    key, sep, raw = item.partition("=")
    key = key.strip()
    if not sep or not key or any(not part for part in key.split(".")):
        raise ConfigError(f"--set {item}: expected section.key=value")
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError:
        value = raw
    return tuple(key.split(".")), value


def _assign(tree: dict, path: KeyPath, value: Any, label: str) -> None:
    node = tree
    for i, part in enumerate(path[:-1]):
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"{label}: {'.'.join(path[: i + 1])} is not a section")
        node = child
    node[path[-1]] = value


def _leaf_paths(tree: dict, prefix: KeyPath = ()) -> list[KeyPath]:
    paths = []
    for key, value in tree.items():
        path = prefix + (str(key),)
        paths.extend(_leaf_paths(value, path) if isinstance(value, dict) and value else [path])
    return paths


def _error_path(loc: tuple, tree: dict) -> KeyPath:
    """The part of pydantic's error location that names keys the user gave."""
    path: list[str] = []
    node: Any = tree
    for part in loc:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            break
        path.append(str(part))
    return tuple(path)


def _source_of(path: KeyPath, sources: dict[KeyPath, str]) -> str:
    for length in range(len(path), 0, -1):
        if path[:length] in sources:
            return sources[path[:length]]
    below = [label for key, label in sources.items() if key[: len(path)] == path]
    return below[-1] if below else "config"


def _problem_line(source: str, path: KeyPath, message: str) -> str:
    """A flag or ``--set key`` already names its key; files and run configs need the path."""
    dotted = ".".join(path)
    if not dotted:  # a rule across keys: its message names them
        return f"{source}: {message}"
    if source == f"--set {dotted}" or (source.startswith("--") and not source.startswith("--set")):
        return f"{source}: {message}"
    return f"{source}: {dotted}: {message}"


def _message(error: dict, schema: type[BaseModel], path: KeyPath) -> str:
    if error["type"] == "extra_forbidden":
        section = schema
        for part in path[:-1]:
            field = section.model_fields.get(part)
            annotation = getattr(field, "annotation", None)
            if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
                break
            section = annotation
        return f"unknown key (known: {', '.join(section.model_fields)})"
    return error["msg"].removeprefix("Value error, ")


def resolve_config(
    schema: type[M],
    *,
    file: Path | None = None,
    base: dict | None = None,
    flags: dict[str, tuple[str, Any]] | None = None,
    sets: list[str] | None = None,
) -> M:
    """Merge the sources in precedence order and validate once.

    ``base`` is a config already resolved (a resumed run's); ``flags`` maps a
    dotted key to (flag name, value) for the flags the user actually gave.
    """
    tree: dict = {}
    sources: dict[KeyPath, str] = {}

    def merge(layer: dict, label: str) -> None:
        for path in _leaf_paths(layer):
            value: Any = layer
            for part in path:
                value = value[part]
            _assign(tree, path, value, label)
            sources[path] = label

    if base:
        merge(base, "run config")
    if file is not None:
        merge(read_yaml_file(file), str(file))
    for key, (label, value) in (flags or {}).items():
        path = tuple(key.split("."))
        _assign(tree, path, value, label)
        sources[path] = label
    problems = []
    for item in sets or []:
        try:
            path, value = parse_set_option(item)
            _assign(tree, path, value, f"--set {'.'.join(path)}")
            sources[path] = f"--set {'.'.join(path)}"
        except ConfigError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ConfigError(problems)
    try:
        return schema.model_validate(tree)
    except ValidationError as exc:
        messages: dict[tuple[str, KeyPath], list[str]] = {}  # per key, in pydantic's order
        for error in exc.errors():
            path = _error_path(error["loc"], tree)
            found = messages.setdefault((_source_of(path, sources), path), [])
            if (message := _message(error, schema, path)) not in found:
                found.append(message)
        raise ConfigError([_problem_line(source, path, _joined(found)) for (source, path), found in messages.items()]) from None


def _joined(messages: list[str]) -> str:
    """One line per key: a value that fits no member of a union (``int | 'auto'``) gets one
    error per member, joined here as "Input should be a valid integer or 'auto'"."""
    prefix = "Input should be "
    if len(messages) == 1 or not all(m.startswith(prefix) for m in messages):
        return "; ".join(messages)
    return prefix + " or ".join(m.removeprefix(prefix).split(", ")[0] for m in messages)


def schema_default(schema: type[BaseModel], dotted: str) -> Any:
    """The schema's default for ``section.key`` (used to show defaults in --help)."""
    section, key = dotted.split(".")
    section_model = schema.model_fields[section].annotation
    return section_model.model_fields[key].default
