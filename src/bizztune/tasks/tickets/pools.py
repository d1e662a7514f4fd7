"""The text pools of the offline ticket generator, read once on import from the files beside it.

    from bizztune.tasks.tickets.pools import POOLS, SITUATIONS, ENGLISH
    problem = POOLS["Softwarefehler"].problems[0]   # Problem(tag='os', levels='MNH', variants=...)
    problem.default                                  # 'Mittel': its urgency without context

Used by ``bizztune.tasks.tickets.generator`` (``bizztune generate --task tickets``). Three files,
shipped in the wheel, in one format: ``[OWNER: part]`` headers, one entry a line, ``#``
comments and blank lines skipped, ``\\n`` for a line break inside an entry.

- ``problems.txt``: per subcategory its ``problems``, ``details`` and ``titles``, and
  ``[generic: titles]``. A problem is ``tag | levels | text``, followed by ``~ text`` lines that
  say the same thing in other words (independent paraphrases, not slots). ``tag`` is the
  capability the product must have (``caps`` in generator.py; ``*`` any product, ``-`` none;
  for ``Kein Zusammenhang`` the kind of stray mail). ``levels`` are the urgencies the problem
  can have, its default first: what it is with no further context (a double charge is ``H``,
  money already taken; a clock an hour off is ``M``, it can become ``N`` for someone who
  rarely looks, or ``H`` for someone whose alarm it is before an early flight). ``@ title``
  lines give titles that fit this problem in particular.
- ``situations.txt``: per kind of ticket (``device``, ``money``, ``order``, ``info``,
  ``warranty``, ``feedback``) the sentences that make a ticket ``Hoch``, ``Mittel`` or
  ``Niedrig`` by what they say about the customer's situation, and ``dated`` sentences whose
  level is only the distance of ``{when}`` from the ticket's date.
- ``english.txt``: the same parts in English, for the few tickets written in English.

Text may carry slots in braces, filled by the generator (``{p}`` product name, ``{n}`` its
everyday noun, ``{der}``/``{den}``/``{dem}`` articles, ``{code}``, ``{order}``, ``{when}`` ...),
and inline alternatives ``[[a|b|c]]``, one picked per ticket.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).parent
SOURCE = HERE / "problems.txt"
_SECTION = re.compile(r"^\[(?P<owner>[^:\]]+): (?P<part>[\w-]+)\]$")
LEVEL_NAMES = {"H": "Hoch", "M": "Mittel", "N": "Niedrig"}
LEVEL_LETTERS = {v: k for k, v in LEVEL_NAMES.items()}


@dataclass(frozen=True)
class Problem:
    tag: str
    """Capability the product needs (``*`` any, ``-`` none), or the kind of a stray mail."""
    levels: str
    """Urgency letters this problem can have (``H``, ``M``, ``N``), its default first."""
    variants: tuple[str, ...]
    """Independent ways to say it; the first is its name in plans and tests."""
    titles: tuple[str, ...] = ()
    """Titles that fit this problem (``@`` lines), besides its subcategory's titles."""

    @property
    def default(self) -> str:
        return LEVEL_NAMES[self.levels[0]]

    def allows(self, urgency: str) -> bool:
        return LEVEL_LETTERS[urgency] in self.levels


@dataclass(frozen=True)
class Pool:
    problems: tuple[Problem, ...]
    details: tuple[str, ...]
    titles: tuple[str, ...]


def read_pools(text: str, where: str = "problems.txt") -> dict[str, dict[str, list[str]]]:
    """``[OWNER: part]`` sections of one entry a line; ``~`` lines continue the one before."""
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
            raise ValueError(f"{where}:{i}: text before the first [OWNER: part] header")
        elif line[0] in "~@":
            if not current:
                raise ValueError(f"{where}:{i}: a '{line[0]}' line before any entry")
            current[-1] += f"\n{line[0]}" + line[1:].strip()
        else:
            current.append(line)
    return sections


def _text(s: str) -> str:
    return s.replace("\\n", "\n")


def parse_problems(lines: list[str], where: str) -> tuple[Problem, ...]:
    out = []
    for entry in lines:
        head, *more = entry.split("\n")
        parts = [p.strip() for p in head.split("|", 2)]
        if len(parts) != 3 or not parts[1] or set(parts[1]) - set(LEVEL_NAMES):
            raise ValueError(f"{where}: '{head[:60]}' is not 'tag | levels | text'")
        variants = (parts[2], *(m[1:] for m in more if m[0] == "~"))
        titles = tuple(m[1:] for m in more if m[0] == "@")
        out.append(Problem(parts[0], parts[1], tuple(_text(v) for v in variants), titles))
    return tuple(out)


def _read(name: str) -> dict[str, dict[str, list[str]]]:
    return read_pools((HERE / name).read_text(encoding="utf-8"), name)


def _pools(sections: dict[str, dict[str, list[str]]], where: str) -> dict[str, Pool]:
    return {
        owner: Pool(
            parse_problems(parts["problems"], where),
            tuple(_text(d) for d in parts.get("details", [])),
            tuple(parts.get("titles", [])),
        )
        for owner, parts in sections.items()
        if "problems" in parts
    }


_TAGGED = re.compile(r"^(?P<tag>[\w*-]+) \| (?P<text>.*)$")

Situations = dict[str, dict[str, tuple[tuple[str, str], ...]]]


def _tagged(line: str) -> tuple[str, str]:
    m = _TAGGED.match(line)
    return (m["tag"], _text(m["text"])) if m else ("*", _text(line))


def _by_level(sections: dict[str, dict[str, list[str]]]) -> Situations:
    """Kind -> level (or ``dated``) -> (capability tag, sentence) pairs."""
    return {
        owner: {part: tuple(_tagged(s) for s in lines) for part, lines in parts.items()}
        for owner, parts in sections.items()
        if "problems" not in parts and owner != "generic"
    }


_PROBLEMS = _read("problems.txt")
_ENGLISH = _read("english.txt")

POOLS: dict[str, Pool] = _pools(_PROBLEMS, "problems.txt")
"""Subcategory -> its problems, details and titles."""

GENERIC_TITLES: tuple[str, ...] = tuple(_PROBLEMS["generic"]["titles"])
"""Titles any class may get: they carry no label information, like many real tickets."""

SITUATIONS: Situations = _by_level(_read("situations.txt"))
"""Kind -> ``Hoch``/``Mittel``/``Niedrig``/``dated`` -> (tag, sentence about the customer's
situation); the tag limits a sentence to products with that capability."""

ENGLISH: dict[str, Pool] = _pools(_ENGLISH, "english.txt")
"""Subcategory -> problems and titles in English."""

ENGLISH_SITUATIONS: Situations = _by_level(_ENGLISH)
