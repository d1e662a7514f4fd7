"""The offline generator of German support tickets for the built-in ``tickets`` task.

bizztune generate --task tickets -n 1000 --out data/tickets.jsonl

from bizztune.tasks.tickets.generator import generate
rows = list(generate(load_task("tickets"), n=1000, seed=0))

Each ticket is composed from independent pools: a greeting and opener by writing style, a
concrete problem of its subcategory with product slots (``problems.txt``), an urgency cue that
follows the task's rubric (``voice.py``), optional details and distractions, a closer, a
signature, order numbers, e-mail addresses, dates and typos. Labels are recoverable from the
text (the problem says what it is about, the cue how urgent it is) without naming the class.

Cells (subcategory, urgency) come round-robin from a fresh seeded shuffle of all 33 cells per
round, so any prefix is balanced. Ticket ``i`` only depends on the seed and on tickets before
it, so ``generate(n=500)`` is a prefix of ``generate(n=1000)``: that is what makes resuming an
interrupted file exact.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from bizztune.core.errors import ConfigError
from bizztune.core.interfaces import Task
from bizztune.tasks.tickets import catalog as cat
from bizztune.tasks.tickets.pools import GENERIC_TITLES, POOLS
from bizztune.tasks.tickets.voice import (
    CLOSERS,
    DATED_CUES,
    DATED_DAYS,
    DEADLINES,
    DISTRACTORS,
    GENERIC_CUES,
    GREETINGS,
    HIGH_LEADS,
    HIGH_REASONS,
    KIND_CUES,
    KIND_OF,
    OPENERS,
    PROBLEM_LEADS,
    RED_HERRINGS,
    STYLES,
    TERSE_CUES,
    UMLAUTS,
    Style,
)

__all__ = ["generate"]

T = TypeVar("T")

# Capabilities a problem may need from its product (the tag before "|" in problems.txt).
_FAMILY_CAPS: dict[str, set[str]] = {
    "phone": {"wifi", "bt", "screen", "battery", "os", "app"},
    "laptop": {"wifi", "bt", "screen", "battery", "os", "app", "laptop"},
    "smarthome": {"wifi", "os", "app"},
    "tv": {"wifi", "screen", "os", "app", "mount", "tv"},
    "audio": {"bt", "battery", "os", "app"},
    "acc": set(),
}
_EXTRA_CAPS: dict[str, set[str]] = {
    "Thermostat T3": {"battery"},
    "Video-Türklingel D5": {"battery", "mount"},
    "Rauchmelder S1": {"battery", "mount"},
    "Saugroboter Rover 2": {"battery"},
    "Soundbar Arena 500": {"wifi", "mount"},
    "Boom Go": set(),
    "USB-C-Ladegerät 65 W": {"power"},
    "Powerbank Volt 20": {"power", "battery"},
    "Ladepad Qi Duo": {"power"},
    "Dockingstation Dock 7": {"dock"},
    "Funkmaus Glide": {"bt", "battery"},
    "Tastatur Keys K2": {"bt", "battery"},
    "Wandhalterung W55": {"mount"},
}


_NO_CAPS: dict[str, set[str]] = {
    "Soundbar Arena 500": {"battery"},
    "Subwoofer Arena Sub": {"battery"},
}


def caps(p: cat.Product) -> set[str]:
    have = {"*", "-"} | _FAMILY_CAPS[p.family] | _EXTRA_CAPS.get(p.name, set())
    return have - _NO_CAPS.get(p.name, set())


# Articles, possessives and pronouns by grammatical gender.
_FORMS: dict[str, dict[cat.Gender, str]] = {
    "der": {"m": "der", "f": "die", "n": "das"},
    "den": {"m": "den", "f": "die", "n": "das"},
    "dem": {"m": "dem", "f": "der", "n": "dem"},
    "von": {"m": "vom", "f": "von der", "n": "vom"},
    "ein": {"m": "ein", "f": "eine", "n": "ein"},
    "einen": {"m": "einen", "f": "eine", "n": "ein"},
    "mein": {"m": "mein", "f": "meine", "n": "mein"},
    "meinen": {"m": "meinen", "f": "meine", "n": "mein"},
    "meinem": {"m": "meinem", "f": "meiner", "n": "meinem"},
    "er": {"m": "er", "f": "sie", "n": "es"},
    "ihn": {"m": "ihn", "f": "sie", "n": "es"},
}
PART_GENDER: dict[str, cat.Gender] = {
    "Display": "n", "Akku": "m", "Kamera": "f", "Lautsprecher": "m", "Ladeanschluss": "m",
    "Fingerabdrucksensor": "m", "Touchpad": "n", "Tastatur": "f", "Lüfter": "m",
    "USB-C-Anschluss": "m", "Gehäuse": "n", "Netzteil": "n", "Sensor": "m", "Status-LED": "f",
    "Halterung": "f", "Funkmodul": "n", "Panel": "n", "Fernbedienung": "f",
    "HDMI-Anschluss": "m", "Standfuß": "m", "Ladecase": "n", "Mikrofon": "n", "Kopfbügel": "m",
    "Touch-Bedienung": "f", "Kabel": "n", "Stecker": "m", "Anschluss": "m", "Oberfläche": "f",
}  # fmt: skip


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
class _State:
    seed: int
    decks: dict[str, Deck]

    def pick(self, key: str, items: Sequence[T]) -> T:
        deck = self.decks.get(key)
        if deck is None or deck.n != len(items):
            deck = self.decks[key] = Deck(len(items), random.Random(f"{self.seed}:deck:{key}"))
        return items[deck.draw()]


def _money(x: float) -> str:
    return f"{x:,.2f} €".replace(",", "X").replace(".", ",").replace("X", ".")


def _text_date(d: dt.date, rng: random.Random) -> str:
    form = rng.randrange(4)
    if form == 0:
        return f"{d.day}. {cat.MONTHS[d.month - 1]}"
    if form == 1:
        return f"{d.day:02d}.{d.month:02d}."
    if form == 2:
        return f"{d.day}.{d.month}.{d.year}"
    return f"{d.day}. {cat.MONTHS[d.month - 1]} {d.year}"


def _ascii(s: str) -> str:
    for k, v in UMLAUTS.items():
        s = s.replace(k, v)
    return s.replace("ı", "i").replace("ć", "c").replace("ş", "s")


def _slots(rng: random.Random, product: cat.Product, ticket_date: dt.date) -> dict[str, str]:
    g = product.gender
    parts = cat.PARTS[product.family]
    part = rng.choice(parts)
    pg = PART_GENDER.get(part, "m")
    other = rng.choice([p for p in cat.PRODUCTS if p.family != product.family])
    past = ticket_date - dt.timedelta(days=rng.randint(3, 40))
    wd = rng.choice(cat.WEEKDAYS)
    carrier = rng.choice(cat.CARRIERS)
    year = ticket_date.year
    s: dict[str, str] = {
        "p": product.name,
        "n": product.noun,
        "spec": product.spec,
        "price": _money(product.price),
        "amount": _money(rng.choice([product.price, rng.uniform(9, 400), product.price / 2])),
        "part": part,
        "app": rng.choice(cat.APPS[product.family]),
        "code": rng.choice(cat.ERROR_CODES),
        "version": f"{rng.randint(2, 6)}.{rng.randint(0, 9)}.{rng.randint(0, 20)}",
        "order": rng.choice(
            [
                f"LM-{year}-{rng.randint(100000, 999999)}",
                f"{rng.randint(40000000, 49999999)}",
                f"#A{rng.randint(1000000, 9999999)}",
            ]
        ),
        "tracking": rng.choice(
            [f"JJD{rng.randint(10**14, 10**15 - 1)}", f"{rng.randint(10**11, 10**12 - 1)}"]
        ),
        "cust": f"K-{rng.randint(100000, 999999)}",
        "phone": f"01{rng.choice('567')}{rng.randint(0, 9)} {rng.randint(1000000, 9999999)}",
        "payment": rng.choice(cat.PAYMENTS),
        "carrier": carrier,
        "Carrier": carrier[0].upper() + carrier[1:],
        "city": rng.choice(cat.CITIES),
        "wd": wd,
        "date": _text_date(past, rng),
        "days": str(rng.randint(3, 14)),
        "weeks": str(rng.randint(2, 8)),
        "months": str(rng.randint(3, 30)),
        "years": str(rng.randint(2, 15)),
        "p2": other.name,
    }
    s["shop"] = rng.choice(cat.SHOPS).format(city=s["city"])
    for key, forms in _FORMS.items():
        s[key] = forms[g]
        s[key[0].upper() + key[1:]] = forms[g][0].upper() + forms[g][1:]
    s["einen_p2"] = _FORMS["einen"][other.gender]
    for key in ("der", "den", "dem"):
        s[f"{key}_part"] = _FORMS[key][pg]
        s[f"{key.capitalize()}_part"] = _FORMS[key][pg].capitalize()
    s["deadline"] = rng.choice(DEADLINES).format(wd=wd)
    return s


def _until(ticket_date: dt.date, urg: str, rng: random.Random) -> str:
    lo, hi = DATED_DAYS[urg]
    d = ticket_date + dt.timedelta(days=rng.randint(lo, hi))
    if rng.random() < 0.5:
        return f"{d.day}. {cat.MONTHS[d.month - 1]} {d.year}"
    return f"{d.day:02d}.{d.month:02d}.{d.year}"


def _fill(template: str, slots: dict[str, str]) -> str:
    return template.format_map(slots)


def _typos(text: str, rng: random.Random) -> str:
    words = text.split(" ")
    out = []
    for w in words:
        if len(w) > 3 and w.isalpha() and rng.random() < 0.07:
            i = rng.randrange(len(w) - 1)
            op = rng.randrange(3)
            if op == 0:
                w = w[:i] + w[i + 1] + w[i] + w[i + 2 :]
            elif op == 1:
                w = w[:i] + w[i + 1 :]
            else:
                w = w[:i] + w[i] + w[i:]
        out.append(w)
    text = " ".join(out)
    if rng.random() < 0.35:
        text = _ascii(text)
    if rng.random() < 0.3:
        text = text.lower()
    if rng.random() < 0.4:
        text = text.replace(", ", " ")
    return text


_PRODUCT_SLOT = re.compile(r"\{(p|n|den|der|dem|Den|Der|einen|order|p2|ihn|er|app)\}")


def _cue(st: _State, rng: random.Random, sub: str, urg: str, style: Style) -> str:
    if style == "terse":
        return st.pick(f"terse:{urg}", TERSE_CUES[urg])
    kind = KIND_OF[sub]
    r = rng.random()
    if r < 0.15:
        return st.pick("dated", DATED_CUES)
    r = rng.random()
    if urg == "Hoch" and r < 0.2:
        lead = st.pick("hlead", HIGH_LEADS)
        reason = st.pick("hreason", HIGH_REASONS)
        return f"{lead}, {reason}."
    if r < 0.6:
        return st.pick(f"cue:{kind}:{urg}", KIND_CUES[kind][urg])
    return st.pick(f"cue:{urg}", GENERIC_CUES[urg])


def _ticket(
    st: _State, rng: random.Random, i: int, sub: str, urg: str, category: str
) -> dict[str, Any]:
    pool = POOLS[sub]
    unrelated = KIND_OF[sub] == "unrelated"
    style: Style = rng.choice(STYLES)
    # One deck per style: two tickets in the same style repeat a problem only after all of
    # them were used, which keeps short (terse) tickets apart.
    tag, problem = st.pick(f"problem:{sub}:{style}", pool.problems)
    product = rng.choice([p for p in cat.PRODUCTS if tag in caps(p)])
    ticket_date = dt.date(2024, 1, 1) + dt.timedelta(days=rng.randrange(730))
    slots = _slots(rng, product, ticket_date)
    first, gender = rng.choice(cat.FIRST_NAMES)
    last = rng.choice(cat.LAST_NAMES)
    slots["kunde"] = "Kundin" if gender == "f" else "Kunde"
    slots["until"] = _until(ticket_date, urg, rng)

    def usable(t: str) -> bool:
        # An off-topic message must not mention our products or orders.
        return not (unrelated and _PRODUCT_SLOT.search(t))

    body: list[str] = []
    opener = st.pick(f"opener:{style}", OPENERS[style])
    if opener and usable(opener):
        body.append(_fill(opener, slots))
    cue = _fill(_cue(st, rng, sub, urg, style), slots)
    if style != "terse" and rng.random() < 0.2:
        body.append(cue)
        cue = ""
    problem = _fill(problem, slots)
    if rng.random() < 0.3:
        problem = f"{_fill(st.pick('lead', PROBLEM_LEADS), slots)} {problem}"
    body.append(problem)
    n_details = {"long": 2, "terse": 0}.get(style, 1 if rng.random() < 0.5 else 0)
    for _ in range(n_details):
        d = st.pick(f"detail:{sub}", pool.details)
        if usable(d):
            body.append(_fill(d, slots))
    if style != "terse" and rng.random() < (0.6 if style == "long" else 0.2):
        d = st.pick("distractor", DISTRACTORS)
        if not unrelated or d.startswith(("Sorry", "Ich bin technisch", "Das Wetter")):
            body.append(_fill(d.replace("{einen} {p2}", "{einen_p2} {p2}"), slots))
    if not unrelated and style != "terse" and rng.random() < 0.55:
        others = [k for k in RED_HERRINGS if k != sub]
        other = others[rng.randrange(len(others))]
        herring = _fill(st.pick(f"herring:{other}", RED_HERRINGS[other]), slots)
        body.insert(rng.randint(max(1, len(body) - 1), len(body)), herring)
    if cue:
        body.append(cue)
        if style in ("long", "angry") and rng.random() < 0.3:
            body.append(_fill(st.pick(f"cue:{urg}", GENERIC_CUES[urg]), slots))
    if not unrelated and KIND_OF[sub] in ("money", "order") and rng.random() < 0.25:
        body.append(f"Bestellnummer: {slots['order']}")
    if style == "angry" and rng.random() < 0.5:
        body = [b.rstrip(".") + "!" if b.endswith(".") else b for b in body]
    text = " ".join(b for b in body if b)
    if style in ("informal", "terse", "angry") and rng.random() < 0.3:
        text = _typos(text, rng)

    # the sender
    user = f"{first} {last}" if rng.random() < 0.9 else f"{first[0]}. {last}"
    sig: list[str] = []
    closer = st.pick(f"closer:{style}", CLOSERS[style])
    if closer:
        sig.append(closer)
    if style in ("informal", "terse"):
        sig.append(first)
    elif style != "angry" or rng.random() < 0.7:
        sig.append(f"{first} {last}")
    if rng.random() < 0.25:
        sig.append(f"{_ascii(first).lower()}.{_ascii(last).lower()}@{rng.choice(cat.MAIL_DOMAINS)}")
    if not unrelated and rng.random() < 0.12:
        sig.append(f"Kundennummer {slots['cust']}")
    if style == "formal" and rng.random() < 0.2:
        sig.append(rng.choice(cat.COMPANIES))
    greeting = rng.choice(GREETINGS[style])
    if not greeting:
        text = text[:1].upper() + text[1:]
    sep = "\n" if style in ("formal", "long", "polite") or rng.random() < 0.3 else " "
    description = sep.join(x for x in (greeting, text, *sig) if x)

    return {
        "id": f"t-{i + 1:06d}",
        "title": _title(st, rng, sub, style, slots, unrelated),
        "description": description,
        "user": user,
        "date": ticket_date.isoformat(),
        "category": category,
        "subcategory": sub,
        "urgency": urg,
    }


def _title(
    st: _State, rng: random.Random, sub: str, style: Style, slots: dict[str, str], unrelated: bool
) -> str:
    r = rng.random()
    if r < 0.03:
        # A few titles name their class, as some real ones do; the data card counts them.
        title = f"{sub}: {_fill(st.pick(f'title:{sub}', POOLS[sub].titles), slots)}"
    elif r < 0.15:
        t = st.pick("title:generic", GENERIC_TITLES)
        if unrelated and _PRODUCT_SLOT.search(t):
            t = "Anfrage"
        title = _fill(t, slots)
    else:
        title = _fill(st.pick(f"title:{sub}", POOLS[sub].titles), slots)
    if rng.random() < 0.08:
        title = rng.choice(("Re: ", "AW: ", "WG: ", "Fwd: ")) + title
    if style == "angry" and rng.random() < 0.4:
        title = title.upper() if rng.random() < 0.3 else title + rng.choice(("!!!", "!", "?!"))
    elif style in ("informal", "terse") and rng.random() < 0.25:
        title = title.lower()
    return title


def generate(task: Task, n: int, seed: int) -> Iterator[dict[str, Any]]:
    """Yield ``n`` tickets ``{id, title, description, user, date, category, subcategory,
    urgency}``, balanced over the (subcategory, urgency) cells; stable for a seed."""
    try:
        sub_field = task.schema.field("subcategory")
        urgencies = task.schema.field("urgency").labels
    except KeyError:
        raise ConfigError(
            f"the built-in ticket generator writes the 'tickets' task, not '{task.name}'"
        ) from None
    missing = [s for s in sub_field.labels if s not in POOLS]
    if missing:
        raise ConfigError(
            f"task '{task.name}': the built-in generator has no tickets for subcategories "
            f"{', '.join(missing)}; generate with --provider instead"
        )
    for u in urgencies:
        if u not in GENERIC_CUES:
            raise ConfigError(f"task '{task.name}': unknown urgency label {u!r} for the generator")
    cells = [(s, u) for s in sub_field.labels for u in urgencies]
    st = _State(seed, {})
    order: list[tuple[str, str]] = []
    for i in range(n):
        if i % len(cells) == 0:
            order = list(cells)
            random.Random(f"{seed}:cells:{i // len(cells)}").shuffle(order)
        sub, urg = order[i % len(cells)]
        rng = random.Random(f"{seed}:ticket:{i}")
        yield _ticket(st, rng, i, sub, urg, sub_field.parent_of[sub])
