"""End to end: ``scrapy crawl news`` against bare Scrapy on the same pages, plus the per-page costs.

One table from one run (``make bench``; ``python -m benchmarks crawl`` alone). Both crawlers fetch the
AEB pages from a loopback outlet (:mod:`benchmarks.outlet`) with the same Scrapy settings, as separate
processes; CPU is the whole process tree's (the pool's workers included), peak RSS is each process's
high-water mark (``VmHWM``), read from /proc while it runs. Pages/s is over the crawl (Scrapy's
``start_time`` to ``finish_time``), so interpreter start-up is not counted for either.

The per-page rows time each step in this process on the AEB pages: lxml's parse, trafilatura alone,
news-please (in its own virtualenv, ``.venv-compare``, which ``make bench`` creates) and newswatch's
analysis of a page, by outcome: skipped by the raw-HTML check, skipped by the article-text check,
extracted but matching no topic, matching.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
PAGES = int(os.environ.get("BENCH_CRAWL_PAGES", "10000"))
#: The settings both crawlers run with: the same concurrency, nothing that waits on purpose.
SETTINGS = {
    "CONCURRENT_REQUESTS": "16",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "16",
    "CONCURRENT_ITEMS": "1",  # newswatch's own
    "AUTOTHROTTLE_ENABLED": "False",
    "ROBOTSTXT_OBEY": "False",
    "RETRY_ENABLED": "False",
    "LOG_LEVEL": "WARNING",
    "TELNETCONSOLE_ENABLED": "False",
}


@dataclass
class CrawlResult:
    pages: int
    seconds: float
    cpu_seconds: float  # the whole process tree's
    main_cpu_seconds: float  # the crawl's own process (its reactor thread and its helpers), last read
    rss_main_mb: float
    rss_worker_mb: float  # the largest child process's peak (0 without one)
    stats: dict[str, Any]

    @property
    def pages_per_second(self) -> float:
        return self.pages / self.seconds if self.seconds else 0.0


class _Outlet:
    def __init__(self, pages: int, variant: str, delay: float = 0.0) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.outlet", "--pages", str(pages), "--variant", variant,
             "--delay", str(delay)],
            cwd=ROOT, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        self.base = f"http://127.0.0.1:{int(self.process.stdout.readline())}"

    def close(self) -> None:
        self.process.kill()
        self.process.wait()


def _hwm_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def _descendants(pid: int) -> set[int]:
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            parents.setdefault(ppid, []).append(int(entry.name))
    out: set[int] = set()
    todo = [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            if child not in out:
                out.add(child)
                todo.append(child)
    return out


def _run(command: list[str], cwd: Path, env: dict[str, str], stats_path: Path) -> CrawlResult:
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               text=True)
    peaks: dict[int, int] = {}
    cpu: dict[int, float] = {}
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            for pid in {process.pid, *_descendants(process.pid)}:
                peaks[pid] = max(peaks.get(pid, 0), _hwm_kb(pid))
                cpu[pid] = max(cpu.get(pid, 0.0), _cpu_seconds(pid))
            done.wait(0.1)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    done.set()
    watcher.join()
    stderr = process.stderr.read() if process.stderr else ""
    if process.returncode != 0 or not stats_path.exists():
        raise SystemExit(f"crawl failed ({process.returncode}): {' '.join(command)}\n{stderr[-3000:]}")
    stats = json.loads(stats_path.read_text(encoding="utf-8"))
    started, finished = (datetime.fromisoformat(str(stats[k])) for k in ("start_time", "finish_time"))
    workers = [kb for pid, kb in peaks.items() if pid != process.pid]
    return CrawlResult(
        pages=int(stats.get("response_received_count", 0)) - 1,  # the sitemap
        seconds=(finished - started).total_seconds(),
        # The tree's rusage misses what the fork server's children used (nobody waits for them): the
        # larger of it and the sum of every process's last reading.
        cpu_seconds=max(usage.ru_utime + usage.ru_stime, sum(cpu.values())),
        main_cpu_seconds=cpu.get(process.pid, 0.0),
        rss_main_mb=peaks.get(process.pid, 0) / 1024,
        rss_worker_mb=max(workers, default=0) / 1024,
        stats=stats,
    )


def _settings_args() -> list[str]:
    return [arg for name, value in SETTINGS.items() for arg in ("-s", f"{name}={value}")]


def bare(pages: int, variant: str) -> CrawlResult:
    outlet = _Outlet(pages, variant)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            stats = Path(tmp) / "stats.json"
            # Outside the project: no scrapy.cfg, so no add-on, middleware or pipeline of newswatch's.
            command = [sys.executable, "-m", "scrapy", "runspider", str(ROOT / "benchmarks" / "bare_spider.py"),
                       "-a", f"sitemap={outlet.base}/sitemap.xml", "-a", f"stats={stats}", *_settings_args()]
            return _run(command, Path(tmp), dict(os.environ), stats)
    finally:
        outlet.close()


def news(pages: int, variant: str, **overrides: Any) -> CrawlResult:
    outlet = _Outlet(pages, variant)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            topics = yaml.safe_load((ROOT / "newswatch.yaml").read_text(encoding="utf-8"))["topics"]
            config = {
                "archive": str(Path(tmp) / "archive.jsonl"),
                "state": str(Path(tmp) / "state.sqlite3"),
                "crawl": {"concurrent_per_domain": 16, "obey_robots": False, **overrides},
                "sources": [{"name": "bench", "language": "en", "sitemaps": [f"{outlet.base}/sitemap.xml"]}],
                "topics": topics,
            }
            config_path = Path(tmp) / "newswatch.yaml"
            config_path.write_text(yaml.safe_dump(config), encoding="utf-8")
            stats = Path(tmp) / "stats.json"
            env = {**os.environ, "NEWSWATCH_CONFIG": str(config_path), "NEWSWATCH_STATS_FILE": str(stats)}
            command = [sys.executable, "-m", "scrapy", "crawl", "news", *_settings_args()]
            return _run(command, ROOT, env, stats)
    finally:
        outlet.close()


#: The virtualenv of what newswatch is measured against (news-please, other language detectors).
COMPARE_PYTHON = ROOT / ".venv-compare" / "bin" / "python"


def per_page() -> None:
    """CPU ms a page in this process, on the AEB pages: each step alone, and newswatch's analysis by outcome."""
    import gzip

    import trafilatura
    from lxml import html as lxml_html

    from benchmarks import outlet
    from benchmarks.extraction import AEB, score
    from crawler import settings
    from crawler.analysis import Analyser, Job
    from crawler.config import load_config
    from crawler.dedup import Fingerprinter

    truth = json.loads((AEB / "ground-truth.json").read_text(encoding="utf-8"))
    ids = sorted(truth)
    raw = [gzip.decompress((AEB / "html" / f"{i}.html.gz").read_bytes()) for i in ids]
    config = load_config(ROOT / "newswatch.yaml")
    analyser = Analyser(config.topics, Fingerprinter(config.dedup), settings.EXTRACT_MIN_TEXT_CHARS,
                        settings.LANGUAGE_MIN_TEXT_CHARS)

    def timed(fn: Any, items: list[Any]) -> tuple[list[Any], float]:
        started = time.process_time()
        out = [fn(x) for x in items]
        return out, (time.process_time() - started) / len(items) * 1000

    _, parse_ms = timed(lxml_html.document_fromstring, raw)
    texts = [b.decode("utf-8", "replace") for b in raw]
    _, traf_ms = timed(lambda t: trafilatura.extract(t, include_comments=False, favor_precision=True), texts)
    print(f"  per page, in one process (CPU ms on the {len(raw)} AEB pages; ratio to an lxml parse of the page)")
    print(f"    {'lxml.html parse alone':<52}{parse_ms:>8.2f}{1:>8.2f}x")
    print(f"    {'trafilatura.extract alone (newswatch settings)':<52}{traf_ms:>8.2f}{traf_ms / parse_ms:>8.2f}x")
    if COMPARE_PYTHON.exists():
        run = subprocess.run([str(COMPARE_PYTHON), str(ROOT / "benchmarks" / "newsplease_run.py"), str(AEB)],
                             capture_output=True, text=True, check=True)
        result = json.loads(run.stdout.strip().splitlines()[-1])
        np_ms = result["seconds"] / len(ids) * 1000
        _, _, np_f1 = score([(result["texts"][i], truth[i]["articleBody"]) for i in ids])
        print(f"    {f'news-please NewsPlease.from_html (AEB F1 {np_f1:.4f})':<52}{np_ms:>8.2f}{np_ms / parse_ms:>8.2f}x")
    else:
        print(f"    news-please: not measured ({COMPARE_PYTHON} missing: `make bench` creates it)")
    for variant in ("plain", "technav"):
        site = outlet.build(len(raw), variant, 0.05)
        pages = [site[f"/article/{i:06d}.html".encode()] for i in range(len(raw))]
        _, variant_parse = timed(lxml_html.document_fromstring, pages)
        by: dict[str, list[float]] = {}
        for n, body in enumerate(pages):
            started = time.process_time()
            outcome = analyser(Job(url=f"http://bench.example/{n}", body=body, language_hint="en")).outcome
            by.setdefault(outcome, []).append(time.process_time() - started)
        label = "tech navigation" if variant == "technav" else "5 % matching"
        for outcome in ("skipped", "no_article", "no_topic", "matched"):
            if outcome in by:
                ms = sum(by[outcome]) / len(by[outcome]) * 1000
                print(f"    {f'newswatch analysis, {label}: {outcome} ({len(by[outcome])})':<52}{ms:>8.2f}"
                      f"{ms / variant_parse:>8.2f}x")


