"""The world of the offline ticket generator: a product catalogue, people, shops and numbers.

Used by ``bizztune.tasks.tickets.generator`` (``bizztune generate --task tickets``); nothing here is random
by itself. Lumetra Elektronik GmbH is a made-up mid-sized electronics maker.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Gender = Literal["m", "f", "n"]
Family = Literal["phone", "laptop", "smarthome", "tv", "audio", "acc"]
FAMILIES: tuple[Family, ...] = ("phone", "laptop", "smarthome", "tv", "audio", "acc")

BRAND = "Lumetra"
COMPANY = "Lumetra Elektronik GmbH"


@dataclass(frozen=True)
class Product:
    name: str
    noun: str
    """What a customer calls it when not using the name: Handy, Fernseher, Soundbar."""
    gender: Gender
    """Grammatical gender of ``noun``; the name takes the same articles."""
    family: Family
    price: float
    spec: str
    """A concrete technical detail customers ask about."""


PRODUCTS: tuple[Product, ...] = (
    # phones
    Product("Lumetra Nova 8", "Handy", "n", "phone", 649.0, "einen 6,4-Zoll-AMOLED-Bildschirm"),
    Product("Nova 8 Pro", "Smartphone", "n", "phone", 899.0, "eine 200-MP-Hauptkamera"),
    Product("Nova 7 Lite", "Smartphone", "n", "phone", 279.0, "einen 5000-mAh-Akku"),
    Product(
        "Lumetra Nova Fold", "Klapphandy", "n", "phone", 1499.0, "ein faltbares 7,6-Zoll-Display"
    ),
    Product("Nova 8 mini", "Handy", "n", "phone", 549.0, "eSIM und Dual-SIM"),
    Product("Lumetra Nova 6", "Telefon", "n", "phone", 399.0, "IP68-Schutz"),
    # laptops
    Product("Lumetra Aero 14", "Notebook", "n", "laptop", 1199.0, "16 GB RAM und 512 GB SSD"),
    Product("Aero 16 Pro", "Laptop", "m", "laptop", 1899.0, "eine RTX-Grafikkarte"),
    Product("Aero 13 Air", "Ultrabook", "n", "laptop", 999.0, "zwei Thunderbolt-4-Anschlüsse"),
    Product("Lumetra Forge 17", "Laptop", "m", "laptop", 2399.0, "einen 240-Hz-Bildschirm"),
    Product("Lumetra Tab 11", "Tablet", "n", "laptop", 449.0, "Stifteingabe mit 4096 Druckstufen"),
    # smart home
    Product("Lumetra Home Hub", "Hub", "m", "smarthome", 129.0, "Zigbee, Thread und Matter"),
    Product("Thermostat T3", "Thermostat", "n", "smarthome", 79.0, "Fenster-offen-Erkennung"),
    Product(
        "Smart Plug P2", "Zwischenstecker", "m", "smarthome", 24.99, "eine Strommessung bis 3680 W"
    ),
    Product(
        "Video-Türklingel D5", "Türklingel", "f", "smarthome", 189.0, "2K-Video mit Nachtsicht"
    ),
    Product("Rauchmelder S1", "Rauchmelder", "m", "smarthome", 59.0, "eine Vernetzung per Funk"),
    Product("Innenkamera C2", "Kamera", "f", "smarthome", 69.0, "Bewegungserkennung mit Zonen"),
    Product("Saugroboter Rover 2", "Saugroboter", "m", "smarthome", 449.0, "eine Lidar-Navigation"),
    Product("LED-Lampe Glow E27", "Lampe", "f", "smarthome", 19.99, "16 Millionen Farben"),
    # TVs
    Product("Vista 55 OLED", "Fernseher", "m", "tv", 1299.0, "HDMI 2.1 mit 120 Hz"),
    Product("Vista 43 LED", "Fernseher", "m", "tv", 399.0, "einen Triple-Tuner"),
    Product("Vista 65 QLED", "Fernseher", "m", "tv", 1099.0, "Dolby Vision und HDR10+"),
    Product("Vista 75 Mini-LED", "TV", "m", "tv", 1999.0, "eine Spitzenhelligkeit von 1500 Nits"),
    Product("Vista 32 HD", "Fernseher", "m", "tv", 229.0, "einen eingebauten DVB-T2-Empfänger"),
    # audio
    Product("SoundPods 3", "Ohrhörer", "m", "audio", 129.0, "aktive Geräuschunterdrückung"),
    Product("SoundPods Pro", "Kopfhörer", "m", "audio", 219.0, "Multipoint-Bluetooth"),
    Product("Echo 900", "Kopfhörer", "m", "audio", 299.0, "eine Akkulaufzeit von 40 Stunden"),
    Product("Soundbar Arena 500", "Soundbar", "f", "audio", 499.0, "Dolby Atmos mit 5.1.2 Kanälen"),
    Product("Boom Go", "Lautsprecher", "m", "audio", 89.0, "Wasserschutz nach IP67"),
    Product("Subwoofer Arena Sub", "Subwoofer", "m", "audio", 349.0, "eine kabellose Kopplung"),
    # accessories
    Product("USB-C-Ladegerät 65 W", "Ladegerät", "n", "acc", 39.99, "USB Power Delivery 3.0"),
    Product("Powerbank Volt 20", "Powerbank", "f", "acc", 49.99, "20.000 mAh und 45 W"),
    Product("Dockingstation Dock 7", "Dockingstation", "f", "acc", 179.0, "zwei 4K-Ausgänge"),
    Product("Funkmaus Glide", "Maus", "f", "acc", 34.99, "einen Empfänger mit 2,4 GHz"),
    Product("Tastatur Keys K2", "Tastatur", "f", "acc", 69.0, "ein deutsches QWERTZ-Layout"),
    Product("Schutzhülle Nova 8", "Hülle", "f", "acc", 19.99, "eine MagSafe-kompatible Rückseite"),
    Product("Wandhalterung W55", "Wandhalterung", "f", "acc", 59.0, "VESA 400x400"),
    Product("Ladepad Qi Duo", "Ladepad", "n", "acc", 44.99, "kabelloses Laden mit 15 W"),
)

APPS: dict[Family, tuple[str, ...]] = {
    "phone": ("Lumetra Connect", "Lumetra Kamera-App", "Lumetra Cloud"),
    "laptop": ("Lumetra Control Center", "Lumetra Update Assistant", "Lumetra Cloud"),
    "smarthome": ("Lumetra Home App", "Home-App", "Lumetra Home"),
    "tv": ("Vista Remote", "Vista Smart Hub", "Mediathek-App"),
    "audio": ("Lumetra Sound App", "SoundPods-App", "Sound-App"),
    "acc": ("Lumetra Connect", "Lumetra Control Center", "Lumetra Home App"),
}

# Customer-facing parts of a device, by family (used by problem templates).
PARTS: dict[Family, tuple[str, ...]] = {
    "phone": ("Display", "Akku", "Kamera", "Lautsprecher", "Ladeanschluss", "Fingerabdrucksensor"),
    "laptop": ("Display", "Akku", "Touchpad", "Tastatur", "Lüfter", "USB-C-Anschluss"),
    "smarthome": ("Gehäuse", "Netzteil", "Sensor", "Status-LED", "Halterung", "Funkmodul"),
    "tv": ("Panel", "Netzteil", "Fernbedienung", "HDMI-Anschluss", "Standfuß", "Lautsprecher"),
    "audio": ("Akku", "Ladecase", "Mikrofon", "Lautsprecher", "Kopfbügel", "Touch-Bedienung"),
    "acc": ("Kabel", "Stecker", "Gehäuse", "Anschluss", "Netzteil", "Oberfläche"),
}

FIRST_NAMES: tuple[tuple[str, Gender], ...] = (
    ("Anna", "f"),
    ("Lena", "f"),
    ("Sophie", "f"),
    ("Marie", "f"),
    ("Laura", "f"),
    ("Julia", "f"),
    ("Katharina", "f"),
    ("Sabine", "f"),
    ("Petra", "f"),
    ("Monika", "f"),
    ("Ursula", "f"),
    ("Claudia", "f"),
    ("Aylin", "f"),
    ("Elif", "f"),
    ("Natalia", "f"),
    ("Fatma", "f"),
    ("Johanna", "f"),
    ("Birgit", "f"),
    ("Heike", "f"),
    ("Svenja", "f"),
    ("Greta", "f"),
    ("Lina", "f"),
    ("Mila", "f"),
    ("Ingrid", "f"),
    ("Renate", "f"),
    ("Chiara", "f"),
    ("Jonas", "m"),
    ("Lukas", "m"),
    ("Maximilian", "m"),
    ("Felix", "m"),
    ("Paul", "m"),
    ("Thomas", "m"),
    ("Michael", "m"),
    ("Andreas", "m"),
    ("Stefan", "m"),
    ("Klaus", "m"),
    ("Jürgen", "m"),
    ("Mehmet", "m"),
    ("Luca", "m"),
    ("Dariusz", "m"),
    ("Björn", "m"),
    ("Tobias", "m"),
    ("Florian", "m"),
    ("Sebastian", "m"),
    ("Wolfgang", "m"),
    ("Hans", "m"),
    ("Kevin", "m"),
    ("Nico", "m"),
    ("Emre", "m"),
    ("Matthias", "m"),
    ("Uwe", "m"),
    ("Ole", "m"),
)

LAST_NAMES: tuple[str, ...] = (
    "Müller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Meyer",
    "Wagner",
    "Becker",
    "Schulz",
    "Hoffmann",
    "Schäfer",
    "Koch",
    "Bauer",
    "Richter",
    "Klein",
    "Wolf",
    "Schröder",
    "Neumann",
    "Schwarz",
    "Zimmermann",
    "Braun",
    "Krüger",
    "Hofmann",
    "Hartmann",
    "Lange",
    "Schmitt",
    "Werner",
    "Krause",
    "Meier",
    "Lehmann",
    "Köhler",
    "Huber",
    "Kaiser",
    "Fuchs",
    "Peters",
    "Lang",
    "Scholz",
    "Möller",
    "Weiß",
    "Jung",
    "Hahn",
    "Vogel",
    "Friedrich",
    "Yılmaz",
    "Kaya",
    "Nowak",
    "Kowalski",
    "Rossi",
    "Demir",
    "Ivanova",
    "Petrović",
    "Öztürk",
    "Brandt",
    "Haas",
    "Schreiber",
    "Graf",
    "Dietrich",
    "Ziegler",
    "Kuhn",
    "Pohl",
    "Engel",
)

COMPANIES: tuple[str, ...] = (
    "Haustechnik Berger GmbH",
    "Kanzlei Roth & Partner",
    "Praxis Dr. Lenz",
    "Bäckerei Sommer",
    "Schulz IT-Service",
    "Architekturbüro Nord",
    "Autohaus Kessler",
    "Gemeinde Altdorf",
    "Steuerbüro Albrecht",
    "Hotel am See",
    "Kita Sonnenschein",
    "Ingenieurbüro Weidner",
)

CITIES: tuple[str, ...] = (
    "Berlin",
    "Hamburg",
    "München",
    "Köln",
    "Frankfurt",
    "Stuttgart",
    "Düsseldorf",
    "Leipzig",
    "Dortmund",
    "Essen",
    "Bremen",
    "Dresden",
    "Hannover",
    "Nürnberg",
    "Bochum",
    "Wuppertal",
    "Bielefeld",
    "Bonn",
    "Münster",
    "Mannheim",
    "Augsburg",
    "Wiesbaden",
    "Kiel",
    "Freiburg",
    "Rostock",
    "Kassel",
    "Erfurt",
    "Mainz",
    "Saarbrücken",
    "Potsdam",
    "Regensburg",
    "Ulm",
)

MAIL_DOMAINS: tuple[str, ...] = (
    "gmx.de",
    "web.de",
    "t-online.de",
    "gmail.com",
    "outlook.de",
    "posteo.de",
    "freenet.de",
    "yahoo.de",
    "icloud.com",
    "mailbox.org",
)

CARRIERS: tuple[str, ...] = ("DHL", "Hermes", "DPD", "GLS", "UPS", "die Spedition")
PAYMENTS: tuple[str, ...] = (
    "PayPal",
    "Kreditkarte",
    "Klarna",
    "Rechnung",
    "SEPA-Lastschrift",
    "Apple Pay",
    "Vorkasse",
    "Google Pay",
    "Sofortüberweisung",
    "Ratenkauf",
)
SHOPS: tuple[str, ...] = (
    "Ihrem Online-Shop",
    "Ihrem Webshop",
    "der Lumetra-App",
    "Ihrem Shop",
    "dem Lumetra Store in {city}",
    "Ihrer Website",
)
ERROR_CODES: tuple[str, ...] = (
    "E-104",
    "E-2207",
    "0x80070005",
    "ERR_SYNC_17",
    "F03",
    "Code 43",
    "E-51",
    "LX-900",
    "NET-408",
    "Fehler 1002",
    "E17",
    "SYS-3",
    "0xC000021A",
    "W-12",
    "HB-0042",
)
MONTHS: tuple[str, ...] = (
    "Januar",
    "Februar",
    "März",
    "April",
    "Mai",
    "Juni",
    "Juli",
    "August",
    "September",
    "Oktober",
    "November",
    "Dezember",
)
WEEKDAYS: tuple[str, ...] = ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag")
WEEKDAYS_ALL: tuple[str, ...] = (*WEEKDAYS, "Sonntag")
"""Indexed by ``date.weekday()``."""
