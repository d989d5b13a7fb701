"""``make bench`` (scale): throughput of 1, 2 and 4 workers sharing one Redis state.

The loopback outlet answers each article after ``BENCH_SCALE_DELAY`` seconds (default 0.2), as a distant
server does, so one worker is bound by the network (its concurrency over the delay), not by its CPU: the
case several workers are for. Every worker runs with the same settings (``BENCH_SCALE_PER_WORKER`` = 4
requests at a time, one analysis process); the outlet records when each article was asked for.

Two figures per run: the *crawl rate* (articles / time from the first article request to the last, as the
outlet saw it), and the *wall* rate (articles / time from the first worker's start to the last worker's
exit: Python start-up, seeding and the idle close included). Ratios are against the 1-worker run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from benchmarks.crawl import ROOT, SETTINGS, _Outlet

PAGES = int(os.environ.get("BENCH_SCALE_PAGES", "1000"))
#: Requests at a time per worker: a polite crawler keeps few per site (newswatch's default is 2 per
#: domain), so a worker's rate is its concurrency over the server's delay. Set as CONCURRENT_REQUESTS:
#: Scrapy 2.19 lets a burst of queued requests past CONCURRENT_REQUESTS_PER_DOMAIN when no download
#: delay is set (the outlet's max_in_flight shows it), while the total limit holds.
PER_WORKER = int(os.environ.get("BENCH_SCALE_PER_WORKER", "4"))
DELAY = float(os.environ.get("BENCH_SCALE_DELAY", "0.2"))
COUNTS = (1, 2, 4)
GOALS = {2: 1.8, 4: 3.2}


def _redis(tmp: Path) -> Any:
    sys.path.insert(0, str(ROOT))
    from tests.support.redis_server import RedisServer

    return RedisServer(tmp, persistent=False)


def _workers(count: int, pages: int, delay: float) -> dict[str, float]:
    outlet = _Outlet(pages, "plain", delay)
    try:
        with tempfile.TemporaryDirectory() as tmp_name:
            tmp = Path(tmp_name)
            server = _redis(tmp)
            try:
                topics = yaml.safe_load((ROOT / "newswatch.yaml").read_text(encoding="utf-8"))["topics"]
                config = {
                    "archive": str(tmp / "archive-{worker}.jsonl"),
                    "state": server.url,
                    "crawl": {"concurrent_per_domain": PER_WORKER, "obey_robots": False, "workers": 1,
                              "idle_close": 1},
                    "sources": [{"name": "bench", "language": "en", "sitemaps": [f"{outlet.base}/sitemap.xml"]}],
                    "topics": topics,
                }
                config_path = tmp / "newswatch.yaml"
                config_path.write_text(yaml.safe_dump(config), encoding="utf-8")
                settings = [arg for name, value in {**SETTINGS, "CONCURRENT_REQUESTS": str(PER_WORKER),
                                                         "CONCURRENT_REQUESTS_PER_DOMAIN": str(PER_WORKER)}.items()
                            for arg in ("-s", f"{name}={value}")]
                started = time.monotonic()
                procs = []
                for i in range(count):
                    env = {**os.environ, "NEWSWATCH_CONFIG": str(config_path), "NEWSWATCH_WORKER": f"b{i}",
                           "NEWSWATCH_STATS_FILE": str(tmp / f"stats-{i}.json")}
                    procs.append(subprocess.Popen([sys.executable, "-m", "scrapy", "crawl", "news", *settings],
                                                  cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                                  stderr=subprocess.PIPE, text=True))
                for proc in procs:
                    _, err = proc.communicate()
                    if proc.returncode != 0:
                        raise SystemExit(f"worker failed ({proc.returncode}):\n{err[-3000:]}")
                wall = time.monotonic() - started
                with urllib.request.urlopen(f"{outlet.base}/__times__") as answer:
                    times = json.loads(answer.read())
                fetched = [int(json.loads((tmp / f"stats-{i}.json").read_text()).get(
                    "newswatch/articles_fetched", 0)) for i in range(count)]
                archived = sum(1 for f in tmp.glob("archive-*.jsonl") for _ in f.open(encoding="utf-8"))
            finally:
                server.stop()
    finally:
        outlet.close()
    return {"articles": times["articles"], "crawl_seconds": times["last"] - times["first"], "wall": wall,
            "max_in_flight": times["max_in_flight"],
            "per_worker": fetched, "archived": archived}


def run() -> None:
    import shutil

    if shutil.which("redis-server") is None:
        print("scale: skipped (no redis-server; Debian: apt-get install redis-server)")
        return
    try:
        from benchmarks.outlet import aeb_pages

        aeb_pages()
    except SystemExit as exc:
        print(f"scale: skipped ({exc})")
        return
    print(f"scale: {PAGES} articles, {DELAY * 1000:.0f} ms per answer, {PER_WORKER} requests at a time per "
          "worker, workers on one redis-server")
    print(f"{'workers':>8} {'crawl /s':>9} {'ratio':>6} {'wall /s':>8} {'ratio':>6} {'goal':>5}  articles per worker")
    base: dict[str, float] | None = None
    for count in COUNTS:
        result = _workers(count, PAGES, DELAY)
        crawl = result["articles"] / result["crawl_seconds"] if result["crawl_seconds"] else 0.0
        wall = result["articles"] / result["wall"]
        if base is None:
            base = {"crawl": crawl, "wall": wall}
        goal = f"{GOALS[count]:.1f}" if count in GOALS else ""
        print(f"{count:>8} {crawl:>9.1f} {crawl / base['crawl']:>5.2f}x {wall:>8.1f} {wall / base['wall']:>5.2f}x "
              f"{goal:>5}  {result['per_worker']} (fetched {result['articles']}, archived {result['archived']}, "
              f"at most {result['max_in_flight']} at once)")
