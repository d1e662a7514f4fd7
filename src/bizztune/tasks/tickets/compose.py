"""One ticket, put together: problem, situation, cues, second concern, order, mail around it.

    title, description, plan = support(st, rng, "Softwarefehler", "Hoch", "formal", date, person)
    twin = Twin(State(0, {}), random.Random("twin"))
    support(st, rng, ..., twin=twin)   # twin.made: the same ticket at another level, or None

Used by ``bizztune.tasks.tickets.generator``, which draws the cell, style, date and sender and
hands them here; stray mail is ``stray.py``. Pools are drawn through ``State`` decks (without
replacement, reshuffled when empty), so repeats come late and near-duplicates stay rare.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TypeVar

from bizztune.tasks.tickets import catalog as cat
from bizztune.tasks.tickets.noise import mess, umlauts
from bizztune.tasks.tickets.pools import (
    ENGLISH,
    ENGLISH_SITUATIONS,
    GENERIC_TITLES,
    LEVEL_NAMES,
    POOLS,
    SITUATIONS,
    Problem,
    Situations,
)
from bizztune.tasks.tickets.slots import PRODUCT_SLOT, caps, fill, slots, when
from bizztune.tasks.tickets.voice import (
    ACK_QUOTES,
    ASIDE_FRAMES,
    ASKS,
    CALM_CUES,
    CLOSERS,
    DISTRACTORS,
    EN_ASKS,
    EN_CALM,
    EN_CLOSERS,
    EN_GREETINGS,
    EN_OPENERS,
    EN_URGENT,
    FOLLOWUPS,
    FORWARD_NOTES,
    GREETINGS,
    KIND_OF,
    MAIN_MARKERS,
    MOBILE_FOOTERS,
    OPENERS,
    PROBLEM_LEADS,
    QUOTE_TOPS,
    RED_HERRINGS,
    URGENT_CUES,
    URGENT_TITLE_MARKS,
    Style,
)

T = TypeVar("T")
OFFTOPIC = "Kein Zusammenhang"
LEVEL_DAYS = {"Hoch": (0, 2), "Mittel": (4, 12), "Niedrig": (30, 150)}
"""Days from the ticket's date to a dated deadline, by the level it makes the ticket."""
URGENT_P = {"Hoch": 0.35, "Mittel": 0.15, "Niedrig": 0.08}
CALM_P = {"Hoch": 0.04, "Mittel": 0.10, "Niedrig": 0.25}
ENGLISH_SHARE = 0.03
SECONDARY_SHARE = 0.15


class Deck:
    """Draws items without replacement, reshuffling when empty: even use, fewer near-duplicates."""

    def __init__(self, n: int, rng: random.Random) -> None:
        self.n, self.rng, self.left = n, rng, list[int]()

    def draw(self) -> int:
        if not self.left:
            self.left = list(range(self.n))
            self.rng.shuffle(self.left)
        return self.left.pop()


@dataclass
class State:
    seed: int
    decks: dict[str, Deck]

    def pick(self, key: str, items: Sequence[T], ok: Callable[[T], bool] | None = None) -> T:
        """The next item of the deck ``key`` (for which ``ok`` holds, if given)."""
        deck = self.decks.get(key)
        if deck is None or deck.n != len(items):
            deck = self.decks[key] = Deck(len(items), random.Random(f"{self.seed}:deck:{key}"))
        for _ in range(len(items)):
            item = items[deck.draw()]
            if ok is None or ok(item):
                return item
        return next(x for x in items if ok is None or ok(x))


@dataclass
class Person:
    first: str
    last: str
    gender: str

    @property
    def full(self) -> str:
        return f"{self.first} {self.last}"


@dataclass
class Plan:
    """How a ticket was made: what tests and the data card's readers can check it against."""

    subcategory: str
    urgency: str
    problem: str
    """The main problem (its first variant, unfilled), or the stray mail's text."""
    default: str
    """The urgency of that problem with no further context."""
    kind: str = ""
    """Off-topic: the kind of stray mail (spam, auto, wrong, ...)."""
    language: str = "de"
    style: str = ""
    situation: str | None = None
    """The situation sentence (unfilled) that sets the urgency, if any."""
    days: int | None = None
    """A dated situation's distance from the ticket's date."""
    cue: str | None = None
    """``urgent`` or ``calm``: an explicit word about urgency, whatever the level."""
    secondary: str | None = None
    """The subcategory of a second, minor concern."""
    secondary_problem: str | None = None
    """Its problem (first variant, unfilled)."""
    wrapper: str | None = None
    """``forward``, ``quote`` or ``followup``."""
    id: str = ""
    texts: list[str] = field(default_factory=list)
    """The filled main problem and, if any, the filled second concern."""


