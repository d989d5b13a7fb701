"""``python -m crawler review {list,show,stats,report}`` — search the archive, write an HTML report.

Terminal output uses rich tables (colours on a terminal, plain text when piped: the Console is left to
detect that). Everything read from the archive is shown through :class:`rich.text.Text` after
:func:`clean`, so neither rich markup nor control characters in a title reach the terminal.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from rich import box
from rich.console import Console
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from crawler.review.query import (
    Cluster,
    FilterError,
    Filters,
    cluster_rows,
    clusters,
    collect_stats,
    find_story,
    newest_records_json,
    newest_rows,
    parse_when,
)
from crawler.review.reader import ArchiveNotFound, iter_records, record_time

logger = logging.getLogger(__name__)

# C0/C1 control characters (ESC starts ANSI sequences); \n and \t are handled per use.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# A browser copes with a few thousand table rows; past that the report is for the chart and summary.
REPORT_ROWS = 2000
TOPIC_STYLES = ["cyan", "magenta", "green", "yellow", "blue", "red"]


class UsageError(Exception):
    """A problem with the command line or config; message goes to stderr, exit code 2."""


def clean(value: Any, *, one_line: bool = True) -> str:
    """Archive text made safe for a terminal: no control characters; one line unless asked."""
    text = _CONTROL.sub("", "" if value is None else str(value))
    if one_line:
        text = " ".join(text.split())
    return text


def _console(*, wide: bool = False) -> Console:
    """A Console left to detect the terminal: colours on a TTY, plain text (no ANSI codes) when piped."""
    console = Console(highlight=False, markup=False, emoji=False)
    if wide and not console.is_terminal and "COLUMNS" not in os.environ:
        # Piped `list`: rich would assume 80 columns and cut titles short; a wide line greps better.
        console.width = 200
    return console


def _ensure_logging() -> None:
    # The reader's warnings (malformed lines, cut-short last line) must reach stderr even when
    # nobody configured logging, e.g. when called through main() directly.
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s", stream=sys.stderr)


def archive_label(archive: Path | list[Path]) -> str:
    return ", ".join(map(str, archive)) if isinstance(archive, list) else str(archive)


def resolve_archive(args: argparse.Namespace) -> Path | list[Path]:
    """``--archive`` if given (once, or several times: one archive), else the ``archive`` key of the config.

    Each may be a glob or name ``{worker}`` (the files of several workers).

    The config is ``python -m crawler --config FILE`` when the main parser gave one, else
    ``$NEWSWATCH_CONFIG``, else newswatch.yaml.
    """
    if args.archive:
        paths = [Path(each) for each in args.archive]
        return paths[0] if len(paths) == 1 else paths
    config_path = getattr(args, "config", None) or os.environ.get("NEWSWATCH_CONFIG") or "newswatch.yaml"
    try:
        # Imported here so `review --archive FILE` works without (and tests do not depend on) the config module.
        from crawler.config import load_config

        return Path(load_config(config_path, with_targets=False).archive)
    except Exception as exc:  # ConfigError, missing file, module not there yet: all mean "say which archive"
        raise UsageError(f"no --archive given and cannot read the archive path from config {config_path}: {exc}") from exc


def _filters(args: argparse.Namespace) -> Filters:
    def split(values: list[str] | None) -> list[str]:
        return [v.strip() for value in values or [] for v in value.split(",") if v.strip()]

    try:
        since = parse_when(args.since) if args.since else None
        until = parse_when(args.until, end=True) if args.until else None
    except FilterError as exc:
        raise UsageError(str(exc)) from exc
    return Filters(topics=split(args.topic), sources=split(args.source), languages=split(args.lang),
                   since=since, until=until, query=args.query, include_duplicates=args.include_duplicates)


def _fmt(when: datetime | None) -> str:
    return when.strftime("%Y-%m-%d %H:%M") if when else "—"


def _published(record: dict[str, Any]) -> str:
    """The page's published value as archived; a day-only date says so."""
    value = record["published"]
    if not value:
        return "—"
    return f"{value} (day only)" if record.get("published_precision") == "day" else str(value)


