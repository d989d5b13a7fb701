"""Score cross-language story linking against labelled pairs.

    python -m crawler.cluster_eval [--threshold X] [--window DAYS] [--verbose] [FILE ...]

Each pair is two stories, one English and one Italian, labelled ``same`` (one story: an original and
its rewrite) or ``different`` (two stories on one subject). A pair is linked when
:func:`crawler.clusters.score_pair` says it joins and the two were published within the window: what
the dedup stage decides for a story and its best candidate. Prints precision and recall per file (the
tuning files the rules were chosen on, and the blind set written after they were frozen, apart) and
every pair decided wrongly, with its score and the evidence shared. Exits 1 when the tuning pairs miss
the goal (precision 1.00, recall 0.90).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from crawler.clusters import Score, score_pair, story_evidence, within_window
from crawler.config import ClusterConfig
from crawler.dates import epoch

ROOT = Path(__file__).resolve().parent.parent
PAIRS = ROOT / "eval" / "clusters"
# The pair files are large (up to 80 KB): libyaml's safe loader, where PyYAML was built with it, builds the
# same data as the pure-Python one some 20 times faster (make eval and the tests read them again and again).
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
GOAL_PRECISION = 1.0
GOAL_RECALL = 0.9


@dataclass(frozen=True)
class Side:
    lang: str
    outlet: str
    url: str
    published: str
    title: str
    text: str
    links: tuple[str, ...]


@dataclass(frozen=True)
class Pair:
    id: str
    same: bool
    note: str
    a: Side
    b: Side


def _side(path: Path, pair_id: str, raw: Any) -> Side:
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: pair {pair_id}: a side must be a mapping")
    missing = [k for k in ("lang", "outlet", "url", "published", "title", "text") if not raw.get(k)]
    if missing:
        raise ValueError(f"{path}: pair {pair_id}: missing {', '.join(missing)}")
    return Side(str(raw["lang"]), str(raw["outlet"]), str(raw["url"]), str(raw["published"]),
                str(raw["title"]), str(raw["text"]), tuple(str(u) for u in raw.get("links") or ()))


def load_pairs(path: Path) -> list[Pair]:
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=_YAML_LOADER)
    raw = data.get("pairs") if isinstance(data, dict) else None
    if not isinstance(raw, list):
        raise ValueError(f"{path}: expected a 'pairs:' list")
    pairs, ids = [], set()
    for item in raw:
        pair_id = str(item.get("id"))
        if pair_id in ids:
            raise ValueError(f"{path}: pair id {pair_id} twice")
        ids.add(pair_id)
        if item.get("label") not in ("same", "different"):
            raise ValueError(f"{path}: pair {pair_id}: label must be 'same' or 'different'")
        pairs.append(Pair(pair_id, item["label"] == "same", str(item.get("note") or ""),
                          _side(path, pair_id, item.get("a")), _side(path, pair_id, item.get("b"))))
    return pairs


def evidence_of(side: Side) -> Any:
    return story_evidence(side.title, side.text, language=side.lang, url=side.url, source=side.outlet,
                          links=side.links)


@dataclass(frozen=True)
class Verdict:
    pair: Pair
    score: Score
    in_window: bool
    linked: bool

    @property
    def right(self) -> bool:
        return self.linked == self.pair.same


def judge(pair: Pair, threshold: float = ClusterConfig.threshold, window_days: float = ClusterConfig.window_days) -> Verdict:
    score = score_pair(evidence_of(pair.a), evidence_of(pair.b))
    in_window = within_window(epoch(pair.a.published), epoch(pair.b.published), window_days)
    return Verdict(pair, score, in_window, in_window and pair.a.lang != pair.b.lang and score.joins(threshold))


@dataclass(frozen=True)
class Tally:
    name: str
    verdicts: list[Verdict]

    def count(self, same: bool, linked: bool) -> int:
        return sum(1 for v in self.verdicts if v.pair.same == same and v.linked == linked)

    @property
    def precision(self) -> float:
        tp, fp = self.count(True, True), self.count(False, True)
        return tp / (tp + fp) if tp + fp else 1.0

    @property
    def recall(self) -> float:
        tp, fn = self.count(True, True), self.count(True, False)
        return tp / (tp + fn) if tp + fn else 1.0


def evaluate(files: Sequence[Path], threshold: float = ClusterConfig.threshold,
             window_days: float = ClusterConfig.window_days) -> list[Tally]:
    return [Tally(path.name, [judge(p, threshold, window_days) for p in load_pairs(path)]) for path in files]


def default_files() -> tuple[list[Path], list[Path]]:
    """(tuning files, blind files) under eval/clusters/."""
    tuning = sorted(PAIRS.glob("tuning-*.yaml"))
    blind = sorted(PAIRS.glob("blind*.yaml"))
    return tuning, blind


def _describe(v: Verdict) -> str:
    what = "missed (same story, not linked)" if v.pair.same else "wrongly linked (different stories)"
    shared = ", ".join(v.score.shared[:14]) + (" …" if len(v.score.shared) > 14 else "")
    window = "" if v.in_window else "; outside the window"
    return (f"  {v.pair.id}: {what}: score {v.score.score:.2f}, shared weight {v.score.shared_weight:g}{window}\n"
            f"    {v.pair.note}\n    shared: {shared or '—'}")


def report(tallies: Sequence[Tally], label: str, out: Any, verbose: bool = False) -> None:
    if not tallies:
        return
    verdicts = [v for t in tallies for v in t.verdicts]
    total = Tally(label, verdicts)
    out.write(f"{label}: {len(verdicts)} pairs ({sum(v.pair.same for v in verdicts)} same, "
              f"{sum(not v.pair.same for v in verdicts)} different) in {', '.join(t.name for t in tallies)}\n")
    out.write(f"  precision {total.precision:.2f}  recall {total.recall:.2f}  "
              f"(linked: {total.count(True, True)} right, {total.count(False, True)} wrong; "
              f"missed {total.count(True, False)})\n")
    for v in verdicts:
        if not v.right:
            out.write(_describe(v) + "\n")
        elif verbose:
            out.write(f"  {v.pair.id}: ok, score {v.score.score:.2f}, shared weight {v.score.shared_weight:g}\n")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m crawler.cluster_eval", description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path, help="pair files (default: eval/clusters/*.yaml)")
    parser.add_argument("--threshold", type=float, default=ClusterConfig.threshold)
    parser.add_argument("--window", type=float, default=ClusterConfig.window_days, help="days")
    parser.add_argument("--verbose", action="store_true", help="list every pair, not only the wrong ones")
    args = parser.parse_args(argv)
    tuning, blind = (list(args.files), []) if args.files else default_files()
    tuned = evaluate(tuning, args.threshold, args.window)
    report(tuned, "Cross-language linking, tuning pairs", sys.stdout, args.verbose)
    if blind:
        report(evaluate(blind, args.threshold, args.window), "Blind pairs (written by writers who saw neither the rules nor the tuning pairs; not tuned on)",
               sys.stdout, args.verbose)
    verdicts = Tally("all", [v for t in tuned for v in t.verdicts])
    return 0 if verdicts.precision >= GOAL_PRECISION and verdicts.recall >= GOAL_RECALL else 1


if __name__ == "__main__":
    sys.exit(main())
