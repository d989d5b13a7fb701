"""The error a topic rule that cannot compile raises (the config loader turns it into a ConfigError)."""

from __future__ import annotations


class RuleError(ValueError):
    """A topic rule that cannot compile. ``key`` is a path such as ``topics[1].context.window``."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(key, problem)
        self.key = key
        self.problem = problem

    def __str__(self) -> str:
        return f"{self.key}: {self.problem}"