def _topic_text(topics: Any, palette: dict[str, str]) -> Text:
    text = Text()
    for i, topic in enumerate(topics):
        if i:
            text.append(", ")
        name = clean(topic)
        style = palette.setdefault(name, TOPIC_STYLES[len(palette) % len(TOPIC_STYLES)])
        text.append(name, style=style)
    return text


# --- list -------------------------------------------------------------------------------------------

def cmd_list(args: argparse.Namespace) -> int:
    archive = resolve_archive(args)
    filters = _filters(args)
    if args.clusters:
        return _list_clusters(archive, filters, args)
    if args.json:
        out = sys.stdout
        for line in newest_records_json(iter_records(archive), filters, args.limit):
            out.write(line + "\n")
        out.flush()
        return 0

    copies: Counter[str] = Counter()

    def counting() -> Iterator[dict[str, Any]]:
        # Count copies of every story while streaming, so the table can say how many outlets followed.
        for rec in iter_records(archive):
            if rec.get("duplicate_of"):
                copies[str(rec["duplicate_of"])] += 1
            yield rec

    rows = newest_rows(counting(), filters, args.limit)
    console = _console(wide=True)
    palette: dict[str, str] = {}
    table = Table(box=box.SIMPLE_HEAD, header_style="bold", pad_edge=False,
                  caption=f"{len(rows)} {'story' if len(rows) == 1 else 'stories'}"
                          f"{'' if filters.include_duplicates else ' (duplicates hidden)'}")
    def widest(header: str, cells: list[str], cap: int) -> int:
        return min(max([len(header), *map(len, cells)]), cap)

    topic_cells = [", ".join(clean(t) for t in row.topics) for row in rows]
    # Every column but Title keeps its full width, so a narrow terminal shortens titles with an
    # ellipsis instead of cutting dates and ids; when even that does not fit, the least needed
    # columns go first (copies, then language, then topics).
    widths = {"Date (UTC)": 16, "Source": widest("Source", [clean(r.source) for r in rows], 24), "Lang": 4,
              "Topics": widest("Topics", topic_cells, 30), "Copies": 9, "Story ID": 16}
    min_title = 30

    def title_room() -> int:
        # 3 characters of padding/separator per column in this box style.
        return console.width - sum(widths.values()) - 3 * (len(widths) + 1)

    for optional in ("Copies", "Lang", "Topics"):
        if title_room() >= min_title:
            break
        del widths[optional]
    title_width = max(12, min(title_room(), widest("Title", [clean(r.title) for r in rows], 1000)))
    columns: list[tuple[str, str, Literal["left", "right"]]] = [
        ("Date (UTC)", "dim", "left"), ("Source", "bold", "left"), ("Lang", "", "left"), ("Topics", "", "left"),
        ("Title", "", "left"), ("Copies", "", "right"), ("Story ID", "dim", "left")]
    columns = [c for c in columns if c[0] == "Title" or c[0] in widths]
    for name, style, justify in columns:
        table.add_column(name, style=style, justify=justify, no_wrap=True, overflow="ellipsis",
                         width=title_width if name == "Title" else widths[name])
    for row in rows:
        if row.duplicate_of:
            copy_cell = Text(f"dup {clean(row.duplicate_kind or '')}".strip(), style="yellow")
        else:
            n = copies.get(row.story_id, 0)
            copy_cell = Text(f"+{n}" if n else "")
        cells = {"Date (UTC)": Text(_fmt(row.when)), "Source": Text(clean(row.source)),
                 "Lang": Text(clean(row.language)), "Topics": _topic_text(row.topics, palette),
                 "Title": Text(clean(row.title)), "Copies": copy_cell, "Story ID": Text(clean(row.story_id))}
        table.add_row(*(cells[name] for name, _, _ in columns))
    console.print(table)
    return 0


def _list_clusters(archive: Path | list[Path], filters: Filters, args: argparse.Namespace) -> int:
    """One row per story cluster: its first story, how many outlets and languages carried it."""
    found = clusters(iter_records(archive), filters, args.limit)
    if args.json:
        for cluster in found:
            sys.stdout.write(json.dumps(cluster.as_dict(), ensure_ascii=False) + "\n")
        return 0
    console = _console(wide=True)
    table = Table(box=box.SIMPLE_HEAD, header_style="bold", pad_edge=False,
                  caption=f"{len(found)} {'cluster' if len(found) == 1 else 'clusters'}")
    table.add_column("First (UTC)", style="dim", no_wrap=True, width=16)
    table.add_column("Outlets", justify="right", no_wrap=True)
    table.add_column("Langs", no_wrap=True)
    table.add_column("Title", overflow="ellipsis", no_wrap=True, ratio=1)
    table.add_column("Carried by", overflow="ellipsis", no_wrap=True, max_width=40)
    table.add_column("Cluster", style="dim", no_wrap=True, width=16)
    for cluster in found:
        first = cluster.first
        table.add_row(Text(_fmt(first.when)), Text(str(len(cluster.outlets))),
                      Text(clean(", ".join(cluster.languages))), Text(clean(first.title)),
                      Text(clean(", ".join(cluster.outlets))), Text(clean(first.cluster)))
    console.print(table)
    return 0


# --- show -------------------------------------------------------------------------------------------

def cmd_show(args: argparse.Namespace) -> int:
    archive = resolve_archive(args)
    record, duplicates, ids = find_story(iter_records(archive), args.story_id)
    if record is None:
        if ids:
            sys.stderr.write(f"story id prefix {args.story_id!r} is ambiguous: {', '.join(sorted(ids)[:10])}\n")
        else:
            sys.stderr.write(f"no story {args.story_id!r} in {archive_label(archive)}\n")
        return 1
    # A second pass over the archive for the story's cluster: its damaged lines were reported by the first.
    members = cluster_rows(iter_records(archive, report=False), str(record["story_cluster"] or record["story_id"]))
    if args.json:
        out = dict(record)
        out["duplicates"] = [{"story_id": d.story_id, "source": d.source, "url": d.url,
                              "date": d.when.isoformat() if d.when else None, "kind": d.duplicate_kind}
                             for d in duplicates]
        out["cluster"] = Cluster(members).as_dict()["stories"] if members else []
        sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
        return 0

    console = _console()
    console.print(Text(clean(record["title"]) or "(no title)", style="bold"))
    when = record_time(record)
    fields: list[tuple[str, Text]] = [
        ("Story ID", Text(clean(record["story_id"]))),
        ("URL", Text(clean(record["url"]), style="underline")),
        ("Source", Text(clean(record["source"]), style="bold")),
        ("Language", Text(clean(record["language"]))),
        ("Date (UTC)", Text(_fmt(when))),
        ("Published", Text(clean(_published(record)))),
        ("Modified", Text(clean(record["modified"] or "—"))),
        ("Fetched at", Text(clean(record["fetched_at"] or "—"))),
        ("Authors", Text(clean(", ".join(str(a) for a in record["authors"]) or "—"))),
        ("Topics", _topic_text(record["topics"], {})),
    ]
    if record["duplicate_of"]:
        fields.append(("Duplicate of", Text(f"{clean(record['duplicate_of'])} "
                                            f"({clean(record['duplicate_kind'] or '?')})", style="yellow")))
    for label, value in fields:
        # soft_wrap: long URLs stay on one line, whole, so they can be copied.
        console.print(Text.assemble((f"{label:<13}", "dim"), value), soft_wrap=True)

    console.print(Rule(f"Matches ({len(record['matches'])})", align="left"))
    if record["matches"]:
        matches = Table(box=box.SIMPLE_HEAD, header_style="bold", pad_edge=False)
        for name in ("Topic", "Term", "Field", "Snippet"):
            matches.add_column(name, overflow="fold")
        for m in record["matches"]:
            m = m if isinstance(m, dict) else {}
            matches.add_row(Text(clean(m.get("topic"))), Text(clean(m.get("term"))), Text(clean(m.get("field"))),
                            Text(clean(m.get("snippet"))))
        console.print(matches)

    console.print(Rule(f"Also carried by ({len(duplicates)})", align="left"))
    if duplicates:
        width = max(len(clean(d.source)) for d in duplicates)
        for d in duplicates:
            console.print(Text.assemble((_fmt(d.when), "dim"), "  ", (f"{clean(d.source):<{width}}", "bold"), "  ",
                                        (f"{clean(d.duplicate_kind or '?'):<5}", "yellow"), "  ",
                                        (clean(d.story_id), "dim"), "  ", clean(d.url)), soft_wrap=True)
    else:
        console.print("No duplicates of this story in the archive.")

    outlets = len({m.source for m in members})
    console.print(Rule(f"Cluster {clean(record['story_cluster'] or record['story_id'])}: {len(members)} "
                       f"{'story' if len(members) == 1 else 'stories'}, {outlets} "
                       f"{'outlet' if outlets == 1 else 'outlets'}", align="left"))
    if len(members) > 1:
        width = max(len(clean(m.source)) for m in members)
        for m in members:
            role = ("this story" if m.story_id == record["story_id"] else
                    f"copy ({m.duplicate_kind or '?'})" if m.duplicate_of else "same story")
            console.print(Text.assemble((_fmt(m.when), "dim"), "  ", (f"{clean(m.source):<{width}}", "bold"), "  ",
                                        (f"{clean(m.language or '?').upper():<3}", ""), (f"{role:<13}", "yellow"),
                                        "  ", clean(m.title), "  ", (clean(m.story_id), "dim")), soft_wrap=True)
        if record["cluster_evidence"]:
            console.print(Text.assemble(("Evidence shared: ", "dim"),
                                        clean(", ".join(str(k) for k in record["cluster_evidence"][:20]))),
                          soft_wrap=True)
    else:
        console.print("No other outlet or language carried this story in the archive.")

    console.print(Rule("Text", align="left"))
    console.print(Text(clean(record["text"] or "(no text)", one_line=False)))
    return 0


