"""Tiny name -> factory registries (as timm's `_registry`): one decorator, one lookup.

    @MODELS.register("dcgan")
    def dcgan(cfg: ModelConfig) -> ModelPair: ...

Adding an architecture or a dataset is one function in one file.
"""

from __future__ import annotations

from typing import Callable, Generic, TypeVar

from gantool.core.errors import GantoolError

F = TypeVar("F", bound=Callable)


class Registry(Generic[F]):
    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, F] = {}

    def register(self, name: str) -> Callable[[F], F]:
        def deco(fn: F) -> F:
            if name in self._entries:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._entries[name] = fn
            return fn

        return deco

    def get(self, name: str) -> F:
        try:
            return self._entries[name]
        except KeyError:
            raise GantoolError(f"unknown {self.kind} {name!r}; choose one of: {', '.join(self.names())}") from None

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, name: str) -> bool:
        return name in self._entries
