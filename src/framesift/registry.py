"""Registries for the pluggable parts (encoders, selectors, answerers).

Built-in entries are import paths (``"framesift.select.dks:DKSSelector"``) resolved on first
use, so listing names or parsing ``--help`` imports neither torch nor transformers. Third-party
parts register with a decorator. A duplicate name raises; an unknown name raises with the list
of valid names.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, kind: str, builtins: dict[str, str]):
        self.kind = kind
        self._entries: dict[str, str | type[T]] = dict(builtins)

    def register(self, name: str) -> Callable[[type[T]], type[T]]:
        """Decorator: ``@SELECTORS.register("mine")`` over a class."""

        def add(cls: type[T]) -> type[T]:
            if name in self._entries:
                raise ValueError(f"{self.kind} {name!r} is already registered")
            self._entries[name] = cls
            return cls

        return add

    def names(self) -> list[str]:
        return sorted(self._entries)

    def get(self, name: str) -> type[T]:
        entry = self._entries.get(name)
        if entry is None:
            from framesift.errors import InputError

            raise InputError(
                f"unknown {self.kind} {name!r}; choose one of: {', '.join(self.names())}"
            )
        if isinstance(entry, str):
            module, _, attr = entry.partition(":")
            entry = getattr(importlib.import_module(module), attr)
            self._entries[name] = entry
        return entry

    def build(self, name: str, **kwargs: Any) -> T:
        return self.get(name)(**kwargs)


def lazy_attributes(package: str, names: dict[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` (PEP 562) importing ``names[attribute]`` on first access, so a
    package can re-export torch-heavy names without importing torch itself."""

    def __getattr__(name: str) -> Any:
        if name in names:
            return getattr(importlib.import_module(names[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
