"""One story across languages: the evidence two rewrites of one story share, and how much is enough.

Text shingles (:mod:`crawler.dedup`) cannot see that an Italian rewrite and its English original are one
story. What survives translation is *language-independent evidence*, read from the title, the body and
the links inside the body:

========  ==========================================================  ======
kind      what                                                        weight
========  ==========================================================  ======
``u:``    a URL linked from inside the body                              4
``f:``    a figure with its unit (2,000 GPUs = 2.000 GPU; $1.5 billion     3
          = 1,5 miliardi di dollari; 60% = 60 per cento)
``d:``    a day of the year (March 5 = 5 marzo)                           2
``c:``    a model or part number (910C, H800, R1, V3.2)                   2
``m:``    a name of several words (Yuchen Jin, ModelArts Studio)          2
``q:``    a short quoted name                                             1
``n:``    a proper noun or acronym (Huawei, SMIC)                         1
``b:``    a bare number (384, 7,200)                                      1
========  ==========================================================  ======

Two more facts count only between two stories: a body that links the other story's URL (``self:``
keys, bonus :data:`LINK_BONUS`) and a citation of the other's outlet ("secondo quanto riportato da
Tom's Hardware", ``s:`` against the other's ``o:`` keys, bonus :data:`CITE_BONUS`).

What differs between the languages is normalised before keys are made: thousands and decimal
separators (read by the story's language), scale words (billion/miliardi), units and currencies,
month names, typographic apostrophes and Italian elisions (dell'Ascend), possessives (Huawei's),
capitalisation.

The score of a pair is a weighted overlap: the weight of the keys both share (plus the bonuses) over
the smaller of the two stories' total weights, so a short Italian summary of a long English article
can still reach it. A pair joins when the score reaches the threshold (``clusters.threshold``, default in
:class:`crawler.config.ClusterConfig`) and the shared
weight :data:`MIN_SHARED` (two short stories sharing three generic names are not one story). Both were
chosen on ``eval/clusters/tuning-*.yaml`` and are measured by ``make eval`` (``python -m
crawler.cluster_eval``), with a blind set written after they were frozen.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

from crawler.config import ClusterConfig
from crawler.dates import epoch, parse_utc
from crawler.state import ClusterEntry, StateStore, StoryInfo
from crawler.text import TYPOGRAPHY
from crawler.urls import canonical_url, is_http_url, same_site, site_name

#: Weight of each kind of key (see the module docstring); kinds not listed weigh nothing on their own.
WEIGHTS = {"u": 4.0, "f": 3.0, "d": 2.0, "c": 2.0, "m": 2.0, "q": 1.0, "n": 1.0, "b": 1.0}
#: Added when one story's body links the other story's URL.
LINK_BONUS = 6.0
#: Added when one story cites the other's outlet by name.
CITE_BONUS = 3.0
MIN_SHARED = 8.0
#: Keys the candidate lookup uses: the distinctive kinds (a story's names alone would list every
#: story of the week). ``self:`` is looked up as ``u:`` so a rewrite that links the original finds it.
LOOKUP_KINDS = frozenset("ufdcmq")
#: Candidates scored in full per story, the ones sharing most lookup keys first.
MAX_CANDIDATES = 20

# --- normalisation -----------------------------------------------------------------------------------

MONTHS = {
    **{name: i for i, name in enumerate(
        ("january february march april may june july august september october november december").split(), 1)},
    **{name: i for i, name in enumerate(
        ("gennaio febbraio marzo aprile maggio giugno luglio agosto settembre ottobre novembre dicembre").split(),
        1)},
    **{name: i for i, name in enumerate(
        "jan feb mar apr may jun jul aug sep oct nov dec".split(), 1)},
    "sept": 9, "gen": 1, "mag": 5, "giu": 6, "lug": 7, "ago": 8, "set": 9, "ott": 10, "dic": 12,
}

_SCALES = {
    "thousand": 1e3, "mila": 1e3, "k": 1e3,
    "million": 1e6, "millions": 1e6, "milione": 1e6, "milioni": 1e6, "mln": 1e6, "m": 1e6,
    "billion": 1e9, "billions": 1e9, "miliardo": 1e9, "miliardi": 1e9, "mld": 1e9, "mrd": 1e9, "bn": 1e9,
    "b": 1e9, "trillion": 1e12, "trilioni": 1e12,
}

# Unit words in either language -> one canonical unit.
_UNITS = {
    "%": "%", "percent": "%", "per cent": "%", "per cento": "%", "percento": "%", "punti percentuali": "pp",
    "percentage points": "pp",
    "gpu": "gpu", "gpus": "gpu", "chip": "chip", "chips": "chip", "processori": "chip", "processors": "chip",
    "accelerators": "accel", "accelerator": "accel", "acceleratori": "accel", "acceleratore": "accel",
    "nm": "nm", "nanometri": "nm", "nanometers": "nm", "nanometres": "nm",
    "gb": "gb", "tb": "tb", "mb": "mb", "pb": "pb", "gb/s": "gb/s", "tb/s": "tb/s",
    "w": "w", "watt": "w", "watts": "w", "kw": "kw", "mw": "mw", "gw": "gw",
    "ghz": "ghz", "mhz": "mhz",
    "tflops": "tflops", "pflops": "pflops", "eflops": "eflops", "tops": "tops", "petaflops": "pflops",
    "exaflops": "eflops", "teraflops": "tflops",
    "dollars": "usd", "dollar": "usd", "dollari": "usd", "dollaro": "usd", "usd": "usd",
    "euro": "eur", "euros": "eur", "eur": "eur", "yuan": "cny", "rmb": "cny", "renminbi": "cny",
    "tokens": "token", "token": "token", "parameters": "param", "parametri": "param",
    "servers": "server", "server": "server", "nodes": "node", "nodi": "node", "racks": "rack", "rack": "rack",
    "wafers": "wafer", "wafer": "wafer", "units": "unit", "unità": "unit", "pezzi": "unit",
    "cards": "card", "schede": "card", "employees": "staff", "dipendenti": "staff",
    "users": "user", "utenti": "user", "downloads": "download", "download": "download",
    "companies": "firm", "aziende": "firm", "imprese": "firm", "entities": "entity", "entità": "entity",
    "countries": "country", "paesi": "country", "engineers": "engineer", "ingegneri": "engineer",
}
_CURRENCY_SIGNS = {"$": "usd", "us$": "usd", "€": "eur", "¥": "cny", "£": "gbp"}

# A number as written in either language, with an optional currency before it and scale, unit after.
# Unit words may follow "di" ("2,5 miliardi di dollari") or a hyphen ("a 60-percent").
_UNIT_WORDS = "|".join(sorted((re.escape(u) for u in _UNITS if u != "%"), key=len, reverse=True))
_SCALE_WORDS = "|".join(sorted((re.escape(s) for s in _SCALES), key=len, reverse=True))
_FIGURE = re.compile(
    r"(?<![\w.,])(?P<cur>US\$|\$|€|¥|£)?\s?"
    r"(?P<num>\d{1,3}(?:[.,' ]\d{3})+(?:[.,]\d+)?|\d+(?:[.,]\d+)?)"
    r"(?![\w.,]?\d)"
    rf"(?:\s?-?\s?(?P<scale>(?:{_SCALE_WORDS})\b))?"
    rf"(?:\s?-?\s?(?:di\s|of\s)?(?P<unit>%|(?:{_UNIT_WORDS})(?![\w])))?",
    re.IGNORECASE,
)
_DAY_MONTH = re.compile(
    r"\b(?P<d>[0-3]?\d)(?:st|nd|rd|th|°)?\s+(?:of\s+)?(?P<m>[A-Za-z]{3,9})\.?\b", re.IGNORECASE)
_MONTH_DAY = re.compile(r"\b(?P<m>[A-Za-z]{3,9})\.?\s+(?P<d>[0-3]?\d)(?:st|nd|rd|th)?\b(?!\s*[.,]?\d{3})")
_TOKEN = re.compile(r"[A-Za-z0-9]+(?:\.[0-9]+)*[A-Za-z0-9]*")
_CODE = re.compile(r"^(?=.*\d)(?=.*[A-Za-z])[A-Za-z0-9.]+$")
_ORDINAL = re.compile(r"^\d+(st|nd|rd|th|s)$", re.IGNORECASE)
# A word: letters (with the apostrophes of elisions and possessives, and inner hyphens).
_WORD = re.compile(r"(?<![\w'])[^\W\d_](?:[\w']*[^\W_])?")
_QUOTED = re.compile(r'"([^"\n]{2,60})"')
_SENTENCE_GAP = re.compile(r"[.!?:;]\s*$|^\s*$")
# Italian elided articles and prepositions before a name: l'Ascend, dell'azienda, all'H800.
_ELISION = re.compile(
    r"^(?:l|d|dell|all|dall|nell|sull|coll|pell|un|quest|quell|c|n|s|t|m|v|tutt|sant|nessun)'(?=\w\w)",
    re.IGNORECASE)
_CITATION = re.compile(
    r"(?i:according to|reported by|first reported by|reports from|as reported by|via|citing|"
    r"secondo(?: quanto riportato da| quanto riferito da| quanto scrive| quanto rivelato da)?|"
    r"come riporta(?:to da)?|riportato da|riferisce|scrive|rivela|fonte:?|source:?)\s+"
    r"(?:the\s+|il\s+|lo\s+|la\s+|i\s+|gli\s+|le\s+)?"
    r"(?P<name>[A-Z][\w'&-]*(?: (?:[A-Z][\w'&-]*|of|de|del|della)){0,4})")
_YEAR = re.compile(r"^(19|20)\d\d$")

# Capitalised words that begin sentences or sit in every story: never names on their own.
_NOT_NAMES = frozenset("""
i a an the this that these those it its he she they we you our their his her in on at of for by with
from to and or but if as so not no yes mr ms mrs dr also however meanwhile while when where what which
who how why there here then than after before during since until per via according both all some many
most more less one two three new it's
il lo la gli le un uno una di del della dello dei degli delle nel nella nei negli nelle al alla ai
agli alle dal dalla dai dagli dalle sul sulla sui sugli sulle con su da tra fra e o ma se come anche
secondo questo questa questi queste quello quella non più meno già poi quando dove cosa chi perché
inoltre tuttavia intanto mentre infatti oggi ieri domani dopo prima nuovo nuova nuovi nuove
monday tuesday wednesday thursday friday saturday sunday lunedì martedì mercoledì giovedì venerdì
sabato domenica
""".split()) | frozenset(MONTHS)


def fold(text: str) -> str:
    """NFKC, with typographic apostrophes, quotes, dashes and spaces made plain: what both languages'
    copies of a name or a figure are compared in."""
    return unicodedata.normalize("NFKC", text).translate(TYPOGRAPHY)


def name_key(words: Sequence[str]) -> str:
    """A name compared across languages: elisions and possessives dropped, case folded."""
    out = []
    for word in words:
        word = _ELISION.sub("", word) if "'" in word[:8] else word
        if word.lower().endswith("'s"):
            word = word[:-2]
        elif len(word) > 2 and word.endswith("s") and word[:-1].isupper():
            word = word[:-1]  # GPUs, NPUs: the acronym
        out.append(word.strip("'").casefold())
    return " ".join(w for w in out if w)


def outlet_key(name: str) -> str:
    """An outlet's name as a citation spells it and as its domain does: "Tom's Hardware" and
    tomshardware.com are both ``tomshardware``."""
    return re.sub(r"[^a-z0-9]", "", fold(name).casefold())


def _number(text: str, language: str) -> float | None:
    """A number written in *language*'s conventions: 2,000 and 1.5 in English, 2.000 and 1,5 in Italian.
    A group that can only be a thousands group (1,234,567) is read as one in either."""
    raw = text.replace(" ", "").replace("'", "")
    thousands, decimal = (".", ",") if language == "it" else (",", ".")
    if raw.count(thousands) and raw.count(decimal) == 0 and not re.fullmatch(rf"\d{{1,3}}(\{thousands}\d{{3}})+", raw):
        thousands, decimal = decimal, thousands  # 1.5 in an Italian text: the writer used the other convention
    raw = raw.replace(thousands, "").replace(decimal, ".")
    try:
        return float(raw)
    except ValueError:
        return None


def _figure_value(value: float) -> str:
    text = f"{value:.4g}"
    return text if "e" not in text else str(int(round(value)))


def _figures(text: str, language: str) -> Iterable[str]:
    for m in _FIGURE.finditer(text):
        value = _number(m["num"], language)
        if value is None:
            continue
        if text[m.end("num"):m.end("num") + 1].isalpha() and not (m["unit"] and m.start("unit") == m.end("num")
                                                                  and m["unit"].lower() in _UNITS):
            continue  # 910C, 910B: a code, read by _codes (7nm and 96GB are figures)
        scale = (m["scale"] or "").lower()
        unit = (m["unit"] or "").lower()
        currency = _CURRENCY_SIGNS.get((m["cur"] or "").lower(), "")
        if scale in ("m", "b", "k") and not currency and not unit:
            scale = ""  # "7 m" or "a 5 b": not a scale without money or a unit
        if scale == "mila" and m.end() < len(text) and re.match(r"\s+miliardi", text[m.end():]):
            scale = "trillion"
        if scale:
            value *= _SCALES[scale]
        canon = currency or _UNITS.get(unit, "")
        if canon:
            yield f"f:{_figure_value(value)}:{canon}"
        elif scale:
            yield f"f:{_figure_value(value)}"
        elif value >= 100 and not (value.is_integer() and _YEAR.match(str(int(value)))):
            yield f"b:{_figure_value(value)}"


def _dates(text: str) -> Iterable[str]:
    for pattern in (_DAY_MONTH, _MONTH_DAY):
        for m in pattern.finditer(text):
            month = MONTHS.get(m["m"].lower().rstrip("."))
            day = int(m["d"])
            if month and 1 <= day <= 31:
                # "may 5" is also English prose ("may 5 ..."): only a capitalised May counts.
                if m["m"].lower() == "may" and not m["m"][0].isupper():
                    continue
                yield f"d:{month:02d}-{day:02d}"


def _codes(text: str) -> Iterable[str]:
    for token in _TOKEN.findall(text.replace("-", " ").replace("/", " ")):
        token = token.rstrip(".")
        if len(token) < 2 or not _CODE.match(token) or _ORDINAL.match(token):
            continue
        lead = re.match(r"^(\d+(?:\.\d+)?)([a-z/]+)$", token.lower())
        if lead and lead.group(2) in _UNITS:
            continue  # 7nm, 96GB: a figure, read by _figures
        yield "c:" + token.upper()


def _sentences(text: str) -> Iterable[str]:
    for paragraph in text.split("\n"):
        yield from re.split(r"(?<=[.!?])\s+", paragraph)


def _names(text: str) -> tuple[set[str], set[str]]:
    """Single-word and multi-word proper nouns. A capitalised word that starts a sentence counts only
    when it is also written capitalised inside one (English capitalises "The"; both capitalise names)."""
    runs: list[list[tuple[str, bool]]] = []
    inside: set[str] = set()
    for sentence in _sentences(text):
        run: list[tuple[str, bool]] = []
        first = True
        previous_end = 0
        for m in _WORD.finditer(sentence):
            word = m.group()
            between = sentence[previous_end:m.start()]
            previous_end = m.end()
            if run and (set(between) & _RUN_BREAKS or any(c.isdigit() for c in between)):
                runs.append(run)  # "Huawei, Nvidia" are two names; so are "H100 Nvidia"
                run = []
            if any(c.isdigit() for c in word):
                first = False
                continue  # a code, read by _codes
            bare = _ELISION.sub("", word) if "'" in word[:8] else word
            capital = bare[:1].isupper() or _mixed_case(bare)
            if capital and name_key([bare]) not in _NOT_NAMES and bare.lower() not in _UNITS:
                run.append((bare, first))
                if not first:
                    inside.add(name_key([bare]))
            elif run:
                runs.append(run)
                run = []
            first = False
        if run:
            runs.append(run)
    singles: set[str] = set()
    multis: set[str] = set()
    for run in runs:
        words = [w for w, initial in run
                 if not initial or len(run) > 1 or name_key([w]) in inside or _mixed_case(w)]
        if not words:
            continue
        for word in words:
            key = name_key([word])
            if len(key) > 1:
                singles.add(key)
        if len(words) > 1:
            multis.add(name_key(words))
    return singles, multis


_RUN_BREAKS = frozenset(",;:()[]\"!?")


def _mixed_case(word: str) -> bool:
    """DeepSeek, ModelArts, SMIC: capitals past the first letter mark a name wherever it stands."""
    return any(c.isupper() for c in word[1:])


def _quoted(text: str) -> Iterable[str]:
    for m in _QUOTED.finditer(text):
        inner = m.group(1).strip()
        if 1 <= len(inner.split()) <= 4 and any(c.isupper() for c in inner):
            yield "q:" + name_key(inner.split())


def _cited(text: str) -> Iterable[str]:
    for m in _CITATION.finditer(text):
        words = m["name"].split()
        # Up to the last capitalised word: "Tom's Hardware della scorsa settimana" -> Tom's Hardware.
        while words and not words[-1][:1].isupper():
            words.pop()
        for size in range(len(words), 0, -1):
            yield "s:" + outlet_key(" ".join(words[:size]))


@dataclass(frozen=True)
class Evidence:
    """The keys of one story (sorted, unique): what the state indexes and what pairs are scored on."""

    keys: tuple[str, ...]

    @property
    def weight(self) -> float:
        return sum(WEIGHTS.get(key[0], 0.0) for key in self.keys)

    def lookup_keys(self) -> list[str]:
        """The keys a candidate is found by (see :data:`LOOKUP_KINDS`); this story's own URL is among
        them as ``u:``, so a later story linking it finds it."""
        out = [key for key in self.keys if key[0] in LOOKUP_KINDS and key[1] == ":"]
        out += ["u:" + key[5:] for key in self.keys if key.startswith("self:")]
        return out


def story_evidence(title: str | None, text: str, *, language: str | None, url: str = "", source: str = "",
                   links: Sequence[str] = ()) -> Evidence:
    """Every evidence key of a story (see the module docstring)."""
    return with_identity(text_evidence(title, text, language=language, links=links), url=url, source=source)


def text_evidence(title: str | None, text: str, *, language: str | None, links: Sequence[str] = ()
                  ) -> tuple[str, ...]:
    """The keys read from the story itself (the costly part, computed in the analysis worker): everything
    but its own URL and outlet, which :func:`with_identity` adds once the story's canonical URL is known."""
    lang = (language or "en").lower()
    title = fold(title or "")
    body = fold(text or "")
    both = f"{title}\n{body}"
    keys: set[str] = set()
    keys.update(_figures(both, lang))
    keys.update(_dates(both))
    keys.update(_codes(both))
    singles, multis = _names(body)
    keys.update("n:" + name for name in singles)
    keys.update("m:" + name for name in multis)
    keys.update(_quoted(body))
    keys.update(_cited(body))
    keys.update("u:" + link for link in (canonical_url(link) for link in links) if link)
    return tuple(sorted(keys))


