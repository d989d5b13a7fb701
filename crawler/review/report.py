"""One self-contained HTML report: timeline chart (inline SVG), story table, coverage per outlet.

Nothing in the page loads anything: CSS is inline, the chart is SVG markup generated here, there is
no script, and a Content-Security-Policy of ``default-src 'none'`` makes the browser refuse any
fetch that might still slip in. Every string taken from the archive goes through :func:`esc`.
"""

from __future__ import annotations

import heapq
import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any

from crawler.review.query import Filters, Row, Stats, day_range, make_row
from crawler.review.reader import record_time
from crawler.urls import is_http_url

# Okabe–Ito palette: distinguishable with colour-blindness; dash patterns keep series apart in greyscale print.
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"]
DASHES = ["", "8 4", "2 3", "10 3 2 3", "4 4", "12 6", "1 2", "6 2 2 2"]


def esc(value: Any) -> str:
    """HTML-escape anything (quotes too, so it is safe inside attributes)."""
    return escape("" if value is None else str(value), quote=True)


def safe_href(url: str) -> str | None:
    """Only http(s) links are rendered; a ``javascript:`` or odd URL from the archive gets no link."""
    return url if is_http_url(url) else None


@dataclass
class Outlet:
    carried: int = 0
    first: int = 0
    later: int = 0
    topics: Counter[str] = field(default_factory=Counter)
    languages: Counter[str] = field(default_factory=Counter)
    latest: datetime | None = None


@dataclass
class ReportData:
    filters: Filters
    stats: Stats = field(default_factory=Stats)
    rows: list[Row] = field(default_factory=list)
    duplicates: dict[str, list[Row]] = field(default_factory=lambda: defaultdict(list))
    outlets: dict[str, Outlet] = field(default_factory=lambda: defaultdict(Outlet))
    # Every matching record (copies included) by story cluster, for the spread timelines.
    clusters: dict[str, list[Row]] = field(default_factory=lambda: defaultdict(list))


def collect(records: Iterable[dict[str, Any]], filters: Filters, limit: int | None = None) -> ReportData:
    """One pass over the archive gathering everything the report shows (no article text is kept).

    Counters cover every matching story; the story table keeps only the newest ``limit`` rows (a heap).
    """
    data = ReportData(filters)
    # Outlet coverage counts copies too: "carried the story later" is half of what it is for.
    with_copies = replace(filters, include_duplicates=True)
    for seq, rec in enumerate(records):
        when = record_time(rec)
        row = make_row(rec, when, seq)
        dup_of = rec.get("duplicate_of")
        if dup_of:
            data.duplicates[str(dup_of)].append(row)
        if with_copies.accepts(rec, when):
            data.clusters[row.cluster].append(row)
            outlet = data.outlets[str(rec["source"])]
            outlet.carried += 1
            if dup_of:
                outlet.later += 1
            else:
                outlet.first += 1
            outlet.topics.update(set(str(t) for t in rec["topics"]))
            outlet.languages[str(rec["language"] or "?")] += 1
            if when and (outlet.latest is None or when > outlet.latest):
                outlet.latest = when
        if filters.accepts(rec, when):
            data.stats.add(rec, when)
            if limit is None or len(data.rows) < limit:
                heapq.heappush(data.rows, row)
            elif limit > 0:
                heapq.heappushpop(data.rows, row)
    data.rows.sort(reverse=True)
    for rows in data.duplicates.values():
        rows.sort()
    return data


def _fmt_time(when: datetime | None) -> str:
    return when.strftime("%Y-%m-%d %H:%M") if when else "—"


def _nice_max(value: int) -> tuple[int, int]:
    """A round axis maximum ≥ value and its tick step."""
    if value <= 5:
        return max(value, 1), 1
    raw = value / 5
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    return int(math.ceil(value / step) * step), int(step)


