"""What the generator fills into a text: products and their capabilities, articles, numbers, dates.

    s = slots(rng, product, ticket_date)           # {"p": "Nova 8 Pro", "den": "das", ...}
    fill("{Der} {p} [[startet|bootet]] nicht.", s, rng)
    when(2, ticket_date, rng)                      # "übermorgen", "am 14. März", ...

Used by ``bizztune.tasks.tickets.generator``. ``caps`` says which problems a product can have
(no Bluetooth pairing for a wall mount); ``when`` writes a deadline that is ``days`` after the
ticket's date in one of several forms, so only the distance, not the words, says how close it is.
"""

from __future__ import annotations

import datetime as dt
import random
import re

from bizztune.tasks.tickets import catalog as cat

# Capabilities a problem may need from its product (the tag before "|" in problems.txt).
_FAMILY_CAPS: dict[str, set[str]] = {
    "phone": {"wifi", "bt", "screen", "battery", "os", "app", "phone"},
    "laptop": {"wifi", "bt", "screen", "battery", "os", "app", "laptop"},
    "smarthome": {"wifi", "os", "app"},
    "tv": {"wifi", "screen", "os", "app", "mount", "tv"},
    "audio": {"bt", "battery", "os", "app"},
    "acc": set(),
}
_EXTRA_CAPS: dict[str, set[str]] = {
    "Lumetra Home Hub": {"heat"},
    "Thermostat T3": {"battery", "heat"},
    "Video-Türklingel D5": {"battery", "mount", "door"},
    "Rauchmelder S1": {"battery", "mount", "smoke"},
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
    "Lumetra Tab 11": {"laptop"},
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

FRIENDS = ("Tim", "Sarah", "Jan", "Mareike", "Dennis", "Bea", "Olli", "Steffi", "Carsten", "Yusuf")
SUBJECTS = (
    "Ihre Anfrage", "Angebot Nr. 2291", "Rechnung März", "Termin am Montag", "Unterlagen",
    "Lieferung Büromaterial", "Einladung Sommerfest", "Protokoll", "Bewerbung", "Fotos",
)  # fmt: skip


def money(x: float) -> str:
    return f"{x:,.2f} €".replace(",", "X").replace(".", ",").replace("X", ".")


def text_date(d: dt.date, rng: random.Random) -> str:
    form = rng.randrange(4)
    if form == 0:
        return f"{d.day}. {cat.MONTHS[d.month - 1]}"
    if form == 1:
        return f"{d.day:02d}.{d.month:02d}."
    if form == 2:
        return f"{d.day}.{d.month}.{d.year}"
    return f"{d.day}. {cat.MONTHS[d.month - 1]} {d.year}"


_NUMBERS = ("null", "einem", "zwei", "drei", "vier", "fünf", "sechs", "sieben", "acht", "neun")
_EN_MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip


def when(days: int, ticket_date: dt.date, rng: random.Random, lang: str = "de") -> str:
    """A moment ``days`` after ``ticket_date``, said as a customer would: relative or dated."""
    d = ticket_date + dt.timedelta(days=days)
    if lang == "en":
        rel = {0: "tonight", 1: "tomorrow", 2: "the day after tomorrow"}.get(days)
        if rel and rng.random() < 0.6:
            return rel
        return f"on {d.day} {_EN_MONTHS[d.month - 1]}"
    forms: list[str] = [f"am {d.day}. {cat.MONTHS[d.month - 1]}", f"am {d.day:02d}.{d.month:02d}."]
    if days <= 2:
        forms += [("heute Abend", "morgen", "übermorgen")[days], ("heute", "morgen früh", "")[days]]
        forms.append(f"am {cat.WEEKDAYS_ALL[d.weekday()]}" if days == 2 else "")
    elif days <= 13:
        forms += [f"in {days} Tagen", "nächste Woche" if days >= 7 else "", "in gut einer Woche"]
        forms[-1] = forms[-1] if 8 <= days <= 10 else ""
    else:
        weeks = days // 7
        forms.append(f"in {_NUMBERS[weeks] if weeks < 10 else weeks} Wochen")
        if d.month != ticket_date.month:
            forms += [f"im {cat.MONTHS[d.month - 1]}", f"Anfang {cat.MONTHS[d.month - 1]}"]
            if d.day > 10:
                forms[-1] = ""
    return rng.choice([f for f in forms if f])


def slots(rng: random.Random, product: cat.Product, ticket_date: dt.date) -> dict[str, str]:
    """Every slot a template may use, for one product and one ticket date."""
    g = product.gender
    part = rng.choice(cat.PARTS[product.family])
    pg = PART_GENDER.get(part, "m")
    other = rng.choice([p for p in cat.PRODUCTS if p.family != product.family])
    past = ticket_date - dt.timedelta(days=rng.randint(3, 40))
    back = ticket_date + dt.timedelta(days=rng.randint(3, 21))
    wd = rng.choice(cat.WEEKDAYS)
    carrier = rng.choice(cat.CARRIERS)
    year = ticket_date.year
    company = rng.choice(cat.COMPANIES)
    s: dict[str, str] = {
        "p": product.name,
        "n": product.noun,
        "spec": product.spec,
        "price": money(product.price),
        "amount": money(rng.choice([product.price, rng.uniform(9, 400), product.price / 2])),
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
        "case": f"{rng.choice('ABCKST')}{rng.randint(100000, 999999)}",
        "phone": f"01{rng.choice('567')}{rng.randint(0, 9)} {rng.randint(1000000, 9999999)}",
        "payment": rng.choice(cat.PAYMENTS),
        "carrier": carrier,
        "Carrier": carrier[0].upper() + carrier[1:],
        "city": rng.choice(cat.CITIES),
        "wd": wd,
        "date": text_date(past, rng),
        "back": text_date(back, rng),
        "days": str(rng.randint(3, 14)),
        "weeks": str(rng.randint(2, 8)),
        "months": str(rng.randint(3, 30)),
        "years": str(rng.randint(2, 15)),
        "p2": other.name,
        "einen_p2": _FORMS["einen"][other.gender],
        "company": company,
        "company_domain": re.sub(r"[^a-z]", "", company.lower().split()[-1]) + ".de",
        "subject": rng.choice(SUBJECTS),
        "friend": rng.choice(FRIENDS),
        "teacher": rng.choice(cat.LAST_NAMES),
    }
    s["shop"] = rng.choice(cat.SHOPS).format(city=s["city"])
    for key, forms in _FORMS.items():
        s[key] = forms[g]
        s[key[0].upper() + key[1:]] = forms[g][0].upper() + forms[g][1:]
    for key in ("der", "den", "dem"):
        s[f"{key}_part"] = _FORMS[key][pg]
        s[f"{key.capitalize()}_part"] = _FORMS[key][pg].capitalize()
    return s


_CHOICE = re.compile(r"\[\[([^\]]*)\]\]")


def fill(template: str, s: dict[str, str], rng: random.Random) -> str:
    """Pick one of each ``[[a|b]]``, then fill the slots."""
    text = _CHOICE.sub(lambda m: rng.choice(m.group(1).split("|")), template)
    return text.format_map(s)


PRODUCT_SLOT = re.compile(r"\{(p|n|den|der|dem|Den|Der|einen|order|p2|ihn|er|app|cust)\}")
"""Slots that name one of our products, orders or customers: off-topic mail has none."""
