"""One ticket, put together: problem, situation, cues, second concern, order, mail around it.

    title, description, plan = support(st, rng, "Softwarefehler", "Hoch", "formal", date, person)

Used by ``bizztune.tasks.tickets.generator``, which draws the cell, style, date and sender and
hands them here; stray mail is ``stray.py``. Pools are drawn through ``State`` decks (without
replacement, reshuffled when empty), so repeats come late and near-duplicates stay rare.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from bizztune.tasks.tickets import catalog as cat
from bizztune.tasks.tickets.noise import mess, umlauts
from bizztune.tasks.tickets.pools import (
    ENGLISH,
    ENGLISH_SITUATIONS,
    GENERIC_TITLES,
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
class Draft:
    """The ticket being written: its decks and random stream, the writer's style, the filled
    slots (product, order, customer, date), the sender and the plan."""

    st: State
    rng: random.Random
    style: Style
    s: dict[str, str]
    person: Person
    plan: Plan


def cap(s: str) -> str:
    return s[:1].upper() + s[1:]


def draw_problem(st: State, key: str, problems: Sequence[Problem], urg: str) -> Problem:
    """A problem that can have ``urg``."""
    return st.pick(key, [p for p in problems if p.allows(urg)])


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
    d: Draft, pools: Situations, urg: str, have: set[str], date: dt.date
) -> tuple[str, str, int | None] | None:
    """(filled sentence, template, days of a dated one) putting this ticket at ``urg``;
    ``have``: the product's capabilities and the problem's traits."""
    st, rng, s, lang, kind = d.st, d.rng, d.s, d.plan.language, KIND_OF[d.plan.subcategory]
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


def signature(d: Draft, stray: bool) -> list[str]:
    st, rng, style, person = d.st, d.rng, d.style, d.person
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
        sig.append(f"Kundennummer {d.s['cust']}")
    if style == "formal" and rng.random() < 0.2:
        sig.append(rng.choice(cat.COMPANIES))
    if rng.random() < 0.07:
        sig.append(rng.choice(MOBILE_FOOTERS))
    return sig


def write_title(d: Draft, problem: Problem) -> str:
    st, rng, style, s, plan = d.st, d.rng, d.style, d.s, d.plan
    sub, lang, cue, secondary = plan.subcategory, plan.language, plan.cue, plan.secondary
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


def _secondary(d: Draft, product: cat.Product, date: dt.date) -> tuple[str, Problem, str]:
    """(subcategory, problem, filled text) of a minor concern of another subcategory."""
    st, rng, sub = d.st, d.rng, d.plan.subcategory
    others = [k for k in POOLS if k not in (sub, OFFTOPIC)]
    other = others[rng.randrange(len(others))]
    p = st.pick(f"secondary:{other}", POOLS[other].problems, lambda p: p.levels[0] in "NM")
    # another product: a concern about the same one would contradict the main ask
    fits = [x for x in cat.PRODUCTS if p.tag in caps(x) and x != product]
    s = {**slots(rng, rng.choice(fits), date), "kunde": d.s["kunde"]}
    return other, p, fill(draw_variant(st, rng, p, False), s, rng)


def support(
    st: State, rng: random.Random, sub: str, urg: str, style: Style, date: dt.date, person: Person
) -> tuple[str, str, Plan]:
    """A ticket about one of our products, orders or policies: (title, description, plan)."""
    lang = "de"
    if rng.random() < ENGLISH_SHARE and any(p.default == urg for p in ENGLISH[sub].problems):
        lang = "en"
    problems = POOLS[sub].problems
    if lang == "en":
        # few English situations: an English ticket's problem has the urgency by itself
        problems = tuple(p for p in ENGLISH[sub].problems if p.default == urg)
    problem = draw_problem(st, f"problem:{lang}:{sub}:{urg}", problems, urg)
    product = rng.choice([p for p in cat.PRODUCTS if problem.tag in caps(p)])
    s = slots(rng, product, date)
    s["kunde"] = "Kundin" if person.gender == "f" else "Kunde"
    main = fill(draw_variant(st, rng, problem, style == "terse"), s, rng)
    plan = Plan(sub, urg, problem.variants[0], problem.default, language=lang, style=style)
    plan.texts.append(main)
    d = Draft(st, rng, style, s, person, plan)
    situation = None
    if urg != problem.default or rng.random() < (0.25 if style == "terse" else 0.45):
        pools = ENGLISH_SITUATIONS if lang == "en" else SITUATIONS
        found = _situation(d, pools, urg, caps(product) | traits(problem), date)
        if found is None:
            assert urg == problem.default, (sub, urg, problem.variants[0])
        else:
            situation, plan.situation, plan.days = found
    plan.cue, cue = draw_cue(st, rng, urg, lang)
    if lang == "en":
        title, description = _english(d, problem, main, situation, cue)
    else:
        segs = _german_body(d, product, date, main, situation, cue)
        title, description = _german_mail(d, problem, segs)
    return title, description, plan


def _english(
    d: Draft, problem: Problem, main: str, situation: str | None, cue: str
) -> tuple[str, str]:
    """An English ticket's title and description: a short body, a greeting and a signature."""
    rng = d.rng
    segs = [main]
    if situation:
        insert_at(segs, situation, rng)
    if cue:
        insert_at(segs, cue, rng)
    if d.style != "terse" and rng.random() < 0.5:
        segs.insert(0, rng.choice(EN_OPENERS))
    if rng.random() < 0.5:
        segs.append(rng.choice(EN_ASKS))
    greeting = rng.choice(EN_GREETINGS)
    sig = [rng.choice(EN_CLOSERS), d.person.first if rng.random() < 0.5 else d.person.full]
    description = "\n".join(x for x in (greeting, " ".join(segs), *sig) if x)
    return write_title(d, problem), description