def chart_svg(stats: Stats) -> str:
    """Stories per topic per day: one ``<g class="series" data-topic=…>`` per topic, one point per day."""
    topics = [t for t, _ in stats.topics.most_common()]
    if not topics or stats.first is None or stats.last is None:
        return '<p class="empty">No dated stories match these filters: nothing to chart.</p>'
    days = day_range(stats.first.date(), stats.last.date())
    peak = max((stats.topic_days[(t, d)] for t in topics for d in days), default=0)
    y_max, y_step = _nice_max(peak)

    width, left, right, top = 960, 56, 20, 20
    # Lay the legend out first: it wraps onto more rows below the axis label when topics are many.
    legend: list[tuple[float, int, str, int]] = []  # x, row, label, series index
    lx, row = float(left), 0
    for n, topic in enumerate(topics):
        label = f"{topic} ({stats.topics[topic]})"
        item_w = 34 + 7.5 * len(label) + 24
        if lx + item_w > width - right and lx > left:
            lx, row = float(left), row + 1
        legend.append((lx, row, label, n))
        lx += item_w
    bottom = 70 + 20 * row
    height = 310 + bottom
    plot_w, plot_h = width - left - right, height - top - bottom

    def x(i: int) -> float:
        return left + (plot_w * i / (len(days) - 1) if len(days) > 1 else plot_w / 2)

    def y(count: int) -> float:
        return top + plot_h - plot_h * count / y_max

    out = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
           f'aria-labelledby="chart-title" xmlns="http://www.w3.org/2000/svg">',
           '<title id="chart-title">Stories per topic per day (UTC)</title>',
           '<g class="axes">']
    for tick in range(0, y_max + 1, y_step):
        ty = y(tick)
        out.append(f'<line class="grid" x1="{left}" x2="{width - right}" y1="{ty:.1f}" y2="{ty:.1f}"/>')
        out.append(f'<text class="tick" x="{left - 8}" y="{ty + 4:.1f}" text-anchor="end">{tick}</text>')
    label_every = max(1, math.ceil(len(days) / 12))
    for i, day in enumerate(days):
        # Every label_every-th day plus the last one, dropping a regular label that would crowd the last.
        if (i % label_every == 0 and len(days) - 1 - i >= label_every) or i == len(days) - 1:
            out.append(f'<line class="xtick" x1="{x(i):.1f}" x2="{x(i):.1f}" y1="{top + plot_h}" '
                       f'y2="{top + plot_h + 5}"/>')
            out.append(f'<text class="tick" x="{x(i):.1f}" y="{top + plot_h + 18}" '
                       f'text-anchor="middle">{esc(day[5:])}</text>')
    out.append(f'<line class="axis" x1="{left}" x2="{left}" y1="{top}" y2="{top + plot_h}"/>')
    out.append(f'<line class="axis" x1="{left}" x2="{width - right}" y1="{top + plot_h}" y2="{top + plot_h}"/>')
    out.append(f'<text class="axis-label" x="{left + plot_w / 2:.0f}" y="{top + plot_h + 38}" '
               f'text-anchor="middle">Day (UTC), {esc(days[0])} to {esc(days[-1])}</text>')
    out.append(f'<text class="axis-label" transform="translate(14 {top + plot_h / 2:.0f}) rotate(-90)" '
               f'text-anchor="middle">Stories per day</text>')
    out.append('</g>')

    for n, topic in enumerate(topics):
        colour, dash = PALETTE[n % len(PALETTE)], DASHES[n % len(DASHES)]
        counts = [stats.topic_days[(topic, d)] for d in days]
        points = " ".join(f"{x(i):.1f},{y(c):.1f}" for i, c in enumerate(counts))
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        out.append(f'<g class="series" data-topic="{esc(topic)}" stroke="{colour}" fill="{colour}">')
        out.append(f'<polyline class="line" points="{points}" fill="none"{dash_attr}/>')
        for i, (day, count) in enumerate(zip(days, counts, strict=True)):
            out.append(f'<circle class="point" cx="{x(i):.1f}" cy="{y(count):.1f}" r="3" '
                       f'data-day="{day}" data-count="{count}"><title>{esc(topic)} — {day}: {count}</title></circle>')
        out.append('</g>')

    # Legend below the x axis label.
    out.append('<g class="legend">')
    for lx, row, label, n in legend:
        ly = top + plot_h + 62 + 20 * row
        colour, dash = PALETTE[n % len(PALETTE)], DASHES[n % len(DASHES)]
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        out.append(f'<line x1="{lx:.0f}" x2="{lx + 28:.0f}" y1="{ly - 4}" y2="{ly - 4}" stroke="{colour}" '
                   f'stroke-width="3"{dash_attr}/>')
        out.append(f'<text class="legend-label" x="{lx + 34:.0f}" y="{ly}">{esc(label)}</text>')
    out.append('</g></svg>')
    return "\n".join(out)


def _filters_text(filters: Filters) -> str:
    parts = []
    if filters.topics:
        parts.append("topic: " + ", ".join(filters.topics))
    if filters.sources:
        parts.append("source: " + ", ".join(filters.sources))
    if filters.languages:
        parts.append("language: " + ", ".join(filters.languages))
    if filters.since:
        parts.append("since " + filters.since.strftime("%Y-%m-%d %H:%M UTC"))
    if filters.until:
        parts.append("before " + filters.until.strftime("%Y-%m-%d %H:%M UTC"))
    if filters.query:
        parts.append(f"words: {filters.query}")
    parts.append("duplicates included" if filters.include_duplicates else "duplicates hidden")
    return "; ".join(parts)


def _link(text: str, url: str) -> str:
    href = safe_href(url)
    if href is None:
        return esc(text)
    return f'<a href="{esc(href)}" rel="noopener noreferrer">{esc(text)}</a>'


