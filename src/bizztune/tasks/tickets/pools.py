"""What each subcategory's tickets are about: concrete problems, follow-up details and titles.

    from bizztune.tasks.tickets.pools import GENERIC_TITLES, POOLS
    tag, text = POOLS["Softwarefehler"].problems[0]     # 'os', 'Die Uhrzeit auf {dem} {p} ...'

Used by ``bizztune.tasks.tickets.generator`` (``bizztune generate --task tickets``). The text is
``problems.txt`` next to this file, shipped in the wheel, read once on import. Every
subcategory has its own problems, so no two classes share a template. A problem is
``tag | text``: the product must have the capability ``tag`` (see ``caps`` in generator.py),
``*`` takes any product, ``-`` none. Slots in braces are filled by the generator (``{p}``
product name, ``{n}`` its everyday noun, ``{der}``/``{den}``/``{dem}`` its article,
``{mein}``/``{meinen}``/``{meinem}``, ``{er}``/``{ihn}`` pronouns, ``{code}``, ``{app}``,
``{part}``, ``{order}``, ``{amount}`` ...). Problems say what is wrong, never how urgent it is:
urgency comes from a separate cue.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

SOURCE = Path(__file__).with_name("problems.txt")
_SECTION = re.compile(r"^\[(?P<owner>.+): (?P<part>problems|details|titles)\]$")


@dataclass(frozen=True)
class Pool:
    problems: tuple[tuple[str, str], ...]
    """(capability tag, text) pairs."""
    details: tuple[str, ...]
    titles: tuple[str, ...]


def read_pools(text: str, where: str = "problems.txt") -> dict[str, dict[str, list[str]]]:
    """``[OWNER: part]`` sections of one text a line; ``#`` comments and blank lines skipped."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: list[str] | None = None
    for i, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        m = _SECTION.match(line)
        if m:
            current = sections.setdefault(m["owner"], {}).setdefault(m["part"], [])
        elif current is None:
            raise ValueError(f"{where}:{i}: text before the first [SUBCATEGORY: part] header")
        else:
            current.append(line)
    return sections


def _tagged(lines: list[str]) -> tuple[tuple[str, str], ...]:
    out = []
    for line in lines:
        tag, _, text = line.partition("|")
        out.append((tag.strip(), text.strip()))
    return tuple(out)


_SECTIONS = read_pools(SOURCE.read_text(encoding="utf-8"))

POOLS: dict[str, Pool] = {
    owner: Pool(_tagged(parts["problems"]), tuple(parts["details"]), tuple(parts["titles"]))
    for owner, parts in _SECTIONS.items()
    if owner != "generic"
}
"""Subcategory -> its problems, details and titles."""

GENERIC_TITLES: tuple[str, ...] = tuple(_SECTIONS["generic"]["titles"])
"""Titles any class may get: they carry no label information, like many real tickets."""
