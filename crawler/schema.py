"""The one reader of ``newswatch.yaml``: frozen dataclasses declare the document, :func:`read` checks it.

A schema class is a frozen dataclass whose fields are the keys of one YAML mapping. The annotation says
what a key holds (``str``, ``int``, ``float``, ``bool``, ``tuple[X, ...]`` for a list, another schema
class for a mapping, ``X | None`` for an optional key); the field's default is the key's default; and
:func:`key` adds what the annotation cannot say (required, bounds, choices, a check). Rules that involve
several keys live in the class's ``__post_init__``, which raises :class:`Problem`.

Class attributes a schema class may set:

* ``SHORTHAND``: the field a bare value stands for (``- DeepSeek`` is ``- {term: DeepSeek}``);
* ``NAMED_BY``: the field that names an entry; once read, the name joins the key of every later
  problem, as in ``sources[0] (techmag).language``.

Every problem is an :class:`Invalid` with the key (``topics[1] (h800).context.window``) and the problem
(``must be at least 1, got 0``); the config loader adds the file.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import types
import typing
from collections.abc import Callable
from dataclasses import MISSING, dataclass
from typing import Any, TypeVar

T = TypeVar("T")


class Invalid(ValueError):
    """A value newswatch.yaml may not hold: ``key: problem``."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(key, problem)
        self.key, self.problem = key, problem

    def __str__(self) -> str:
        return f"{self.key}: {self.problem}" if self.key else self.problem


class Problem(ValueError):
    """Raised by a check or a ``__post_init__``: *problem* with the key relative to the value checked
    (``""`` for the value itself, ``"terms[0].needs_context"`` for a part of it)."""

    def __init__(self, problem: str, key: str = "") -> None:
        super().__init__(problem)
        self.problem, self.key = problem, key


@dataclass(frozen=True)
class Key:
    """What a field's annotation cannot say about its key."""

    required: bool = False
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()
    #: What the key holds, in words, for problems (instead of the type's name and the bounds).
    expect: str | None = None
    #: A list key must hold at least one item.
    non_empty: bool = False
    #: Called with each value read (each item of a list); returns the value to keep or raises Problem.
    check: Callable[[Any], Any] | None = None


def key(default: Any = MISSING, *, default_factory: Any = MISSING, **spec: Any) -> Any:
    """A schema field: its default and its :class:`Key`."""
    return dataclasses.field(default=default, default_factory=default_factory, metadata={"key": Key(**spec)})


#: Source and topic names: they appear in alert routing, the archive and on the command line.
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def check_name(name: str) -> str:
    if not NAME_RE.fullmatch(name):
        raise Problem(f"{name!r} must start with a letter or digit and hold only letters, digits, '_', '.', '-'")
    return name


def name_key() -> Any:
    """The ``name`` field of an entry: required, checked by :func:`check_name`."""
    return key(required=True, check=check_name, expect="a name of letters, digits, '_', '.', '-'")


def unique_names(entries: tuple[Any, ...], at: str, what: str) -> None:
    """Refuse two entries of one list with the same ``name`` (for a ``__post_init__``)."""
    seen: set[str] = set()
    for i, entry in enumerate(entries):
        if entry.name in seen:
            raise Problem(f"duplicate {what} name {entry.name!r}", f"{at}[{i}].name")
        seen.add(entry.name)


_NO_KEY = Key()
_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "true or false", tuple: "a list"}


def kind(value: Any) -> str:
    """What a YAML value is, in words."""
    return {type(None): "nothing", bool: "a boolean", int: "a number", float: "a number", str: "a string",
            list: "a list", dict: "a mapping"}.get(type(value), type(value).__name__)


def read(cls: type[T], data: Any, at: str = "") -> T:
    """*data* (parsed YAML) as an instance of the schema class *cls*, at key *at*. Raises :class:`Invalid`."""
    return typing.cast(T, _value(cls, data, at, _NO_KEY))


def read_list(cls: type[T], data: Any, at: str, spec: Key = _NO_KEY) -> tuple[T, ...]:
    """*data* as a list of *cls*, at key *at*. Raises :class:`Invalid`."""
    return typing.cast(tuple[T, ...], _value(typing.cast(Any, tuple)[cls, ...], data, at, spec))


@dataclass(frozen=True)
class KeyInfo:
    """One key of the schema, as the reference documentation shows it."""

    path: str  # dotted; ``[]`` marks each item of a list: ``sources[].listings[].follow``
    required: bool
    default: Any  # MISSING when there is none
    allowed: str  # in the words of the error messages: "an integer between 1 and 16"


def keys_of(cls: type, at: str = "") -> list[KeyInfo]:
    """Every key under schema class *cls*, nested mappings and list items included (the documentation's
    reference table is checked against this)."""
    found = []
    for name, tp, spec, required in _fields(cls):
        path = _join(at, name)
        inner = _strip_none(tp)
        item = typing.get_args(inner)[0] if typing.get_origin(inner) is tuple else None
        if _is_schema(inner) and _shorthand(inner) is None:
            found.extend(keys_of(inner, path))
            continue
        if _is_schema(item) and _shorthand(item) is None:
            found.append(KeyInfo(path, required, MISSING, spec.expect or "a list of mappings"))
            found.extend(keys_of(item, path + "[]"))
            continue
        field = next(f for f in dataclasses.fields(cls) if f.name == name)
        default = field.default if field.default_factory is MISSING else field.default_factory()
        found.append(KeyInfo(path, required, default, _allowed(inner, spec)))
    return found