def _story_table(data: ReportData) -> str:
    rows = data.rows
    out = []
    if len(rows) < data.stats.total:
        out.append(f'<p class="note">Showing the newest {len(rows)} of {data.stats.total} stories '
                   '(chart and outlet summary count them all).</p>')
    out.append('<table class="stories"><thead><tr><th>Date (UTC)</th><th>Source</th><th>Lang</th>'
               '<th>Topics</th><th>Title</th><th>Also carried by</th></tr></thead><tbody>')
    for row in rows:
        copies = data.duplicates.get(row.story_id, [])
        dup_html = "".join(
            f'<li>{_link(c.source, c.url)} <span class="muted">{esc(_fmt_time(c.when))}'
            f'{" · " + esc(c.duplicate_kind) if c.duplicate_kind else ""}</span></li>'
            for c in copies)
        note = ""
        if row.duplicate_of:
            note = f'<div class="muted">duplicate ({esc(row.duplicate_kind or "?")}) of {esc(row.duplicate_of)}</div>'
        out.append(
            f'<tr id="s-{esc(row.story_id)}"><td class="nowrap">{esc(_fmt_time(row.when))}</td>'
            f'<td>{esc(row.source)}</td><td>{esc(row.language)}</td>'
            f'<td>{esc(", ".join(row.topics))}</td>'
            f'<td>{_link(row.title or row.url, row.url)}<div class="muted id">{esc(row.story_id)}</div>{note}</td>'
            f'<td>{"<ul>" + dup_html + "</ul>" if dup_html else ""}</td></tr>')
    out.append('</tbody></table>')
    return "\n".join(out)


#: Clusters drawn in "How stories spread", most outlets first.
SPREAD_CLUSTERS = 20


def _spread(data: ReportData) -> str:
    """One timeline per story that more than one outlet carried: each outlet and language on the time
    axis from the first report, with the delay after it."""
    spread = [sorted(rows) for rows in data.clusters.values() if len({r.source for r in rows}) > 1]
    if not spread:
        return '<p class="empty">No story in these records was carried by more than one outlet.</p>'
    spread.sort(key=lambda rows: (-len({r.source for r in rows}), -rows[0].sort_key[0]))
    out = []
    if len(spread) > SPREAD_CLUSTERS:
        out.append(f'<p class="muted">The {SPREAD_CLUSTERS} of {len(spread)} stories carried by most outlets.</p>')
    width, left, right, height = 960, 8, 8, 30
    for rows in spread[:SPREAD_CLUSTERS]:
        first = rows[0]
        times = [r.when.timestamp() for r in rows if r.when]
        t0 = min(times) if times else 0.0
        span = max(max(times) - t0, 3600.0) if times else 3600.0
        outlets = len({r.source for r in rows})
        langs = ", ".join(dict.fromkeys((r.language or "?").upper() for r in rows))
        out.append(f'<div class="spread" data-cluster="{esc(first.cluster)}">'
                   f'<h3>{_link(first.title or first.url, first.url)} '
                   f'<span class="muted">{outlets} outlets · {esc(langs)}</span></h3>')
        marks = []
        for i, r in enumerate(rows):
            x = left + ((r.when.timestamp() - t0) / span if r.when else 0.0) * (width - left - right)
            marks.append(f'<circle class="point" cx="{x:.1f}" cy="{height / 2:.0f}" r="6" '
                         f'fill="{PALETTE[i % len(PALETTE)]}"><title>{esc(r.source)} '
                         f'({esc((r.language or "?").upper())}) {esc(_fmt_time(r.when))}</title></circle>')
        out.append(f'<svg class="timeline" viewBox="0 0 {width} {height}" role="img" '
                   f'aria-label="when each outlet carried the story">'
                   f'<line class="axis" x1="{left}" y1="{height / 2:.0f}" x2="{width - right}" '
                   f'y2="{height / 2:.0f}"/>{"".join(marks)}</svg>')
        out.append("<ol class=\"spread-list\">")
        for r in rows:
            delay = ""
            if r.when and first.when and r is not first:
                delay = f" · +{_delay((r.when - first.when).total_seconds())}"
            role = "copy" if r.duplicate_of else ("first" if r is first else "same story")
            out.append(f'<li><span class="nowrap">{esc(_fmt_time(r.when))}</span> {_link(r.source, r.url)} '
                       f'({esc((r.language or "?").upper())}) <span class="muted">{esc(role)}{esc(delay)}</span></li>')
        out.append("</ol></div>")
    return "\n".join(out)


def _delay(seconds: float) -> str:
    """3 h 20 min, 2 d 4 h, 15 min."""
    minutes = max(int(seconds // 60), 0)
    days, rest = divmod(minutes, 1440)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


def _outlet_table(data: ReportData) -> str:
    out = ['<table class="outlets"><thead><tr><th>Outlet</th><th>Stories carried</th><th>First to report</th>'
           '<th>Carried later (duplicates)</th><th>Topics</th><th>Languages</th><th>Latest (UTC)</th>'
           '</tr></thead><tbody>']
    for name, o in sorted(data.outlets.items(), key=lambda kv: (-kv[1].carried, kv[0])):
        topics = ", ".join(f"{t} {n}" for t, n in o.topics.most_common())
        langs = ", ".join(f"{lang} {n}" for lang, n in o.languages.most_common())
        out.append(f'<tr><td>{esc(name)}</td><td class="num">{o.carried}</td><td class="num">{o.first}</td>'
                   f'<td class="num">{o.later}</td><td>{esc(topics)}</td><td>{esc(langs)}</td>'
                   f'<td class="nowrap">{esc(_fmt_time(o.latest))}</td></tr>')
    out.append('</tbody></table>')
    return "\n".join(out)


CSS = """
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       margin: 24px auto; max-width: 1200px; padding: 0 16px; color: #1a1a1a; background: #fff; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 8px; }
.meta, .muted, .note { color: #555; } .muted { font-size: 12px; } .id { font-family: ui-monospace, monospace; }
.chart { width: 100%; height: auto; border: 1px solid #ddd; border-radius: 4px; }
.chart .grid { stroke: #e6e6e6; } .chart .axis, .chart .xtick { stroke: #333; }
.chart .tick { font-size: 11px; fill: #333; stroke: none; }
.chart .axis-label, .chart .legend-label { font-size: 13px; fill: #1a1a1a; stroke: none; }
.chart .line { stroke-width: 2.5; } .chart .point { stroke: #fff; stroke-width: 1; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: 5px 8px; border-bottom: 1px solid #e3e3e3; }
th { background: #f3f5f7; position: sticky; top: 0; } td.num { text-align: right; } .nowrap { white-space: nowrap; }
td ul { margin: 0; padding-left: 16px; } a { color: #0b5cad; }
.timeline { width: 100%; height: 30px; } .timeline .axis { stroke: #999; }
.spread h3 { font-size: 14px; margin: 14px 0 2px; } .spread-list { margin: 0 0 8px; padding-left: 20px; }
.summary { display: flex; gap: 24px; flex-wrap: wrap; margin: 12px 0; }
.summary div { background: #f3f5f7; border-radius: 4px; padding: 8px 12px; }
.summary b { display: block; font-size: 20px; }
@media print {
  body { margin: 0; max-width: none; font-size: 10pt; color: #000; }
  .chart { border: none; page-break-inside: avoid; }
  .chart .point { stroke: none; }
  th { position: static; background: none; border-bottom: 2px solid #000; }
  tr { page-break-inside: avoid; }
  a { color: #000; text-decoration: none; }
  .muted, .meta, .note { color: #333; }
}
"""


def render(data: ReportData, *, archive: str, generated: datetime | None = None) -> str:
    """The whole HTML document as a string."""
    generated = generated or datetime.now(UTC)
    s = data.stats
    span = f"{_fmt_time(s.first)} – {_fmt_time(s.last)}" if s.first and s.last else "—"
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        # Belt and braces for "no network when opened": the browser may fetch nothing at all.
        """<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">""",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>newswatch review report</title>",
        f"<style>{CSS}</style></head><body>",
        "<h1>newswatch — archive review</h1>",
        f'<p class="meta">Archive {esc(archive)} · generated {esc(generated.strftime("%Y-%m-%d %H:%M UTC"))} · '
        f"filters: {esc(_filters_text(data.filters))}</p>",
        '<div class="summary">'
        f"<div><b>{s.total}</b>stories</div>"
        f"<div><b>{len(s.topics)}</b>topics</div>"
        f"<div><b>{len(s.sources)}</b>outlets</div>"
        f"<div><b>{esc(span)}</b>time span (UTC)</div></div>",
        "<h2>Stories per topic per day</h2>",
        chart_svg(s),
        "<h2>How stories spread</h2>",
        _spread(data),
        "<h2>Coverage per outlet</h2>",
        _outlet_table(data),
        "<h2>Stories</h2>",
        _story_table(data),
        "</body></html>",
    ])


def write_report(records: Iterable[dict[str, Any]], filters: Filters, out: Path, *, archive: str,
                 limit: int | None = None) -> ReportData:
    """Collect, render and write the report atomically (temp file + rename)."""
    data = collect(records, filters, limit)
    html_text = render(data, archive=archive)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(html_text, encoding="utf-8")
    tmp.replace(out)
    return data


__all__ = ["collect", "render", "write_report", "chart_svg", "esc", "safe_href", "ReportData"]