@dataclass
class Twin:
    """A request for a ticket's twin: the same ticket at another level its problem allows,
    with the situation sentence that says so (or without one, at the problem's own level).
    The twin's draws use these, never the ticket's, so the ticket is what it would have been."""

    st: State
    rng: random.Random
    made: tuple[str, str, Plan] | None = None


def cap(s: str) -> str:
    return s[:1].upper() + s[1:]


def draw_problem(
    st: State, key: str, problems: Sequence[Problem], urg: str,
    rng: random.Random | None = None, share: float | None = None,
) -> Problem:  # fmt: skip
    """A problem that can have ``urg``; with ``share``, one whose default is ``urg`` only that
    often (where the pool has both kinds), so the problem alone tells the level less often."""
    fits = [p for p in problems if p.allows(urg)]
    if share is not None and rng is not None:
        own = [p for p in fits if p.default == urg]
        other = [p for p in fits if p.default != urg]
        if own and other:
            if rng.random() < share:
                return st.pick(f"{key}:own", own)
            return st.pick(f"{key}:other", other)
    return st.pick(key, fits)


def draw_variant(st: State, rng: random.Random, p: Problem, short: bool) -> str:
    if short and rng.random() < 0.5:
        return min(p.variants, key=len)
    return st.pick(f"variant:{p.variants[0]}", p.variants)


def traits(problem: Problem) -> set[str]:
    """What a situation sentence may take for granted about the problem (situations.txt)."""
    return {
        "Hoch": {"blocked"},
        "Mittel": {"partial"},
        "Niedrig": {"partial", "light"},
    }[problem.default]


def _situation(
    st: State, rng: random.Random, pools: Situations, kind: str, urg: str,
    have: set[str], date: dt.date, s: dict[str, str], lang: str,
) -> tuple[str, str, int | None] | None:  # fmt: skip
    """(filled sentence, template, days of a dated one) putting this ticket at ``urg``;
    ``have``: the product's capabilities and the problem's traits."""
    levels = pools.get(kind, {})
    static = [t for t in levels.get(urg, ()) if t[0] in have]
    dated = [t for t in levels.get("dated", ()) if t[0] in have]
    if not static and not dated:
        return None
    days = None
    if dated and (not static or rng.random() < 0.3):
        _, text = st.pick(f"dated:{lang}:{kind}", levels["dated"], lambda t: t[0] in have)
        days = rng.randint(*LEVEL_DAYS[urg])
        moment = when(days, date, rng, lang)
        s = {**s, "when": moment, "When": cap(moment)}
    else:
        _, text = st.pick(f"situation:{lang}:{kind}:{urg}", levels[urg], lambda t: t[0] in have)
    return fill(text, s, rng), text, days


def draw_cue(st: State, rng: random.Random, urg: str, lang: str) -> tuple[str | None, str]:
    r = rng.random()
    if r < URGENT_P[urg]:
        return "urgent", st.pick(f"cue:urgent:{lang}", URGENT_CUES if lang == "de" else EN_URGENT)
    if r < URGENT_P[urg] + CALM_P[urg]:
        return "calm", st.pick(f"cue:calm:{lang}", CALM_CUES if lang == "de" else EN_CALM)
    return None, ""


def insert_at(segs: list[str], text: str, rng: random.Random, lo: int = 0) -> None:
    segs.insert(rng.randint(min(lo, len(segs)), len(segs)), text)


def signature(
    st: State, rng: random.Random, style: Style, person: Person, s: dict[str, str], stray: bool
) -> list[str]:
    sig: list[str] = []
    closer = st.pick(f"closer:{style}", CLOSERS[style])
    if closer:
        sig.append(closer)
    if style in ("informal", "terse"):
        sig.append(person.first)
    elif style != "angry" or rng.random() < 0.7:
        sig.append(person.full)
    if rng.random() < 0.2:
        mail = umlauts(f"{person.first}.{person.last}".lower())
        sig.append(f"{mail}@{rng.choice(cat.MAIL_DOMAINS)}")
    if not stray and rng.random() < 0.1:
        sig.append(f"Kundennummer {s['cust']}")
    if style == "formal" and rng.random() < 0.2:
        sig.append(rng.choice(cat.COMPANIES))
    if rng.random() < 0.07:
        sig.append(rng.choice(MOBILE_FOOTERS))
    return sig


