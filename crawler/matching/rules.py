"""Topic rules: the ``topics:`` list of newswatch.yaml as schema classes (crawler.schema), compiled.

Reading a rule checks it: a :class:`TermSpec` or :class:`PhraseSpec` compiles its regex as it is read
(and refuses one that cannot work), so :func:`compile_topics` only assembles what the engine searches.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, ClassVar

from crawler.matching.engine import FIELDS, CompiledTopics, normalise_rule_text
from crawler.matching.errors import RuleError
from crawler.matching.regex_core import regex_core
from crawler.schema import Problem, key, name_key, read_list, unique_names
from crawler.text import WORD_RE


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


@dataclass(frozen=True, kw_only=True)
class PhraseSpec:
    """A term (words, typography-insensitive) or a regex; a bare string is a term."""

    SHORTHAND: ClassVar[str] = "term"
    term: str | None = None
    regex: str | None = None
    label: str | None = None
    case_sensitive: bool = False
    pattern: Pattern = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if (self.term is None) == (self.regex is None):
            raise Problem("give exactly one of 'term' or 'regex'")
        flags = 0 if self.case_sensitive else re.IGNORECASE
        value = self.term or self.regex or ""
        if self.term is not None:
            text = normalise_rule_text(self.term).strip()
            words = WORD_RE.findall(text)
            if not words:
                raise Problem(f"term {self.term!r} has no letters or digits", "term")
            core = max(words, key=len).casefold()
            bounded = _bounded(_phrase_regex(text), bool(WORD_RE.match(text)), bool(re.search(r"\w$", text)))
        else:
            try:
                re.compile(value)
            except re.error as exc:
                raise Problem(f"regex {value!r} is not valid: {exc}", "regex") from None
            if re.fullmatch(value, "", flags):
                raise Problem(f"regex {value!r} matches the empty string", "regex")
            core = regex_core(value, "regex")  # it compiled above: parsing it cannot fail
            if len(core) < 2:
                raise Problem(f"regex {value!r} needs a literal word (2+ letters/digits, outside alternatives "
                              "and optional parts) that every match contains, for the prefilter", "regex")
            bounded = _bounded(value, True, True)
        label = self.label or value
        object.__setattr__(self, "pattern", Pattern(label, re.compile(bounded, flags), core,
                                                    getattr(self, "needs_context", False)))


@dataclass(frozen=True, kw_only=True)
class TermSpec(PhraseSpec):
    """One alias of a topic; ``needs_context``: it counts only with a context term nearby."""

    needs_context: bool = False


@dataclass(frozen=True, kw_only=True)
class ContextSpec:
    """What an ambiguous term needs nearby; a bare list is its terms."""

    SHORTHAND: ClassVar[str] = "terms"
    terms: tuple[PhraseSpec, ...] = key(required=True, non_empty=True)
    window: int | None = key(None, low=1, expect="a positive number of words")


@dataclass(frozen=True, kw_only=True)
class TopicSpec:
    NAMED_BY: ClassVar[str] = "name"
    name: str = name_key()
    description: str = ""
    terms: tuple[TermSpec, ...] = key(required=True, non_empty=True)
    context: ContextSpec | None = key(None, expect="a list of terms or a mapping")
    exclude: tuple[PhraseSpec, ...] = key((), non_empty=True)
    fields: tuple[str, ...] = key(FIELDS, non_empty=True, choices=FIELDS)

    def __post_init__(self) -> None:
        for j, t in enumerate(self.terms):
            if t.needs_context and self.context is None:
                raise Problem(f"term {t.pattern.label!r} needs context but the topic has none",
                              f"terms[{j}].needs_context")

    def compile(self) -> Topic:
        context = tuple(p.pattern for p in self.context.terms) if self.context else None
        return Topic(self.name, tuple(t.pattern for t in self.terms), context,
                     tuple(p.label for p in context or ()), self.context.window if self.context else None,
                     tuple(p.pattern for p in self.exclude), tuple(f for f in FIELDS if f in self.fields))


def read_topics(raw: Any) -> tuple[TopicSpec, ...]:
    """The ``topics:`` list, checked (see crawler.schema). Raises :class:`RuleError`."""
    specs = read_list(TopicSpec, raw, "topics")
    try:
        unique_names(specs, "topics", "topic")
    except Problem as exc:
        raise RuleError(exc.key, exc.problem) from None
    return specs


def compile_topics(raw: Any) -> CompiledTopics:
    """Compile the ``topics:`` list of the config. Raises :class:`RuleError`."""
    return build_topics(read_topics(raw))


def build_topics(specs: tuple[TopicSpec, ...]) -> CompiledTopics:
    return CompiledTopics([s.compile() for s in specs])