def with_identity(keys: Sequence[str], *, url: str = "", source: str = "") -> Evidence:
    """A story's :func:`text_evidence` with its own URL (``self:``; a link to itself is no evidence) and
    its outlet's names (``o:``, from the source name and the URL's domain)."""
    out = set(keys)
    own = canonical_url(url) if url else ""
    if own:
        out.discard("u:" + own)
        out.add("self:" + own)
        domain = site_name(own)
        if domain:
            out.add("o:" + outlet_key(domain))
    if source:
        out.add("o:" + outlet_key(source))
    return Evidence(tuple(sorted(out)))


@dataclass(frozen=True)
class Score:
    """How much of one story another's evidence covers."""

    score: float
    shared_weight: float
    shared: tuple[str, ...]  # the shared keys, with "links it" / "cites it" facts as ``link:`` and ``cite:``

    def joins(self, threshold: float) -> bool:
        return self.shared_weight >= MIN_SHARED and self.score >= threshold


def score_pair(a: Evidence, b: Evidence) -> Score:
    """Weighted overlap of two stories' evidence (see the module docstring)."""
    ak, bk = set(a.keys), set(b.keys)
    shared = sorted(key for key in ak & bk if key[0] in WEIGHTS and key[1] == ":")
    # A name of several words counts once: "Hong Kong" is not also "Hong" and "Kong".
    in_names = {"n:" + word for key in shared if key.startswith("m:") for word in key[2:].split()}
    weight = sum(WEIGHTS[key[0]] for key in shared if key not in in_names)
    facts: list[str] = []
    a_self = {key[5:] for key in ak if key.startswith("self:")}
    b_self = {key[5:] for key in bk if key.startswith("self:")}
    linked = sorted({url for url in a_self if "u:" + url in bk} | {url for url in b_self if "u:" + url in ak})
    if linked:
        weight += LINK_BONUS
        facts.append("link:" + linked[0])
    a_out = {key[2:] for key in ak if key.startswith("o:")}
    b_out = {key[2:] for key in bk if key.startswith("o:")}
    cited = {key[2:] for key in ak if key.startswith("s:")} & b_out
    cited |= {key[2:] for key in bk if key.startswith("s:")} & a_out
    if cited:
        weight += CITE_BONUS
        facts.append("cite:" + sorted(cited)[0])
    smaller = min(a.weight, b.weight)
    score = min(1.0, weight / smaller) if smaller > 0 else 0.0
    return Score(round(score, 4), weight, tuple(facts) + tuple(shared))


