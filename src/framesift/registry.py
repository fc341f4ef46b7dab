"""Registries for the pluggable parts (encoders, selectors, mergers, answerers), and the one
grammar that names them: ``name[:argument]`` plus ``key=value`` parameters.

A part is a class. Its ``spec_argument`` class attribute names the constructor parameter that
``:argument`` fills (a checkpoint, a model id or folder, a weights file); a class without one
takes no argument. Its other keyword parameters are the user's ``key=value`` parameters, except
the names of the *context* the pipeline provides (``encoder``, ``models``, ``device``,
``dtype``, ``threads``), which are passed to the parts that ask for them by name. Unknown
names, arguments and parameters are one-line ``InputError``s that list the valid ones.

Built-in entries are import paths (``"framesift.select.dks:DKSSelector"``) resolved on first
use, so listing names or ``--help`` imports neither torch nor transformers. Other packages
(framesift's own training layer, or third parties) register through the entry-point group
``framesift.<kind>s`` (e.g. ``framesift.selectors``) or with the ``register`` decorator.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from importlib.metadata import EntryPoints

from framesift.errors import InputError

T = TypeVar("T")

# what a pipeline hands its parts
CONTEXT = frozenset({"encoder", "models", "device", "dtype", "threads"})


@dataclass(frozen=True)
class PartSpec:
    """A parsed ``name[:argument]``."""

    name: str
    argument: str | None = None

    @classmethod
    def parse(cls, spec: str) -> PartSpec:
        name, sep, argument = spec.strip().partition(":")
        if not name:
            raise InputError(f"{spec!r} names no part; write NAME or NAME:ARGUMENT")
        if sep and not argument:
            raise InputError(f"{spec!r} has an empty argument after ':'")
        return cls(name, argument or None)

    def __str__(self) -> str:
        return f"{self.name}:{self.argument}" if self.argument else self.name


class Registry(Generic[T]):
    def __init__(self, kind: str, builtins: dict[str, str]):
        self.kind = kind
        self._entries: dict[str, str | type[T]] = dict(builtins)
        self._plugins_loaded = False

    def register(self, name: str) -> Callable[[type[T]], type[T]]:
        """Decorator: ``@SELECTORS.register("mine")`` over a class."""

        def add(cls: type[T]) -> type[T]:
            if name in self._entries:
                raise ValueError(f"{self.kind} {name!r} is already registered")
            self._entries[name] = cls
            return cls

        return add

    def _load_plugins(self) -> None:
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        for entry in _installed_entry_points().select(group=f"framesift.{self.kind}s"):
            self._entries.setdefault(entry.name, entry.value.replace(" ", ""))

    def names(self) -> list[str]:
        self._load_plugins()
        return sorted(self._entries)

    def get(self, name: str) -> type[T]:
        if name not in self._entries:  # built-ins first: most runs never scan the plugins
            self._load_plugins()
        entry = self._entries.get(name)
        if entry is None:
            raise InputError(
                f"unknown {self.kind} {name!r}; choose one of: {', '.join(self.names())}"
            )
        if isinstance(entry, str):
            module, _, attr = entry.partition(":")
            entry = getattr(importlib.import_module(module), attr)
            self._entries[name] = entry
        return entry

    def check(self, spec: str, params: Mapping[str, Any] | None = None) -> PartSpec:
        """Parse ``spec`` and check its argument and parameter names without building it."""
        part = PartSpec.parse(spec)
        cls = self.get(part.name)
        _check_call(self.kind, part, cls, params or {})
        return part

    def build(
        self,
        spec: str,
        params: Mapping[str, Any] | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> T:
        """``spec`` is ``name[:argument]``; ``params`` the user's; ``context`` what the caller
        offers (only the names the part's constructor takes are passed)."""
        part = self.check(spec, params)
        cls = self.get(part.name)
        accepted = _parameters(cls)
        kwargs = {k: v for k, v in (context or {}).items() if k in accepted}
        kwargs.update(params or {})
        if part.argument is not None:
            kwargs[cls.spec_argument] = part.argument
        return cls(**kwargs)

    def parameters(self, name: str) -> list[str]:
        """The ``key=value`` parameters part ``name`` takes."""
        cls = self.get(name)
        skip = CONTEXT | {getattr(cls, "spec_argument", None)}
        return sorted(p for p in _parameters(cls) if p not in skip)


@cache
def _installed_entry_points() -> EntryPoints:
    """Every installed package's entry points, read once per process (a scan of all
    distributions: ~15 ms, and importing importlib.metadata ~20 ms more, paid only when a
    name is not built in or the names are listed)."""
    from importlib.metadata import entry_points

    return entry_points()


def _parameters(cls: type) -> dict[str, inspect.Parameter]:
    signature = inspect.signature(cls)
    return {
        name: p
        for name, p in signature.parameters.items()
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    }


def _check_call(kind: str, part: PartSpec, cls: type, params: Mapping[str, Any]) -> None:
    argument = getattr(cls, "spec_argument", None)
    accepted = _parameters(cls)
    if part.argument is not None and argument is None:
        raise InputError(f"{kind} {part.name!r} takes no ':' argument, got {str(part)!r}")
    if part.argument is None and argument is not None:
        default = accepted[argument].default
        if default is inspect.Parameter.empty:
            raise InputError(
                f"{kind} {part.name!r} needs an argument: {part.name}:{argument.upper()}"
            )
    valid = sorted(p for p in accepted if p not in CONTEXT and p != argument)
    unknown = sorted(set(params) - set(valid))
    if unknown:
        choices = ", ".join(valid) if valid else "none"
        raise InputError(
            f"{kind} {part.name!r} has no parameter {', '.join(map(repr, unknown))}; "
            f"its parameters: {choices}"
        )


def parse_params(items: list[str], parts: tuple[str, ...], default: str) -> dict[str, dict]:
    """``["relevance_floor=0.1", "answerer.max_new_tokens=8"]`` -> per-part parameter dicts.

    ``PART.KEY=VALUE`` addresses one of ``parts``; a bare ``KEY=VALUE`` goes to ``default``.
    Values are read as int, float, true/false/none, or kept as text.
    """
    out: dict[str, dict[str, Any]] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise InputError(f"--param expects [PART.]KEY=VALUE, got {item!r}")
        part, dot, name = key.rpartition(".")
        part = part if dot else default
        if part not in parts:
            raise InputError(f"--param {item!r}: unknown part {part!r}; use one of {list(parts)}")
        out.setdefault(part, {})[name] = parse_value(value)
    return out


def parse_value(text: str) -> Any:
    """A command-line value as the type it spells."""
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered == "none":
        return None
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def lazy_attributes(package: str, names: dict[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` (PEP 562) importing ``names[attribute]`` on first access, so a
    package can re-export torch-heavy names without importing torch itself."""

    def __getattr__(name: str) -> Any:
        if name in names:
            return getattr(importlib.import_module(names[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
