"""The experiment report as one self-contained HTML page: inline CSS, no scripts, PNG plots as
base64 data URIs. Every table has an ``id`` and the class ``bt-table``.

    page = render_html(title, intro, sections, plots, config, run_dir)
"""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path
from typing import Any

from bizztune.core.config import to_yaml

Section = tuple[str, str, str, str]
"""(table id, heading, Markdown table, note below it)"""


_NUMERIC = re.compile(r"^([+-]?\d|\[|n/a$)")
"""Cells that hold numbers, intervals or n/a: right-aligned."""


def md_table_to_html(md: str, table_id: str) -> str:
    lines = [ln.strip() for ln in md.strip().splitlines() if ln.strip().startswith("|")]

    def cells(line: str) -> list[str]:
        return [html.escape(c.strip()) for c in line.strip().strip("|").split("|")]

    def td(c: str) -> str:
        return f'<td class="num">{c}</td>' if _NUMERIC.match(c) else f"<td>{c}</td>"

    head = "".join(f"<th>{c}</th>" for c in cells(lines[0]))
    body = "".join("<tr>" + "".join(td(c) for c in cells(line)) + "</tr>" for line in lines[2:])
    return (
        f'<table id="{table_id}" class="bt-table"><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table>"
    )


CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:1200px;
margin:2em auto;padding:0 1em;color:#1f2328;line-height:1.45}
h1{font-size:1.6em}h2{margin-top:1.8em;border-bottom:1px solid #d0d7de;padding-bottom:.2em}
.verdict{background:#f0f6ff;border-left:4px solid #0969da;padding:.8em 1em}
.decision{background:#effaf1;border-left:4px solid #1a7f37;padding:.8em 1em;font-weight:600}
.bt-table{border-collapse:collapse;margin:1em 0;font-size:.9em;display:block;overflow-x:auto}
.bt-table th,.bt-table td{border:1px solid #d0d7de;padding:.3em .6em;white-space:nowrap}
.bt-table th{background:#f6f8fa}.bt-table td.num{text-align:right}
.bt-table tbody tr:nth-child(even){background:#fafbfc}
img.plot{max-width:100%;height:auto;display:block;margin:1em 0;border:1px solid #eee}
.note{color:#57606a;font-size:.9em}pre{background:#f6f8fa;padding:1em;overflow-x:auto}
"""


def render_html(
    title: str,
    intro: list[str],
    sections: list[Section],
    plots: list[tuple[str, str, bytes]],
    config: Any,
    run_dir: Path,
    lead: tuple[str, Section] | None = None,
) -> str:
    """The page; ``lead``: the Decision's sentences and its section, shown first."""
    esc = html.escape
    body = [f"<h1>{esc(title)}</h1>"]
    if lead is not None:
        text, (key, heading, table, note) = lead
        body += [
            f"<h2>{esc(heading)}</h2>",
            f'<p class="decision" id="decision-text">{esc(text)}</p>',
            md_table_to_html(table, key),
            f'<p class="note">{esc(note)}</p>',
        ]
    body += [
        f'<p class="verdict" id="verdict">{esc(intro[0])}</p>',
        *(f'<p class="note">{esc(x)}</p>' for x in intro[1:]),
    ]
    for key, heading, table, note in sections:
        body += [
            f"<h2>{esc(heading)}</h2>",
            md_table_to_html(table, key),
            f'<p class="note">{esc(note)}</p>',
        ]
    body.append("<h2>Plots</h2>")
    for key, caption, png in plots:
        data = base64.b64encode(png).decode("ascii")
        body.append(
            f'<figure><img id="plot-{key}" class="plot" alt="{esc(caption)}" '
            f'src="data:image/png;base64,{data}"><figcaption class="note">{esc(caption)}'
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
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )
