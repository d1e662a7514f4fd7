"""Typed dataclass configs from YAML, with CLI overrides: flags > YAML > defaults."""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TypeVar

import yaml

from bizztune.core.errors import ConfigError

T = TypeVar("T")


def load_yaml_file(path: Path) -> Any:
    """The YAML value of a file; a ConfigError naming the file (and line) when it is not UTF-8
    text or not valid YAML."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        lineno = raw.count(b"\n", 0, e.start) + 1
        raise ConfigError(
            f"{path}, line {lineno}: not UTF-8 text (byte 0x{raw[e.start]:02x} at offset "
            f"{e.start}); save it as UTF-8"
        ) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = f", line {mark.line + 1}" if mark is not None else ""
        why = " ".join(str(getattr(e, "problem", None) or getattr(e, "reason", None) or e).split())
        raise ConfigError(f"{path}{line}: invalid YAML: {why}") from None


def read_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    data = load_yaml_file(path) or {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a config file must be a YAML mapping")
    return data


def build(cls: type[T], data: dict[str, Any], where: str) -> T:
    """Instantiate a (possibly nested) dataclass from a mapping, naming unknown keys."""
    if not dataclasses.is_dataclass(cls):
        raise TypeError(cls)
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if key not in names:
            raise ConfigError(f"{where}: unknown key '{key}'; allowed: {', '.join(sorted(names))}")
        hint = hints[key]
        sub = _dataclass_in(hint)
        if sub is not None and isinstance(value, dict):
            value = build(sub, value, f"{where}.{key}")
        elif _is_path(hint) and isinstance(value, str):
            value = Path(value)
        kwargs[key] = value
    try:
        return cls(**kwargs)
    except TypeError as e:
        raise ConfigError(f"{where}: {e}") from None


def _dataclass_in(hint: Any) -> type | None:
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        return hint
    for arg in typing.get_args(hint):
        if dataclasses.is_dataclass(arg) and isinstance(arg, type):
            return arg
    return None


def _is_path(hint: Any) -> bool:
    return hint is Path or (
        isinstance(hint, types.UnionType | typing._UnionGenericAlias)  # type: ignore[attr-defined]
        and Path in typing.get_args(hint)
    )


def merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Recursively overlay ``overrides`` (None values are ignored: the flag was not given)."""
    out = dict(base)
    for k, v in overrides.items():
        if v is None:
            continue
        if isinstance(v, dict):
            out[k] = merge(out[k] if isinstance(out.get(k), dict) else {}, v)
        else:
            out[k] = v
    return out


def to_yaml(obj: Any) -> str:
    def conv(x: Any) -> Any:
        if dataclasses.is_dataclass(x) and not isinstance(x, type):
            return {f.name: conv(getattr(x, f.name)) for f in dataclasses.fields(x)}
        if isinstance(x, Path):
            return str(x)
        if isinstance(x, dict):
            return {k: conv(v) for k, v in x.items()}
        if isinstance(x, (list, tuple)):
            return [conv(v) for v in x]
        return x

    return yaml.safe_dump(conv(obj), sort_keys=False, allow_unicode=True)


def parse_assignments(pairs: Iterable[str], flag: str) -> dict[str, Any]:
    """``["prior=uniform", "rate=0.1"]`` -> ``{"prior": "uniform", "rate": 0.1}``: each value
    is read as a YAML scalar or list (numbers, true/false, null, [a, b]), else kept as text;
    ``flag`` names the option in the error for a pair without ``=``."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{flag} must be KEY=VALUE, not {pair!r}")
        try:
            out[key.strip()] = yaml.safe_load(value) if value.strip() else ""
        except yaml.YAMLError:
            out[key.strip()] = value
    return out
