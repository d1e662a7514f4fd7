"""The experiment report's layout: one Markdown file and one self-contained HTML page (inline
CSS, no scripts, PNG plots as base64 data URIs). Every table has an ``id`` and the class
``bt-table``; every section an anchor, listed in the table of contents.

    page = Page(title, headline, options_table, chart, intro, sections, plots)
    md = render_markdown(page)
    html = render_html(page, config, run_dir)

The first screen (1280 x 800) holds the answer: the headline (a few short sentences), the
accuracy-against-cost chart of every option and the options table. The rules, per-field tests
and statistics come below it; a long note sits in a ``<details>`` under its table. Tables wrap
their cells rather than grow wider than the page.
"""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bizztune.core.config import to_yaml

Section = tuple[str, str, str, str]
"""(table id, heading, Markdown table, note below it)"""
Plot = tuple[str, str, bytes]
"""(key, caption, PNG bytes)"""
PLOTS_DIR = Path("report") / "plots"
LONG_NOTE = 300
"""A note longer than this (characters) goes into a <details> under its table."""


@dataclass
class Page:
    title: str
    headline: list[str] = field(default_factory=list)
    """The Decision in a few sentences, each under 400 characters."""
    options: str = ""
    """The options table (Markdown)."""
    chart: Plot | None = None
    intro: list[str] = field(default_factory=list)
    """The fine-tuned model against its base (the study's verdict), then the set-up."""
    sections: list[Section] = field(default_factory=list)
    plots: list[Plot] = field(default_factory=list)


_NUMERIC = re.compile(r"^([+-]?\d|\[|n/a$)")
"""Cells that hold numbers, intervals or n/a: right-aligned."""


def md_table_to_html(md: str, table_id: str) -> str:
    lines = [ln.strip() for ln in md.strip().splitlines() if ln.strip().startswith("|")]

    def cells(line: str) -> list[str]:
        return [html.escape(c.strip()) for c in line.strip().strip("|").split("|")]

    def td(c: str) -> str:
        return f'<td class="num">{c}</td>' if _NUMERIC.match(c) else f"<td>{c}</td>"

    def tr(cs: list[str]) -> str:
        # the row of the option a Decision chose is marked, for the eye
        mark = ' class="chosen"' if any(c.endswith(", chosen") for c in cs) else ""
        return f"<tr{mark}>" + "".join(td(c) for c in cs) + "</tr>"

    head = "".join(f"<th>{c}</th>" for c in cells(lines[0]))
    body = "".join(tr(cells(line)) for line in lines[2:])
    return (
        f'<table id="{table_id}" class="bt-table"><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table>"
    )


CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:1200px;
margin:1em auto;padding:0 1em;color:#1f2328;line-height:1.4}
h1{font-size:1.5em;margin:.3em 0}h2{margin-top:1.6em;border-bottom:1px solid #d0d7de;
padding-bottom:.2em;font-size:1.25em}
.headline{font-size:1.05em;margin:.4em 0}.headline.warn{color:#9a6700;font-weight:600}
.first{display:flex;flex-wrap:wrap;gap:1em;align-items:flex-start}
.first figure{margin:0;flex:0 1 560px;min-width:0}.first figure img{width:100%}
.first .options{flex:1 1 480px;min-width:0}
.verdict{background:#f0f6ff;border-left:4px solid #0969da;padding:.8em 1em}
.bt-table{border-collapse:collapse;margin:.6em 0;font-size:.85em;max-width:100%}
.bt-table th,.bt-table td{border:1px solid #d0d7de;padding:.25em .5em;vertical-align:top;
overflow-wrap:anywhere}
.bt-table th{background:#f6f8fa;text-align:left}.bt-table td.num{text-align:right}
.bt-table tbody tr:nth-child(even){background:#fafbfc}
#options tbody tr.chosen{background:#effaf1;font-weight:600}
nav.toc ol{columns:3;font-size:.9em;margin:.3em 0}
img.plot{max-width:100%;height:auto;display:block;margin:1em 0;border:1px solid #eee}
.note,details{color:#57606a;font-size:.9em}pre{background:#f6f8fa;padding:1em;overflow-x:auto;
white-space:pre-wrap}
"""


def _png_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _note(text: str) -> str:
    esc = html.escape(text)
    if len(text) <= LONG_NOTE:
        return f'<p class="note">{esc}</p>'
    return f"<details><summary>How to read this table</summary><p>{esc}</p></details>"


def toc(page: Page) -> list[tuple[str, str]]:
    """(anchor, heading) of every section, in order."""
    out = [("decision", "Decision")]
    if page.intro:
        out.append(("verdict-section", "Fine-tuned against its base model"))
    out += [(f"sec-{key}", heading) for key, heading, _, _ in page.sections]
    return [*out, ("plots", "Plots")]


def render_markdown(page: Page) -> str:
    parts = [f"# {page.title}", "", '<a id="decision"></a>', "## Decision", ""]
    parts += [x for s in page.headline for x in (s, "")]
    if page.chart is not None:
        key, caption, _ = page.chart
        parts += [f"![{caption}]({(PLOTS_DIR / f'{key}.png').as_posix()})", ""]
    if page.options:
        parts += [page.options, ""]
    parts += ["## Contents", "", *(f"- [{h}](#{k})" for k, h in toc(page)[1:]), ""]
    if page.intro:
        parts += ['<a id="verdict-section"></a>', "## Fine-tuned against its base model", ""]
        parts += [x for line in page.intro for x in (line, "")]
    for key, heading, table, note in page.sections:
        parts += [f'<a id="sec-{key}"></a>', f"## {heading}", "", table, "", note, ""]
    parts += ['<a id="plots"></a>', "## Plots", ""]
    for key, caption, _ in page.plots:
        parts += [f"![{caption}]({(PLOTS_DIR / f'{key}.png').as_posix()})", ""]
    return "\n".join(parts)


def render_html(page: Page, config: Any, run_dir: Path) -> str:
    """The page: the answer on the first screen, then the contents and every section."""
    esc = html.escape
    body = [f"<h1>{esc(page.title)}</h1>", '<h2 id="decision">Decision</h2>']
    for s in page.headline:
        warn = " warn" if s.startswith("Too few tickets") else ""
        ident = ' id="decision-text"' if s.startswith("Run ") else ""
        body.append(f'<p class="headline{warn}"{ident}>{esc(s)}</p>')
    first = []
    if page.chart is not None:
        key, caption, png = page.chart
        first.append(
            f'<figure><img id="plot-{key}" class="plot" alt="{esc(caption)}" '
            f'src="{_png_uri(png)}"></figure>'
        )
    if page.options:
        first.append(f'<div class="options">{md_table_to_html(page.options, "options")}</div>')
    if first:
        body.append('<div class="first">' + "".join(first) + "</div>")
    items = "".join(f'<li><a href="#{k}">{esc(h)}</a></li>' for k, h in toc(page)[1:])
    body.append(f'<nav class="toc"><h2 id="contents">Contents</h2><ol>{items}</ol></nav>')
    if page.intro:
        body += [
            '<h2 id="verdict-section">Fine-tuned against its base model</h2>',
            f'<p class="verdict" id="verdict">{esc(page.intro[0])}</p>',
            *(f'<p class="note">{esc(x)}</p>' for x in page.intro[1:]),
        ]
    for key, heading, table, note in page.sections:
        body += [f'<h2 id="sec-{key}">{esc(heading)}</h2>', md_table_to_html(table, key)]
        body.append(_note(note))
    body.append('<h2 id="plots">Plots</h2>')
    for key, caption, png in page.plots:
        body.append(
            f'<figure><img id="plot-{key}" class="plot" alt="{esc(caption)}" '
            f'src="{_png_uri(png)}"><figcaption class="note">{esc(caption)}'
            f"</figcaption></figure>"
        )
    extras = []
    if config is not None:
        extras.append(("Resolved config", to_yaml(config)))
    vpath = run_dir / "versions.json"
    if vpath.is_file():
        extras.append(("Versions", vpath.read_text(encoding="utf-8")))
    for heading, text in extras:
        body.append(f"<details><summary>{esc(heading)}</summary><pre>{esc(text)}</pre></details>")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(page.title)}</title><style>{CSS}</style></head><body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )
