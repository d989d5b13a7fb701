"""Topic rules: the ``topics:`` list of newswatch.yaml, checked and compiled (see crawler.matching)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from crawler.matching.engine import FIELDS, CompiledTopics, normalise_rule_text
from crawler.matching.errors import RuleError
from crawler.matching.regex_core import regex_core
from crawler.text import WORD_RE

_TOPIC_KEYS = ("name", "description", "terms", "context", "exclude", "fields")
_TERM_KEYS = ("term", "regex", "label", "case_sensitive", "needs_context")
_PHRASE_KEYS = ("term", "regex", "label", "case_sensitive")
_CONTEXT_KEYS = ("terms", "window")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class Pattern:
    label: str  # the term as written (or the regex source)
    regex: re.Pattern[str]
    core: str  # case-folded word every match contains
    needs_context: bool = False


@dataclass(frozen=True)
class Topic:
    name: str
    terms: tuple[Pattern, ...]
    context: tuple[Pattern, ...] | None
    context_labels: tuple[str, ...]
    window: int | None
    excludes: tuple[Pattern, ...]
    fields: tuple[str, ...]


def _phrase_regex(text: str) -> str:
    """A plain term as a regex: literal words; a run of spaces/hyphens between words
    matches any run of spaces/hyphens or none ("Ascend 910C" = "Ascend-910C" = "Ascend910C")."""
    parts = [re.escape(p) for p in re.split(r"[\s-]+", text.strip(" -"))]
    return r"[\s-]*".join(parts)


def _bounded(body: str, first_is_word: bool, last_is_word: bool) -> str:
    # Unicode word boundaries only where the term itself starts/ends with a word character,
    # so "$DEEPSEEK" still works while "Ascend" never matches inside "ascendente".
    return (r"(?<!\w)" if first_is_word else "") + f"(?:{body})" + (r"(?!\w)" if last_is_word else "")



def _compile_pattern(raw: Any, key: str, topic: str, allowed: tuple[str, ...]) -> Pattern:
    where = f"topic {topic!r}"
    if isinstance(raw, str):
        raw = {"term": raw}
    if not isinstance(raw, dict):
        raise RuleError(key, f"{where}: expected a string or a mapping, got {type(raw).__name__}")
    for k in raw:
        if k not in allowed:
            raise RuleError(f"{key}.{k}", f"{where}: unknown key {k!r}; expected one of {', '.join(allowed)}")
    if ("term" in raw) == ("regex" in raw):
        raise RuleError(key, f"{where}: give exactly one of 'term' or 'regex'")
    kind = "term" if "term" in raw else "regex"
    value = raw[kind]
    if not isinstance(value, str):
        raise RuleError(f"{key}.{kind}", f"{where}: {kind} must be a string, got {type(value).__name__}")
    if not value.strip():
        raise RuleError(f"{key}.{kind}", f"{where}: empty {kind}")
    for flag in ("case_sensitive", "needs_context"):
        if flag in raw and not isinstance(raw[flag], bool):
            raise RuleError(f"{key}.{flag}", f"{where}, {kind} {value!r}: {flag} must be true or false")
    label = raw.get("label", value)
    if not isinstance(label, str) or not label.strip():
        raise RuleError(f"{key}.label", f"{where}, {kind} {value!r}: label must be a non-empty string")
    flags = 0 if raw.get("case_sensitive", False) else re.IGNORECASE
    if kind == "term":
        text = normalise_rule_text(value).strip()
        words = WORD_RE.findall(text)
        if not words:
            raise RuleError(f"{key}.term", f"{where}: term {value!r} has no letters or digits")
        body = _phrase_regex(text)
        core = max(words, key=len).casefold()
        bounded = _bounded(body, bool(WORD_RE.match(text)), bool(re.search(r"\w$", text)))
    else:
        try:
            re.compile(value)
        except re.error as exc:
            raise RuleError(f"{key}.regex", f"{where}: regex {value!r} is not valid: {exc}") from exc
        if re.fullmatch(value, "", flags):
            raise RuleError(f"{key}.regex", f"{where}: regex {value!r} matches the empty string")
        core = regex_core(value, f"{key}.regex")
        if len(core) < 2:
            raise RuleError(
                f"{key}.regex",
                f"{where}: regex {value!r} needs a literal word (2+ letters/digits, outside "
                "alternatives and optional parts) that every match contains, for the prefilter",
            )
        bounded = _bounded(value, True, True)
    return Pattern(
        label=label,
        regex=re.compile(bounded, flags),
        core=core,
        needs_context=bool(raw.get("needs_context", False)),
    )


def _list_of(raw: Any, key: str, topic: str, what: str) -> list[Any]:
    if not isinstance(raw, list):
        raise RuleError(key, f"topic {topic!r}: {what} must be a list, got {type(raw).__name__}")
    if not raw:
        raise RuleError(key, f"topic {topic!r}: {what} is empty")
    return raw


def _compile_topic(raw: Any, i: int, seen: set[str]) -> Topic:
    key = f"topics[{i}]"
    if not isinstance(raw, dict):
        raise RuleError(key, f"a topic must be a mapping, got {type(raw).__name__}")
    name = raw.get("name")
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise RuleError(f"{key}.name", "a topic needs a name of letters, digits, '_', '-' or '.'")
    for k in raw:
        if k not in _TOPIC_KEYS:
            raise RuleError(f"{key}.{k}", f"topic {name!r}: unknown key {k!r}; expected one of {', '.join(_TOPIC_KEYS)}")
    if name in seen:
        raise RuleError(f"{key}.name", f"topic name {name!r} is used twice")
    seen.add(name)
    if "description" in raw and not isinstance(raw["description"], str):
        raise RuleError(f"{key}.description", f"topic {name!r}: description must be a string")
    if "terms" not in raw:
        raise RuleError(f"{key}.terms", f"topic {name!r}: no terms")
    terms = tuple(
        _compile_pattern(t, f"{key}.terms[{j}]", name, _TERM_KEYS)
        for j, t in enumerate(_list_of(raw["terms"], f"{key}.terms", name, "terms"))
    )

    context: tuple[Pattern, ...] | None = None
    labels: tuple[str, ...] = ()
    window: int | None = None
    if "context" in raw:
        ctx = raw["context"]
        ctx_key = f"{key}.context"
        if isinstance(ctx, list):
            ctx = {"terms": ctx}
        if not isinstance(ctx, dict):
            raise RuleError(ctx_key, f"topic {name!r}: context must be a list of terms or a mapping")
        for k in ctx:
            if k not in _CONTEXT_KEYS:
                raise RuleError(f"{ctx_key}.{k}", f"topic {name!r}: unknown key {k!r}; expected terms, window")
        if "terms" not in ctx:
            raise RuleError(f"{ctx_key}.terms", f"topic {name!r}: context has no terms")
        pats = [
            _compile_pattern(t, f"{ctx_key}.terms[{j}]", name, _PHRASE_KEYS)
            for j, t in enumerate(_list_of(ctx["terms"], f"{ctx_key}.terms", name, "context terms"))
        ]
        context = tuple(pats)
        labels = tuple(p.label for p in pats)
        if "window" in ctx:
            w = ctx["window"]
            if isinstance(w, bool) or not isinstance(w, int) or w <= 0:
                raise RuleError(f"{ctx_key}.window", f"topic {name!r}: window must be a positive number of words, got {w!r}")
            window = w
    for j, t in enumerate(terms):
        if t.needs_context and context is None:
            raise RuleError(f"{key}.terms[{j}].needs_context", f"topic {name!r}: term {t.label!r} needs context but the topic has none")

    excludes: tuple[Pattern, ...] = ()
    if "exclude" in raw:
        excludes = tuple(
            _compile_pattern(t, f"{key}.exclude[{j}]", name, _PHRASE_KEYS)
            for j, t in enumerate(_list_of(raw["exclude"], f"{key}.exclude", name, "exclude"))
        )

    fields: tuple[str, ...] = FIELDS
    if "fields" in raw:
        fl = _list_of(raw["fields"], f"{key}.fields", name, "fields")
        bad = [f for f in fl if f not in FIELDS]
        if bad:
            raise RuleError(f"{key}.fields", f"topic {name!r}: unknown field {bad[0]!r}; expected title, body")
        fields = tuple(f for f in FIELDS if f in fl)
    return Topic(name, terms, context, labels, window, excludes, fields)


def compile_topics(raw: list[dict[str, Any]]) -> CompiledTopics:
    """Compile the ``topics:`` list of the config. Raises :class:`RuleError`."""
    if not isinstance(raw, list):
        raise RuleError("topics", f"must be a list of topics, got {type(raw).__name__}")
    seen: set[str] = set()
    return CompiledTopics([_compile_topic(t, i, seen) for i, t in enumerate(raw)])