def within_window(a_epoch: float, b_epoch: float, window_days: float) -> bool:
    return math.isfinite(a_epoch) and math.isfinite(b_epoch) and abs(a_epoch - b_epoch) <= window_days * 86400


# --- links inside the body ------------------------------------------------------------------------

_BLOCKS = frozenset(("p", "li", "blockquote", "td", "dd", "h2", "h3", "h4", "figcaption"))
_SPACES = re.compile(r"\s+")


def body_link_candidates(tree: Any, base_url: str | None) -> list[tuple[str, str]]:
    """(text of the enclosing paragraph, absolute URL) of every http(s) link on a page tree: read before
    extraction, kept by :func:`body_links` when the paragraph made it into the article's text."""
    out = []
    for anchor in tree.iter("a"):
        href = (anchor.get("href") or "").strip()
        if not href or href.startswith("#"):
            continue
        url = urljoin(base_url or "", href)
        if not is_http_url(url):
            continue
        block = anchor
        while block is not None and not (isinstance(block.tag, str) and block.tag.lower() in _BLOCKS):
            block = block.getparent()
        if block is None:
            continue
        out.append((_SPACES.sub(" ", block.text_content()).strip(), url))
    return out


def body_links(candidates: Sequence[tuple[str, str]], text: str, page_url: str | None) -> tuple[str, ...]:
    """The links of paragraphs that are in *text*, to other sites (a link to the page's own site is
    navigation or "read also", not the source of a story)."""
    body = _SPACES.sub(" ", text)
    kept = []
    for paragraph, url in candidates:
        probe = paragraph[:80]
        if len(probe) < 20 or probe not in body:
            continue
        if page_url and same_site(url, page_url):
            continue
        kept.append(canonical_url(url))
    return tuple(dict.fromkeys(kept))


