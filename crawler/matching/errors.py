"""The error a topic rule that cannot compile raises (the config loader turns it into a ConfigError)."""

from __future__ import annotations

from crawler.schema import Invalid

#: A topic rule that cannot compile. ``key`` is a path such as ``topics[1] (h800).context.window``; the rules
#: are read by the one schema reader (crawler.schema), so this is its error.
RuleError = Invalid

__all__ = ["RuleError"]