# --- stats ------------------------------------------------------------------------------------------

def cmd_stats(args: argparse.Namespace) -> int:
    archive = resolve_archive(args)
    stats = collect_stats(iter_records(archive), _filters(args))
    if args.json:
        sys.stdout.write(json.dumps(stats.as_dict(), ensure_ascii=False) + "\n")
        return 0
    console = _console()
    span = f"{_fmt(stats.first)} – {_fmt(stats.last)} UTC" if stats.first else "no dated stories"
    dup_note = f", {stats.duplicates} of them duplicates" if args.include_duplicates else " (duplicates hidden)"
    console.print(Text(f"{stats.total} stories{dup_note}; {span}", style="bold"))
    for title, counter in (("Topic", stats.topics), ("Source", stats.sources), ("Language", stats.languages)):
        table = Table(box=box.SIMPLE_HEAD, header_style="bold", pad_edge=False)
        table.add_column(title)
        table.add_column("Stories", justify="right")
        table.add_column("Share", justify="right")
        for name, count in counter.most_common():
            table.add_row(Text(clean(name)), str(count), f"{100 * count / stats.total:.0f}%" if stats.total else "")
        console.print(table)
    days = Table(box=box.SIMPLE_HEAD, header_style="bold", pad_edge=False)
    days.add_column("Day (UTC)", no_wrap=True)
    days.add_column("Stories", justify="right")
    days.add_column("", no_wrap=True)
    peak = max(stats.days.values(), default=0)
    for day, count in sorted(stats.days.items()):
        bar = "█" * max(1, round(30 * count / peak)) if peak else ""
        days.add_row(day, str(count), Text(bar + ("  peak" if count == peak else ""), style="green"))
    console.print(days)
    if stats.undated:
        console.print(f"{stats.undated} stories have no usable date and are not in the per-day counts.")
    return 0


# --- report -----------------------------------------------------------------------------------------

def cmd_report(args: argparse.Namespace) -> int:
    from crawler.review.report import write_report

    archive = resolve_archive(args)
    out = Path(args.out)
    data = write_report(iter_records(archive), _filters(args), out, archive=archive_label(archive), limit=args.limit)
    console = _console()
    console.print(f"wrote {out}: {data.stats.total} stories, {len(data.stats.topics)} topics, "
                  f"{len(data.stats.days)} days, {len(data.outlets)} outlets")
    return 0


# --- parser -----------------------------------------------------------------------------------------

def _add_archive(p: argparse.ArgumentParser) -> None:
    p.add_argument("--archive", metavar="FILE", action="append",
                   help="archive JSONL file (rotated FILE.N / FILE.N.gz are read too); a glob, a path with "
                        "{worker}, or the option given several times reads several files as one archive; "
                        "default: the config's archive key ($NEWSWATCH_CONFIG or newswatch.yaml)")