def write_title(
    st: State, rng: random.Random, sub: str, style: Style, s: dict[str, str],
    cue: str | None, secondary: str | None, lang: str, problem: Problem,
) -> str:  # fmt: skip
    stray = sub == OFFTOPIC
    own = (ENGLISH if lang == "en" else POOLS)[sub].titles
    r = rng.random()
    if r < 0.03 and lang == "de":
        # A few titles name their class, as some real ones do; the data card counts them.
        title = f"{sub}: {fill(st.pick(f'title:{sub}', own), s, rng)}"
    elif r < 0.2:
        t = st.pick("title:generic", GENERIC_TITLES)
        if stray and (PRODUCT_SLOT.search(t) or "Bestell" in t or "Kunden" in t):
            t = "Anfrage"
        title = fill(t, s, rng)
    elif secondary and r < 0.27:
        # titled after the first thing the writer thought of, not the main ask
        title = fill(st.pick(f"title:{secondary}", POOLS[secondary].titles), s, rng)
    elif problem.titles and r < 0.65:
        title = fill(st.pick(f"title:{problem.variants[0]}", problem.titles), s, rng)
    else:
        title = fill(st.pick(f"title:{lang}:{sub}", own), s, rng)
    if (cue == "urgent" and rng.random() < 0.3) or rng.random() < 0.02:
        title = rng.choice(URGENT_TITLE_MARKS) + title
    if style == "angry" and rng.random() < 0.4:
        title = title.upper() if rng.random() < 0.3 else title + rng.choice(("!!!", "!", "?!"))
    elif style in ("informal", "terse") and rng.random() < 0.25:
        title = title.lower()
    return title


def _paragraphs(segs: list[str], rng: random.Random, style: Style) -> str:
    segs = [x for x in segs if x]
    if style == "long" and len(segs) >= 3:
        cuts = sorted(rng.sample(range(1, len(segs)), min(len(segs) - 1, rng.randint(1, 3))))
        parts = [segs[a:b] for a, b in zip([0, *cuts], [*cuts, len(segs)], strict=True)]
        return "\n\n".join(" ".join(p) for p in parts)
    if style in ("formal", "polite") and rng.random() < 0.2:
        return "\n".join(segs)
    return " ".join(segs)


def _secondary(
    st: State, rng: random.Random, sub: str, product: cat.Product, date: dt.date,
    s: dict[str, str],
) -> tuple[str, Problem, str]:  # fmt: skip
    """(subcategory, problem, filled text) of a minor concern of another subcategory."""
    others = [k for k in POOLS if k not in (sub, OFFTOPIC)]
    other = others[rng.randrange(len(others))]
    p = st.pick(f"secondary:{other}", POOLS[other].problems, lambda p: p.levels[0] in "NM")
    # another product: a concern about the same one would contradict the main ask
    fits = [x for x in cat.PRODUCTS if p.tag in caps(x) and x != product]
    s = {**slots(rng, rng.choice(fits), date), "kunde": s["kunde"]}
    return other, p, fill(draw_variant(st, rng, p, False), s, rng)