def _allowed(tp: Any, spec: Key) -> str:
    if spec.expect:
        return spec.expect
    if typing.get_origin(tp) is tuple:
        item = _describe(typing.get_args(tp)[0]).removeprefix("a ").removeprefix("an ")
        return f"a list of {item}s" + (f": {', '.join(repr(c) for c in spec.choices)}" if spec.choices else "")
    if spec.choices:
        return " or ".join(repr(c) for c in spec.choices)
    bounds = _bounds(spec)
    return f"{_describe(tp)}, {bounds}" if bounds else _describe(tp)


def _bounds(spec: Key) -> str | None:
    low, high = spec.low, spec.high
    if low is not None and high is not None:
        return f"between {low} and {high}"
    return f"at least {low}" if low is not None else f"at most {high}" if high is not None else None


@functools.cache
def _fields(cls: type) -> tuple[tuple[str, Any, Key, bool], ...]:
    """(name, type, Key, required) of each YAML key of *cls*."""
    hints = typing.get_type_hints(cls)
    found = []
    for f in dataclasses.fields(cls):
        if f.init:
            spec = f.metadata.get("key", _NO_KEY)
            found.append((f.name, hints[f.name], spec,
                          spec.required or (f.default is MISSING and f.default_factory is MISSING)))
    return tuple(found)


def _is_schema(tp: Any) -> typing.TypeGuard[type]:
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)


def _shorthand(cls: type) -> tuple[str, Any] | None:
    """The name and type of the field a bare value stands for, or None."""
    name = getattr(cls, "SHORTHAND", None)
    return next((n, _strip_none(t)) for n, t, _, _ in _fields(cls) if n == name) if name else None


def _describe(tp: Any) -> str:
    tp = _strip_none(tp)
    if _is_schema(tp):
        shorthand = _shorthand(tp)
        return f"{_describe(shorthand[1])} or a mapping" if shorthand else "a mapping"
    return _NAMES.get(typing.get_origin(tp) or tp, "a string")


def _strip_none(tp: Any) -> Any:
    if isinstance(tp, types.UnionType) or typing.get_origin(tp) is typing.Union:
        (inner,) = [a for a in typing.get_args(tp) if a is not type(None)]
        return inner
    return tp


def _join(at: str, name: str) -> str:
    return f"{at}.{name}" if at and name else at or name


def _value(tp: Any, value: Any, at: str, spec: Key) -> Any:
    tp = _strip_none(tp)
    expect = spec.expect or _describe(tp)
    if _is_schema(tp):
        shorthand = _shorthand(tp)
        if shorthand and not isinstance(value, dict):
            if not _fits(shorthand[1], value):
                raise Invalid(at, f"must be {expect}, got {kind(value)}")
            value = {shorthand[0]: value}
        return _mapping(tp, value, at)
    if typing.get_origin(tp) is tuple:
        if not isinstance(value, list):
            raise Invalid(at, f"must be {expect}, got {kind(value)}")
        if spec.non_empty and not value:
            raise Invalid(at, "must be a non-empty list")
        item_spec = dataclasses.replace(spec, expect=None)
        return tuple(_value(typing.get_args(tp)[0], v, f"{at}[{i}]", item_spec) for i, v in enumerate(value))
    if tp not in _NAMES:  # a value a check builds from a string (a compiled regex)
        tp = str
    if not _fits(tp, value):
        raise Invalid(at, f"must be {expect}, got {kind(value)}")
    if isinstance(value, str) and not value.strip():
        raise Invalid(at, "must not be empty")
    if tp is float:
        value = float(value)
    if spec.choices and value not in spec.choices:
        raise Invalid(at, f"must be {' or '.join(repr(c) for c in spec.choices)}, got {value!r}")
    if (spec.low is not None and value < spec.low) or (spec.high is not None and value > spec.high):
        raise Invalid(at, f"must be {spec.expect or _bounds(spec)}, got {value!r}")
    if spec.check is not None:
        try:
            return spec.check(value)
        except Problem as exc:
            raise Invalid(_join(at, exc.key), exc.problem) from None
    return value


def _fits(tp: Any, value: Any) -> bool:
    if tp is tuple or typing.get_origin(tp) is tuple:
        return isinstance(value, list)
    if isinstance(value, bool):  # bool is an int: a number key must not take `yes`
        return tp is bool
    return isinstance(value, (int, float) if tp is float else tp)


def _mapping(cls: type, data: Any, at: str) -> Any:
    if not isinstance(data, dict):
        raise Invalid(at, f"must be a mapping, got {kind(data)}")
    fields = _fields(cls)
    allowed = [name for name, _, _, _ in fields]
    for name in data:
        if name not in allowed:
            raise Invalid(_join(at, str(name)), f"unknown key {name!r} (allowed: {', '.join(allowed)})")
    named_by = getattr(cls, "NAMED_BY", None)
    values: dict[str, Any] = {}
    label = at
    for name, tp, spec, required in fields:
        if data.get(name) is None:
            if required:
                raise Invalid(_join(label, name), "missing required key")
            continue  # the dataclass default
        values[name] = _value(tp, data[name], _join(label, name), spec)
        if name == named_by:
            label = f"{at} ({values[name]})"
    try:
        return cls(**values)
    except Problem as exc:
        raise Invalid(_join(label, exc.key), exc.problem) from None
