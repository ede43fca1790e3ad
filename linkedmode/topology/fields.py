"""Typed readers for the fields of a topology document; every failure is one TopologyError line."""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Iterable
from typing import Any, overload

from ..model.versions import Version

_MISSING: Any = object()

# Names of SSO domains, vCenters, hosts and users end up in certificates (a SAN URI path segment and a
# DNS name), so they keep to what both allow.
_IDENTITY_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$")


class TopologyError(Exception):
    """A topology that cannot be used. str() is one line: the file, the field path and the problem."""

    def __init__(self, source: str, path: str, problem: str) -> None:
        self.source = source
        self.path = path
        self.problem = " ".join(problem.split())
        super().__init__(": ".join(part for part in (source, path, self.problem) if part))


def spec_keys(spec: type, *, without: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The YAML keys of a spec: its dataclass field names."""
    return tuple(f.name for f in dataclasses.fields(spec) if f.name not in without)


def describe(value: object) -> str:
    """A value as the YAML author wrote it, with its YAML type: "'abc' (a string)"."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, int):
        return f"{value} (an integer)"
    if isinstance(value, float):
        return f"{value} (a number)"
    if isinstance(value, str):
        return f"{value!r} (a string)"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"{value!r} (a {type(value).__name__})"


def child(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


class Node:
    """One mapping of the document at a field path, read key by key. A null value counts as absent."""

    def __init__(self, data: object, path: str, source: str, keys: Iterable[str]) -> None:
        self.path = path
        self.source = source
        if not isinstance(data, dict):
            raise TopologyError(source, path, f"expected a mapping, got {describe(data)}")
        self.data: dict[Any, Any] = data
        allowed = tuple(keys)
        for key in data:
            if key not in allowed:
                raise self.fail(str(key), f"unknown key; allowed: {', '.join(allowed)}")

    def at(self, key: str) -> str:
        return child(self.path, key)

    def fail(self, key: str, problem: str) -> TopologyError:
        return TopologyError(self.source, self.at(key), problem)

    def has(self, key: str) -> bool:
        return self.data.get(key) is not None

    def _get(self, key: str, default: object) -> object:
        value = self.data.get(key)
        if value is None and default is _MISSING:
            raise self.fail(key, "required but missing")
        return value

    @overload
    def text(self, key: str, default: str = ...) -> str: ...

    @overload
    def text(self, key: str, default: None) -> str | None: ...

    def text(self, key: str, default: str | None = _MISSING) -> str | None:
        value = self._get(key, default)
        if value is None:
            return default
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, f"expected a non-empty string, got {describe(value)}")
        return value

    def identity_name(self, key: str, what: str) -> str:
        name = self.text(key)
        if not _IDENTITY_NAME.match(name):
            raise self.fail(key, f"{name!r} cannot name {what}: use letters, digits, '-' and '.' "
                                 "(it becomes part of a certificate name)")
        return name

    def integer(self, key: str, default: int = _MISSING, *, minimum: int = 1) -> int:
        value = self._get(key, default)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            wanted = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
            raise self.fail(key, f"expected {wanted}, got {describe(value)}")
        return value

    def number(self, key: str, default: float = _MISSING, *, minimum: float = 0.0) -> float:
        value = self._get(key, default)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < minimum:
            raise self.fail(key, f"expected a number >= {minimum:g}, got {describe(value)}")
        return float(value)

    def boolean(self, key: str, default: bool = _MISSING) -> bool:
        value = self._get(key, default)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.fail(key, f"expected a boolean (true or false), got {describe(value)}")
        return value

    def seconds(self, key: str, default: float = _MISSING) -> float:
        """A duration: a positive number of seconds."""
        value = self._get(key, default)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
            raise self.fail(key, f"expected a positive number of seconds, got {describe(value)}")
        return float(value)

    def choice(self, key: str, choices: Iterable[str], default: Any = _MISSING) -> Any:
        value = self._get(key, default)
        if value is None:
            return default
        allowed = tuple(choices)
        if not isinstance(value, str) or value not in allowed:
            raise self.fail(key, f"{value!r} is not one of {', '.join(allowed)}")
        return value

    def version(self, key: str) -> Version:
        value = self._get(key, _MISSING)
        # YAML reads 7.0 as a number; str() gives it back (6.70 comes back as 6.7, which is the same version).
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise self.fail(key, f"expected a version like 7.0.3, got {describe(value)}")
        try:
            return Version.parse(str(value))
        except ValueError as error:
            raise self.fail(key, str(error)) from None

    def address(self, key: str, default: str = _MISSING) -> str:
        value = self.text(key, default)
        host, colon, port = value.rpartition(":")
        if not colon or not host or not port.isdigit() or int(port) > 65535:
            raise self.fail(key, f"{value!r} is not an address like 127.0.0.1:8443 (host:port, port 0..65535)")
        return value

    def mapping(self, key: str, keys: Iterable[str]) -> Node | None:
        value = self.data.get(key)
        return None if value is None else Node(value, self.at(key), self.source, keys)

    def items(self, key: str) -> list[tuple[str, object]]:
        """The entries of a list, each with its field path; an absent list is empty."""
        value = self.data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.fail(key, f"expected a list, got {describe(value)}")
        return [(f"{self.at(key)}[{i}]", item) for i, item in enumerate(value)]

    def mappings(self, key: str, keys: Iterable[str]) -> list[Node]:
        allowed = tuple(keys)
        return [Node(item, path, self.source, allowed) for path, item in self.items(key)]


class Names:
    """Names that must be unique in some scope, each with the path where it was first given."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.first: dict[str, str] = {}

    def claim(self, node: Node, key: str, name: str) -> None:
        earlier = self.first.setdefault(name, node.at(key))
        if earlier != node.at(key):
            raise node.fail(key, f"duplicate {self.what} {name!r} (first at {earlier})")