def support(
    st: State, rng: random.Random, sub: str, urg: str, style: Style, date: dt.date,
    person: Person, default_share: float | None = None, twin: Twin | None = None,
) -> tuple[str, str, Plan]:  # fmt: skip
    """A ticket about one of our products, orders or policies: (title, description, plan).
    ``default_share``: how often its problem's default level is ``urg`` (None: as drawn);
    ``twin``: also write the ticket's twin into ``twin.made`` (German tickets only)."""
    kind = KIND_OF[sub]
    lang = "de"
    if rng.random() < ENGLISH_SHARE and any(p.default == urg for p in ENGLISH[sub].problems):
        lang = "en"
    problems = POOLS[sub].problems
    if lang == "en":
        # few English situations: an English ticket's problem has the urgency by itself
        problems = tuple(p for p in ENGLISH[sub].problems if p.default == urg)
    problem = draw_problem(st, f"problem:{lang}:{sub}:{urg}", problems, urg, rng, default_share)
    product = rng.choice([p for p in cat.PRODUCTS if problem.tag in caps(p)])
    s = slots(rng, product, date)
    s["kunde"] = "Kundin" if person.gender == "f" else "Kunde"
    terse = style == "terse"
    main = fill(draw_variant(st, rng, problem, terse), s, rng)
    plan = Plan(sub, urg, problem.variants[0], problem.default, language=lang, style=style)
    plan.texts.append(main)

    pools = ENGLISH_SITUATIONS if lang == "en" else SITUATIONS
    situation = None
    if urg != problem.default or rng.random() < (0.25 if terse else 0.45):
        have = caps(product) | traits(problem)
        found = _situation(st, rng, pools, kind, urg, have, date, s, lang)
        if found is None:
            assert urg == problem.default, (sub, urg, problem.variants[0])
        else:
            situation, plan.situation, plan.days = found
    plan.cue, cue = draw_cue(st, rng, urg, lang)
    alt = None
    if twin is not None and lang == "de":
        alt = _twin_level(twin, pools, kind, urg, problem, caps(product), date, s)

    if lang == "en":
        segs = [main]
        if situation:
            insert_at(segs, situation, rng)
        if cue:
            insert_at(segs, cue, rng)
        if not terse and rng.random() < 0.5:
            segs.insert(0, rng.choice(EN_OPENERS))
        if rng.random() < 0.5:
            segs.append(rng.choice(EN_ASKS))
        greeting = rng.choice(EN_GREETINGS)
        sig = [rng.choice(EN_CLOSERS), person.first if rng.random() < 0.5 else person.full]
        description = "\n".join(x for x in (greeting, " ".join(segs), *sig) if x)
        title = write_title(st, rng, sub, style, s, plan.cue, None, lang, problem)
        return title, description, plan

    # the German body, segment by segment, in a varying order
    pool = POOLS[sub]
    lead = fill(st.pick("lead", PROBLEM_LEADS), s, rng) if not terse and rng.random() < 0.2 else ""
    segs = [f"{lead} {main}".strip()]
    n_details = {"long": rng.randint(2, 3), "terse": 0}.get(style, int(rng.random() < 0.5))
    segs += [fill(st.pick(f"detail:{sub}", pool.details), s, rng) for _ in range(n_details)]
    if situation:
        _place_situation(segs, situation, rng)
    if not terse:
        if rng.random() < (0.6 if style == "long" else 0.3):
            others = [k for k in RED_HERRINGS if k != sub]
            other_sub = others[rng.randrange(len(others))]
            herring = st.pick(f"herring:{other_sub}", RED_HERRINGS[other_sub])
            insert_at(segs, fill(herring, s, rng), rng)
        if rng.random() < (0.6 if style == "long" else 0.15):
            insert_at(segs, fill(st.pick("distractor", DISTRACTORS), s, rng), rng, 1)
        if rng.random() < 0.4:
            segs.append(st.pick(f"ask:{kind}", ASKS[kind]))
        if rng.random() < SECONDARY_SHARE:
            plan.secondary, second, other = _secondary(st, rng, sub, product, date, s)
            plan.secondary_problem = second.variants[0]
            plan.texts.append(other)
            aside = st.pick("aside", ASIDE_FRAMES).replace("{x}", other)
            if rng.random() < 0.4:
                i = next(k for k, x in enumerate(segs) if main in x)
                segs[i] = f"{st.pick('main', MAIN_MARKERS)} {segs[i]}"
                segs.insert(i, aside)
            else:
                insert_at(segs, aside, rng, 1)
    if cue:
        r = rng.random()
        if r < 0.35:
            segs.insert(0, cue)
        elif r < 0.8:
            segs.append(cue)
        else:
            insert_at(segs, cue, rng, 1)
    opener = st.pick(f"opener:{style}", OPENERS[style])
    if opener and rng.random() < 0.7:
        segs.insert(0, fill(opener, s, rng))
    bodies = [segs]
    if alt is not None and twin is not None:
        bodies.append(_swap(segs, situation, alt[1][0] if alt[1] else None, twin.rng))
    if style == "angry" and rng.random() < 0.5:
        bodies = [[x.rstrip(".") + "!" if x.endswith(".") else x for x in b] for b in bodies]
    careless = style in ("informal", "terse", "angry") and rng.random() < 0.35
    start = rng.getstate()
    texts = [mess(_paragraphs(bodies[0], rng, style), rng, careless)]
    for b in bodies[1:]:
        r_twin = random.Random()
        r_twin.setstate(start)  # the twin's typos and paragraphs as the ticket's, where they can be
        texts.append(mess(_paragraphs(b, r_twin, style), r_twin, careless))

    title = write_title(st, rng, sub, style, s, plan.cue, plan.secondary, lang, problem)
    sig = signature(st, rng, style, person, s, False)
    if terse and rng.random() < 0.35:
        sig = []  # a one-liner from the phone
    greeting = rng.choice(GREETINGS[style])
    sep = "\n" if style in ("formal", "long", "polite") or rng.random() < 0.3 else " "
    if terse:
        sep = " " if rng.random() < 0.7 else "\n"
    descriptions = [
        sep.join(x for x in (greeting, body if greeting else cap(body), *sig) if x)
        for body in texts
    ]

    r = rng.random()
    if not terse and r < 0.05:
        plan.wrapper = "forward"
        note = st.pick("forward", FORWARD_NOTES)
        head = (
            f"---------- Weitergeleitete Nachricht ----------\nVon: {person.full}\n"
            f"Datum: {s['date']}\nBetreff: {title}"
        )
        descriptions = [f"{note}\n\n{head}\n\n{d}" for d in descriptions]
        title = rng.choice(("WG: ", "Fwd: ", "FW: ")) + title
    elif not terse and r < 0.11:
        plan.wrapper = "quote"
        top = st.pick("quote-top", QUOTE_TOPS)
        ack = fill(st.pick("ack", ACK_QUOTES), s, rng)
        stamp = f"Am {s['date']} schrieb Lumetra Kundenservice <service@lumetra.de>:"
        descriptions = [
            f"{top}\n{person.first}\n\n{stamp}\n"
            + "\n".join("> " + line for line in f"Guten Tag,\n{ack}\n\n{d}".split("\n"))
            for d in descriptions
        ]
        title = rng.choice(("Re: ", "AW: ", "RE: ")) + title
    elif r < 0.17:
        plan.wrapper = "followup"
        first = fill(st.pick("followup", FOLLOWUPS), s, rng)
        descriptions = [first + "\n" + d for d in descriptions]
    elif rng.random() < 0.06:
        title = rng.choice(("Re: ", "AW: ")) + title
    if alt is not None and twin is not None:
        level, found = alt
        twin_plan = replace(plan, urgency=level, situation=None, days=None, texts=list(plan.texts))
        if found:
            twin_plan.situation, twin_plan.days = found[1], found[2]
        twin.made = (title, descriptions[1], twin_plan)
    return title, descriptions[0], plan