def _german_body(
    d: Draft, product: cat.Product, date: dt.date, main: str, situation: str | None, cue: str
) -> list[str]:
    """The German body, segment by segment, in a varying order: the problem, details, the
    situation, red herrings, a second concern, the cue and an opener."""
    st, rng, style, s, plan = d.st, d.rng, d.style, d.s, d.plan
    sub, terse = plan.subcategory, style == "terse"
    lead = fill(st.pick("lead", PROBLEM_LEADS), s, rng) if not terse and rng.random() < 0.2 else ""
    segs = [f"{lead} {main}".strip()]
    n_details = {"long": rng.randint(2, 3), "terse": 0}.get(style, int(rng.random() < 0.5))
    segs += [fill(st.pick(f"detail:{sub}", POOLS[sub].details), s, rng) for _ in range(n_details)]
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
            segs.append(st.pick(f"ask:{KIND_OF[sub]}", ASKS[KIND_OF[sub]]))
        if rng.random() < SECONDARY_SHARE:
            _add_secondary(d, segs, product, date, main)
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
    return segs


def _add_secondary(
    d: Draft, segs: list[str], product: cat.Product, date: dt.date, main: str
) -> None:
    """A second, minor concern as an aside, before the main ask (marked) or after it."""
    d.plan.secondary, second, other = _secondary(d, product, date)
    d.plan.secondary_problem = second.variants[0]
    d.plan.texts.append(other)
    aside = d.st.pick("aside", ASIDE_FRAMES).replace("{x}", other)
    if d.rng.random() < 0.4:
        i = next(k for k, x in enumerate(segs) if main in x)
        segs[i] = f"{d.st.pick('main', MAIN_MARKERS)} {segs[i]}"
        segs.insert(i, aside)
    else:
        insert_at(segs, aside, d.rng, 1)


def _german_mail(d: Draft, problem: Problem, segs: list[str]) -> tuple[str, str]:
    """The German body as a mail (paragraphs and typos, greeting and signature) and its title."""
    rng, style = d.rng, d.style
    terse = style == "terse"
    if style == "angry" and rng.random() < 0.5:
        segs = [x.rstrip(".") + "!" if x.endswith(".") else x for x in segs]
    careless = style in ("informal", "terse", "angry") and rng.random() < 0.35
    body = mess(_paragraphs(segs, rng, style), rng, careless)
    title = write_title(d, problem)
    sig = signature(d, False)
    if terse and rng.random() < 0.35:
        sig = []  # a one-liner from the phone
    greeting = rng.choice(GREETINGS[style])
    sep = "\n" if style in ("formal", "long", "polite") or rng.random() < 0.3 else " "
    if terse:
        sep = " " if rng.random() < 0.7 else "\n"
    description = sep.join(x for x in (greeting, body if greeting else cap(body), *sig) if x)
    return _wrapper(d, title, description)


def _wrapper(d: Draft, title: str, description: str) -> tuple[str, str]:
    """Sometimes the mail around it: forwarded, a reply above our acknowledgement, a
    follow-up, or just a "Re:" in the title."""
    st, rng, s, person, plan = d.st, d.rng, d.s, d.person, d.plan
    terse = d.style == "terse"
    r = rng.random()
    if not terse and r < 0.05:
        plan.wrapper = "forward"
        note = st.pick("forward", FORWARD_NOTES)
        head = (
            f"---------- Weitergeleitete Nachricht ----------\nVon: {person.full}\n"
            f"Datum: {s['date']}\nBetreff: {title}"
        )
        return rng.choice(("WG: ", "Fwd: ", "FW: ")) + title, f"{note}\n\n{head}\n\n{description}"
    if not terse and r < 0.11:
        plan.wrapper = "quote"
        top = st.pick("quote-top", QUOTE_TOPS)
        ack = fill(st.pick("ack", ACK_QUOTES), s, rng)
        stamp = f"Am {s['date']} schrieb Lumetra Kundenservice <service@lumetra.de>:"
        quoted = "\n".join("> " + x for x in f"Guten Tag,\n{ack}\n\n{description}".split("\n"))
        title = rng.choice(("Re: ", "AW: ", "RE: ")) + title
        return title, f"{top}\n{person.first}\n\n{stamp}\n{quoted}"
    if r < 0.17:
        plan.wrapper = "followup"
        return title, fill(st.pick("followup", FOLLOWUPS), s, rng) + "\n" + description
    if rng.random() < 0.06:
        return rng.choice(("Re: ", "AW: ")) + title, description
    return title, description


def _place_situation(segs: list[str], text: str, rng: random.Random) -> None:
    """A situation sentence goes first about a third of the time, else after the first segment."""
    if rng.random() < 0.35:
        segs.insert(0, text)
    else:
        insert_at(segs, text, rng, 1)