def _row(label: str, result: CrawlResult, baseline: CrawlResult) -> str:
    return (f"  {label:<40}{result.pages:>7}{result.pages_per_second:>9.0f}"
            f"{result.pages_per_second / baseline.pages_per_second:>8.2f}x"
            f"{result.cpu_seconds / max(result.pages, 1) * 1000:>9.1f}"
            f"{result.rss_main_mb:>9.0f}{result.rss_worker_mb:>9.0f}")


def run() -> None:
    from benchmarks.outlet import AEB

    if not (AEB / "html").is_dir():
        print(f"crawl: skipped, benchmark pages not found at {AEB}")
        return
    print(f"crawl on loopback: {PAGES} AEB pages, 5 % of them about DeepSeek on Ascend "
          f"(goals: >= 0.8x bare Scrapy, >= 0.5x with tech navigation; RSS < 300 MB main, < 200 MB worker)")
    print(f"  {'crawler':<40}{'pages':>7}{'pages/s':>9}{'ratio':>9}{'CPU ms':>9}{'RSS main':>9}{'worker':>9}")
    base = bare(PAGES, "plain")
    print(_row("bare Scrapy (no-op callback)", base, base))
    ours = news(PAGES, "plain")
    print(_row("scrapy crawl news", ours, base))
    tech_base = bare(PAGES, "technav")
    print(_row("bare Scrapy, tech navigation", tech_base, tech_base))
    tech = news(PAGES, "technav")
    print(_row("scrapy crawl news, tech navigation", tech, tech_base))
    print(f"  news-please's pages/s is its extraction alone (below); newswatch's crawl: "
          f"{ours.pages_per_second:.0f} pages/s")
    per_page()
    for label, result in (("plain", ours), ("tech navigation", tech)):
        s = result.stats
        print(f"  {label}: " + ", ".join(f"{k} {s.get(k, 0)}" for k in (
            "prefilter/skipped", "extract/ok", "topics/no_match", "topics/matched",
            "dedup/new", "workers/died", "workers/timed_out")))