def _twin_level(
    twin: Twin, pools: Situations, kind: str, urg: str, problem: Problem,
    product_caps: set[str], date: dt.date, s: dict[str, str],
) -> tuple[str, tuple[str, str, int | None] | None] | None:  # fmt: skip
    """(level, situation or None) of a twin: another level the problem allows, reached by a
    situation sentence, or the problem's own level (the sentence dropped, or one that agrees).
    None when no other level can be written for this problem and product."""
    other = [LEVEL_NAMES[c] for c in problem.levels if LEVEL_NAMES[c] != urg]
    twin.rng.shuffle(other)
    have = product_caps | traits(problem)
    for level in other:
        wants = level != problem.default or twin.rng.random() < 0.45
        found = None
        if wants:
            found = _situation(twin.st, twin.rng, pools, kind, level, have, date, s, "de")
        if found is not None or level == problem.default:
            return level, found
    return None


def _swap(segs: list[str], situation: str | None, new: str | None, rng: random.Random) -> list[str]:
    """``segs`` with the ticket's situation sentence (the very object) replaced by ``new``,
    dropped when ``new`` is None, or ``new`` put in where the ticket had none."""
    out = list(segs)
    at = next((k for k, x in enumerate(out) if x is situation), None) if situation else None
    if at is not None:
        if new is None:
            del out[at]
        else:
            out[at] = new
    elif new is not None:
        _place_situation(out, new, rng)
    return out


def _place_situation(segs: list[str], text: str, rng: random.Random) -> None:
    """A situation sentence goes first about a third of the time, else after the first segment."""
    if rng.random() < 0.35:
        segs.insert(0, text)
    else:
        insert_at(segs, text, rng, 1)
