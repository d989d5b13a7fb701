"""Run the real ``scrapy crawl news`` in a subprocess against a config written for the test."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from samples.apprise_stand_ins import subprocess_env

# The crawl settings, the shipped topics and the archive reader of `make demo`: the tests exercise exactly
# what users get.
from samples.demo import DEFAULT_CONFIG, FAST, ROOT, default_topics, read_archive

__all__ = ["DEFAULT_CONFIG", "FAST", "ROOT", "CrawlResult", "Worker", "default_topics", "read_archive", "run_crawl",
           "start_crawl"]


@dataclass
class CrawlResult:
    returncode: int
    log: str
    stats: dict[str, Any]
    archive: list[dict[str, Any]] = field(default_factory=list)

    def stat(self, key: str) -> int:
        return int(self.stats.get(key, 0))

    def by_url(self) -> dict[str, dict[str, Any]]:
        return {r["url"]: r for r in self.archive}


@dataclass
class Worker:
    """A ``scrapy crawl news`` started with :func:`start_crawl`, still running or finished."""

    name: str
    process: subprocess.Popen[str]
    stats_file: Path

    def finish(self, timeout: float = 180) -> CrawlResult:
        try:
            out, _ = self.process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.communicate()
            raise
        stats = json.loads(self.stats_file.read_text(encoding="utf-8")) if self.stats_file.exists() else {}
        return CrawlResult(self.process.returncode, out, stats)


def start_crawl(config: dict[str, Any], tmp_path: Path, *spider_args: str, env: dict[str, str] | None = None,
                settings: dict[str, str] | None = None, name: str = "run") -> Worker:
    """Write *config* (if not written yet) and start ``scrapy crawl news`` on it without waiting: several
    started at once on one Redis state are workers of one crawl."""
    config_file = tmp_path / "newswatch.yaml"
    config_file.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    stats_file = tmp_path / f"{name}-stats.json"
    stats_file.unlink(missing_ok=True)
    full_env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    full_env.update({"NEWSWATCH_CONFIG": str(config_file), "NEWSWATCH_STATS_FILE": str(stats_file),
                     "NEWSWATCH_WORKER": name,
                     "PYTHONWARNINGS": "error::DeprecationWarning,ignore:'imghdr' is deprecated:DeprecationWarning"})
    full_env.update(env or {})
    # The stand-ins' hook (samples/site/sitecustomize.py) and the repository, importable.
    full_env["PYTHONPATH"] = subprocess_env()["PYTHONPATH"]
    cmd = [sys.executable, "-m", "scrapy", "crawl", "news", *FAST]
    for arg in spider_args:
        cmd += ["-a", arg]
    for key, value in (settings or {}).items():
        cmd += ["-s", f"{key}={value}"]
    process = subprocess.Popen(cmd, cwd=ROOT, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
    return Worker(name, process, stats_file)


def run_crawl(config: dict[str, Any], tmp_path: Path, *spider_args: str, env: dict[str, str] | None = None,
              settings: dict[str, str] | None = None, timeout: float = 180, name: str = "run") -> CrawlResult:
    """Write *config* to ``tmp_path/newswatch.yaml`` and run ``scrapy crawl news -a ARG…`` on it."""
    result = start_crawl(config, tmp_path, *spider_args, env=env, settings=settings, name=name).finish(timeout)
    result.archive = read_archive(Path(config.get("archive", tmp_path / "archive.jsonl")))
    return result
