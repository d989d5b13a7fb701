"""``python -m crawler explain …`` and ``python -m crawler review …``."""

from __future__ import annotations

import argparse
import json
import sys
import urllib.request
from pathlib import Path
from typing import Any

from w3lib.encoding import html_to_unicode

from crawler import settings as project
from crawler.addon import DEFAULT_USER_AGENT as USER_AGENT
from crawler.analysis import LANGUAGE_SLICE, may_match
from crawler.clusters import MIN_SHARED, ClusterLinker, body_link_candidates, body_links, story_evidence, story_instant
from crawler.config import ConfigError, load_config
from crawler.dates import iso
from crawler.extraction import extract_page, parse_page, remove_chrome
from crawler.items import story_id_for
from crawler.language import detect_language
from crawler.metadata import Discovery
from crawler.review import cli as review_cli
from crawler.state import StateError, open_state
from crawler.urls import canonical_url, same_site


def _fetch(url: str, timeout: float) -> str:
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (user-given URL)
        raw = response.read()
        charset = response.headers.get_content_charset()
    # The same charset logic Scrapy uses: HTTP header, then BOM, then <meta>.
    _, text = html_to_unicode(f"text/html; charset={charset}" if charset else None, raw)
    return text


def explain(html: str, url: str | None, config_file: str | None, hint: str | None) -> dict[str, Any]:
    """What the pipelines would make of one page, and why each topic candidate was kept or not."""
    config = load_config(config_file, with_targets=False)
    source = next((s for s in config.sources if url and any(
        same_site(u, url) for u in (*s.feeds, *s.sitemaps, *(li.url for li in s.listings)))), None)
    if hint is None:
        hint = source.language if source else "en"
    topics = config.topics
    discovery = Discovery(source_name=source.name, timezone=source.timezone) if source else Discovery()
    # What the crawl's prefilter decides: the page without its chrome (menus, trending boxes...).
    tree = parse_page(html)
    if tree is not None:
        remove_chrome(tree)
    prefilter = tree is not None and may_match(topics, tree)
    result: dict[str, Any] = {"url": url, "prefilter": prefilter}
    links = body_link_candidates(tree, url) if tree is not None else []
    # The crawl's thresholds (crawler/settings.py), so explain decides as the crawl does.
    page = extract_page(tree, url, discovery, min_chars=project.EXTRACT_MIN_TEXT_CHARS) if tree is not None else None
    if page is None:
        result["extracted"] = False
        result["reason"] = "no article text found on the page"
        return result
    meta = page.metadata
    language, how = detect_language(page.text[:LANGUAGE_SLICE], hint, project.LANGUAGE_MIN_TEXT_CHARS)
    candidates = topics.explain(meta.headline or "", page.text)
    matches = [m.as_dict() for m in topics.match(meta.headline or "", page.text)]
    result.update(
        extracted=True,
        title=meta.headline,
        authors=meta.authors,
        published=meta.published,
        published_precision=meta.published_precision,
        modified=meta.modified,
        evidence=meta.evidence,
        language=language,
        language_from=how,
        topics=list(dict.fromkeys(m["topic"] for m in matches)),
        matches=matches,
        candidates=[c.as_dict() for c in candidates],
        cluster=explain_cluster(config, meta.headline, page.text, language, url, source.name if source else "",
                                body_links(links, page.text, url), meta.published),
        text=page.text,
    )
    return result


def explain_cluster(config: Any, title: str | None, text: str, language: str | None, url: str | None,
                    source: str, links: tuple[str, ...], published: str | None) -> dict[str, Any]:
    """Which cluster the page would join (a story of another language in the state it shares enough
    evidence with), or the best candidate and why it fell short."""
    evidence = story_evidence(title, text, language=language, url=url or "", source=source, links=links)
    out: dict[str, Any] = {"evidence": list(evidence.keys), "window_days": config.clusters.window_days,
                           "threshold": config.clusters.threshold, "min_shared": MIN_SHARED}
    if not config.clusters.enabled:
        out["decision"] = "clusters are off (clusters.enabled: false)"
        return out
    location = config.redis_url or config.state
    if config.redis_url is None and not Path(config.state).exists():
        out["decision"] = f"no state yet ({config.state}): its own new cluster"
        return out
    try:
        state = open_state(location)
    except StateError as exc:
        out["decision"] = f"state not readable: {exc}"
        return out
    try:
        at = story_instant(published, None)
        linker = ClusterLinker(state, config.clusters)
        decision = linker.decide(story_id_for(canonical_url(url)) if url else "", evidence, language, at)
    finally:
        state.close()

    def describe(info: Any) -> dict[str, Any]:
        return {"story_id": info.story_id, "cluster": info.cluster, "title": info.title, "source": info.source,
                "language": info.language, "url": info.url, "at": iso(info.at)}

    if decision.joined is not None and decision.score is not None:
        out["decision"] = "joins the cluster of a story in another language"
        out["joins"] = {**describe(decision.joined), "score": decision.score.score,
                        "shared_weight": decision.score.shared_weight, "shared": list(decision.score.shared)}
    elif decision.best is not None and decision.score is not None:
        score = decision.score
        why = []
        if score.score < config.clusters.threshold:
            why.append(f"score {score.score:.2f} below the threshold {config.clusters.threshold:.2f}")
        if score.shared_weight < MIN_SHARED:
            why.append(f"shared weight {score.shared_weight:g} below {MIN_SHARED:g}")
        out["decision"] = "its own new cluster"
        out["best_candidate"] = {**describe(decision.best), "score": score.score,
                                 "shared_weight": score.shared_weight, "shared": list(score.shared),
                                 "why_not": "; ".join(why)}
    else:
        out["decision"] = (f"its own new cluster: no story in another language within "
                           f"{config.clusters.window_days:g} days shares a distinctive key")
    return out


def _explain_cmd(args: argparse.Namespace) -> int:
    if args.html:
        html = Path(args.html).read_text(encoding="utf-8", errors="replace")
        url = args.url
    elif args.target:
        url = args.target
        try:
            html = _fetch(url, args.timeout)
        except OSError as exc:
            print(f"explain: cannot fetch {url}: {exc}", file=sys.stderr)
            return 1
    else:
        print("explain: give a URL, or --html FILE [--url URL]", file=sys.stderr)
        return 2
    result = explain(html, url, args.config, args.lang)
    if not args.text:
        result.pop("text", None)
    json.dump(result, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m crawler", description="newswatch tools")
    parser.add_argument("--config", help="config file (default: $NEWSWATCH_CONFIG or newswatch.yaml)")
    sub = parser.add_subparsers(dest="command", required=True)
    ex = sub.add_parser("explain", help="show what newswatch makes of one page and why it matched or not")
    ex.add_argument("target", nargs="?", help="URL to fetch")
    ex.add_argument("--html", help="read the page from this file instead of fetching it")
    ex.add_argument("--url", help="the page's URL, with --html")
    ex.add_argument("--lang", help="language hint when the text is too short to tell (default: the source's)")
    ex.add_argument("--text", action="store_true", help="include the extracted text")
    ex.add_argument("--timeout", type=float, default=30.0)
    ex.set_defaults(func=_explain_cmd)
    review_cli.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ConfigError as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
