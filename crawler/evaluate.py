"""Score topic rules against the labelled evaluation set.

    python -m crawler.evaluate [--topics FILE] [--cases FILE]

Prints precision and recall per topic and language (a rich table on a terminal,
plain text when piped) and exits 1 if any labelled case is wrong, listing those
cases with the matcher's explanation of every candidate.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import yaml

from crawler.config import CONFIG_ENV
from crawler.matching import CompiledTopics, RuleError, compile_topics

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
# The main set, and a blind held-out set written without seeing the rules (reported separately).
DEFAULT_CASES = (ROOT / "eval" / "topics" / "labelled.yaml", ROOT / "eval" / "topics" / "holdout.yaml")
# The case files are large (~25 KB each): libyaml's safe loader, where PyYAML was built with it, builds the
# same data as the pure-Python one some 15 times faster (make eval and the tests read them again and again).
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def default_topics_path(root: Path = ROOT) -> Path:
    """The config whose topics are evaluated: ``$NEWSWATCH_CONFIG``, else the shipped newswatch.yaml."""
    return Path(os.environ.get(CONFIG_ENV) or root / "newswatch.yaml")


def load_topics(path: Path) -> CompiledTopics:
    """Compile the ``topics:`` list of a YAML file (a newswatch config)."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict) or "topics" not in data:
        raise RuleError("topics", f"{path} has no top-level 'topics:' list")
    return compile_topics(data["topics"])


@dataclass(frozen=True)
class Case:
    id: str
    lang: str
    title: str
    body: str
    topics: frozenset[str]


def load_cases(path: Path, topic_names: Sequence[str] | None = None) -> list[Case]:
    """Read and check the labelled set: unique ids, known languages and topics."""
    data = yaml.load(Path(path).read_text(encoding="utf-8"), Loader=_YAML_LOADER)
    raw = data.get("cases") if isinstance(data, dict) else data
    if not isinstance(raw, list):
        raise ValueError(f"{path}: expected a 'cases:' list")
    cases: list[Case] = []
    seen: set[str] = set()
    for i, c in enumerate(raw):
        missing = {"id", "lang", "title", "body", "topics"} - set(c)
        if missing:
            raise ValueError(f"{path}: case {i} lacks {', '.join(sorted(missing))}")
        if c["id"] in seen:
            raise ValueError(f"{path}: duplicate case id {c['id']!r}")
        seen.add(c["id"])
        unknown = set(c["topics"]) - set(topic_names) if topic_names is not None else set()
        if unknown:
            raise ValueError(f"{path}: case {c['id']!r} names unknown topic(s) {', '.join(sorted(unknown))}")
        cases.append(Case(str(c["id"]), str(c["lang"]), c["title"] or "", c["body"] or "", frozenset(c["topics"])))
    return cases


@dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    cases: int = 0

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None


@dataclass
class Report:
    scores: dict[tuple[str, str], Score] = field(default_factory=dict)  # (topic, lang or "all")
    wrong: list[tuple[Case, frozenset[str]]] = field(default_factory=list)
    total: int = 0


def evaluate(topics: CompiledTopics, cases: Sequence[Case]) -> Report:
    report = Report(total=len(cases))
    langs = sorted({c.lang for c in cases})
    for name in topics.names:
        for lang in [*langs, "all"]:
            report.scores[(name, lang)] = Score()
    for case in cases:
        got = frozenset(m.topic for m in topics.match(case.title, case.body))
        if got != case.topics:
            report.wrong.append((case, got))
        for name in topics.names:
            for lang in (case.lang, "all"):
                s = report.scores[(name, lang)]
                s.cases += 1
                if name in got and name in case.topics:
                    s.tp += 1
                elif name in got:
                    s.fp += 1
                elif name in case.topics:
                    s.fn += 1
    return report


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"


def _rows(report: Report) -> list[list[str]]:
    return [
        [topic, lang, str(s.cases), str(s.tp + s.fn), str(s.tp), str(s.fp), str(s.fn), _fmt(s.precision), _fmt(s.recall)]
        for (topic, lang), s in report.scores.items()
    ]


_HEADER = ["topic", "lang", "cases", "positives", "TP", "FP", "FN", "precision", "recall"]


def render(report: Report, topics: CompiledTopics, out: TextIO, rich_output: bool) -> None:
    total = report.total
    if rich_output:
        from rich.console import Console
        from rich.table import Table

        console = Console(file=out)
        table = Table(title=f"Topic matching on {total} labelled cases")
        for h in _HEADER:
            table.add_column(h, justify="left" if h in ("topic", "lang") else "right")
        for row in _rows(report):
            table.add_row(*row, style="bold" if row[1] == "all" else None)
        console.print(table)
    else:
        widths = [max(len(h), *(len(r[i]) for r in _rows(report))) for i, h in enumerate(_HEADER)]
        print(f"Topic matching on {total} labelled cases", file=out)
        for row in [_HEADER, *_rows(report)]:
            print("  ".join(v.ljust(w) if i < 2 else v.rjust(w) for i, (v, w) in enumerate(zip(row, widths, strict=True))), file=out)
    if not report.wrong:
        print("All cases correct.", file=out)
        return
    print(f"\n{len(report.wrong)} wrong case(s):", file=out)
    for case, got in report.wrong:
        want = ", ".join(sorted(case.topics)) or "none"
        have = ", ".join(sorted(got)) or "none"
        print(f"- {case.id} [{case.lang}] expected {want}, got {have}", file=out)
        for c in topics.explain(case.title, case.body):
            mark = "+" if c.accepted else "-"
            print(f"    {mark} {c.topic} {c.field}[{c.start}:{c.end}] {c.text!r}: {c.reason}", file=out)


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m crawler.evaluate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--topics", type=Path, default=None, help="YAML file with a topics: list (default: $NEWSWATCH_CONFIG, else newswatch.yaml)")
    parser.add_argument("--cases", type=Path, nargs="+", default=list(DEFAULT_CASES),
                        help="labelled case files, each reported on its own (default: eval/topics/labelled.yaml "
                             "eval/topics/holdout.yaml)")
    args = parser.parse_args(argv)
    out = out or sys.stdout
    path = args.topics or default_topics_path()
    try:
        topics = load_topics(path)
    except RuleError as exc:
        print(f"{path}: {exc}", file=sys.stderr)
        return 2
    wrong = 0
    for n, case_file in enumerate(args.cases):
        if n:
            print(file=out)
        print(f"{case_file.name}:", file=out)
        report = evaluate(topics, load_cases(case_file, topics.names))
        render(report, topics, out, rich_output=out.isatty())
        wrong += len(report.wrong)
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