def _add_filters(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("filters")
    g.add_argument("--topic", action="append", metavar="NAME", help="only these topics (repeat or comma-separate)")
    g.add_argument("--source", action="append", metavar="NAME", help="only these sources (case-insensitive)")
    g.add_argument("--lang", action="append", metavar="CODE", help="only these languages (ISO 639-1, e.g. it)")
    g.add_argument("--since", metavar="WHEN", help="from this date/time (YYYY-MM-DD, ISO 8601, or 7d/12h/2w ago)")
    g.add_argument("--until", metavar="WHEN", help="up to this date/time; a bare date includes that whole day")
    g.add_argument("--query", metavar="WORDS", help='words that must all appear in title or text ("quote phrases")')
    g.add_argument("--include-duplicates", action="store_true",
                   help="also show copies of a story carried by other outlets (hidden by default)")


def _positive(value: str) -> int:
    n = int(value)
    if n < 0:
        raise argparse.ArgumentTypeError("must be ≥ 0")
    return n


def add_subcommands(parser: argparse.ArgumentParser) -> None:
    """Add list/show/stats/report to a `review` parser."""
    sub = parser.add_subparsers(dest="review_command", required=True, metavar="{list,show,stats,report}")

    p = sub.add_parser("list", help="one line per story, newest first")
    _add_archive(p)
    _add_filters(p)
    p.add_argument("--limit", type=_positive, metavar="N", help="only the newest N stories")
    p.add_argument("--json", action="store_true", help="print matching records as JSONL (newest first)")
    p.add_argument("--clusters", action="store_true",
                   help="one row per story cluster (every outlet and language that carried it)")
    p.set_defaults(func=_guarded(cmd_list))

    p = sub.add_parser("show", help="one story in full: metadata, matches, outlets that carried it, text")
    _add_archive(p)
    p.add_argument("story_id", metavar="STORY_ID", help="story id (a unique prefix is enough)")
    p.add_argument("--json", action="store_true", help="print the record (plus its duplicates) as JSON")
    p.set_defaults(func=_guarded(cmd_show))

    p = sub.add_parser("stats", help="counts per topic, source, language and day")
    _add_archive(p)
    _add_filters(p)
    p.add_argument("--json", action="store_true", help="print the counts as one JSON object")
    p.set_defaults(func=_guarded(cmd_stats))

    p = sub.add_parser("report", help="write a self-contained HTML report")
    _add_archive(p)
    _add_filters(p)
    p.add_argument("--out", required=True, metavar="FILE.html", help="where to write the report")
    p.add_argument("--limit", type=_positive, metavar="N", default=REPORT_ROWS,
                   help=f"only the newest N stories in the table (default {REPORT_ROWS}; "
                        "the chart and outlet summary always count all)")
    p.set_defaults(func=_guarded(cmd_report))


def _guarded(func: Any) -> Any:
    """Wrap a command so errors become exit codes the same way under main() and ``python -m crawler``."""

    def run(args: argparse.Namespace) -> int:
        _ensure_logging()
        try:
            return int(func(args))
        except (UsageError, ArchiveNotFound) as exc:
            sys.stderr.write(f"error: {exc}\n")
            return 2
        except BrokenPipeError:
            # `review list | head`: the reader went away; not worth a traceback. Point stdout at devnull so
            # the interpreter's final flush does not raise again.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0

    run.__name__ = func.__name__
    run.__doc__ = func.__doc__
    return run


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``review`` command to the main parser's subparsers; ``args.func(args)`` returns the exit code."""
    review = subparsers.add_parser("review", help="search the archive and write an HTML report",
                                   description="Search the story archive; write an HTML report.")
    add_subcommands(review)
    return review


def main(argv: list[str] | None = None) -> int:
    """Entry point taking the arguments after ``review`` (e.g. ``["list", "--lang", "it"]``)."""
    parser = argparse.ArgumentParser(prog="python -m crawler review",
                                     description="Search the story archive; write an HTML report.")
    add_subcommands(parser)
    args = parser.parse_args(argv)
    return int(args.func(args))