# --- the decision ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClusterDecision:
    """Which cluster a new original joins: ``joined`` (a story of another language it is one story with)
    and its score, or its own new cluster; ``best`` is the best candidate either way (for ``explain``)."""

    cluster: str
    joined: StoryInfo | None = None
    best: StoryInfo | None = None
    score: Score | None = None


class ClusterLinker:
    """Finds, for a new original, the story of another language it is a rewrite of (or that is a rewrite
    of it), through the state's inverted index of evidence keys."""

    def __init__(self, state: StateStore, params: ClusterConfig, max_candidates: int = MAX_CANDIDATES) -> None:
        self.state = state
        self.window_days = float(params.window_days)
        self.threshold = float(params.threshold)
        self.max_candidates = int(max_candidates)

    def decide(self, story_id: str, evidence: Evidence, language: str | None, at: float) -> ClusterDecision:
        window = self.window_days * 86400
        candidates = self.state.cluster_candidates(evidence.lookup_keys(), at - window, at + window,
                                                   language or "", self.max_candidates)
        best: tuple[tuple[bool, float, float, float], StoryInfo, Score] | None = None
        for info in candidates:
            if info.story_id == story_id:
                continue
            score = score_pair(evidence, Evidence(info.evidence))
            # Joining first, then the higher score, the more shared weight, the earlier story.
            rank = (score.joins(self.threshold), score.score, score.shared_weight, -info.at)
            if best is None or rank > best[0]:
                best = (rank, info, score)
        if best is None:
            return ClusterDecision(story_id)
        _, info, score = best
        if score.joins(self.threshold):
            return ClusterDecision(info.cluster, joined=info, best=info, score=score)
        return ClusterDecision(story_id, best=info, score=score)

    def entry(self, decision: ClusterDecision, evidence: Evidence, language: str | None, title: str | None,
              at: float) -> ClusterEntry:
        return ClusterEntry(decision.cluster, language or "", title or "", at, evidence.keys,
                            tuple(evidence.lookup_keys()))


def story_instant(published: str | None, fetched_at: str | None) -> float:
    """When a story came out, for the window: published if it parses, else when it was fetched."""
    when = parse_utc(published) or parse_utc(fetched_at)
    return when.timestamp() if when else epoch(None)
