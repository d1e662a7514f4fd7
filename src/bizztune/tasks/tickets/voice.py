"""How customers write: styles, greetings, asks, explicit urgency words, asides and mail quoting.

Used by ``bizztune.tasks.tickets.generator`` (``bizztune generate --task tickets``). Every pool
here is shared by all subcategories. What makes a ticket urgent is its content: the problem and
the customer's situation (``problems.txt``, ``situations.txt``). The explicit words here
(``Dringend!``, ``Keine Eile``) are one cue among several, drawn only more often at the level
they name: some urgent tickets say nothing of the kind, some trivial ones shout ``DRINGEND``.
"""

from __future__ import annotations

from typing import Literal

Style = Literal["formal", "informal", "terse", "long", "angry", "polite"]
STYLES: tuple[Style, ...] = ("formal", "informal", "terse", "long", "angry", "polite")
Kind = Literal["device", "money", "order", "info", "warranty", "feedback", "unrelated"]

KIND_OF: dict[str, Kind] = {
    "Geräte-Setup-Probleme": "device",
    "Softwarefehler": "device",
    "Zahlungsprobleme": "money",
    "Rückerstattungsanfragen": "money",
    "Produktspezifikationen": "info",
    "Garantieinformationen": "warranty",
    "Bestellverfolgung": "order",
    "Lieferverzögerungen": "order",
    "Unternehmensrichtlinien": "info",
    "Feedback und Vorschläge": "feedback",
    "Kein Zusammenhang": "unrelated",
}


def _lines(block: str) -> tuple[str, ...]:
    return tuple(s.strip() for s in block.strip().splitlines() if s.strip())


GREETINGS: dict[Style, tuple[str, ...]] = {
    "formal": ("Sehr geehrte Damen und Herren,", "Guten Tag,", "Sehr geehrtes Lumetra-Team,"),
    "informal": ("Hallo,", "Hi,", "Moin,", "Hallo zusammen,", "Servus,", "Hey Lumetra-Team,", ""),
    "terse": ("",),
    "long": ("Sehr geehrte Damen und Herren,", "Liebes Lumetra-Team,", "Guten Tag,", "Hallo,"),
    "angry": ("Hallo,", "", "Guten Tag,", "Hallo Lumetra,"),
    "polite": ("Liebes Support-Team,", "Guten Tag,", "Hallo liebes Lumetra-Team,", "Hallo,"),
}

OPENERS: dict[Style, tuple[str, ...]] = {
    "formal": _lines("""
ich wende mich mit folgendem Anliegen an Sie.
hiermit möchte ich Ihnen einen Sachverhalt schildern.
ich schreibe Ihnen wegen einer Angelegenheit, die {den} {p} betrifft.
bezugnehmend auf meinen Einkauf bei Ihnen habe ich folgendes Anliegen.
"""),
    "informal": _lines("""
ich hab da mal ein Anliegen.
kurze Sache:
folgendes:
ich hoffe, ihr könnt mir weiterhelfen.
mal eine Frage an euch.
"""),
    "terse": ("",),
    "long": _lines("""
zunächst einmal vielen Dank, dass Sie sich die Zeit nehmen, meine Nachricht zu lesen. Ich muss etwas ausholen.
ich bin seit {years} Jahren {kunde} bei Ihnen und schildere mein Anliegen lieber ausführlich.
ich habe lange überlegt, ob ich schreibe, und versuche, alles der Reihe nach zu erklären.
vorab: Ich habe schon einiges selbst versucht, bevor ich mich an Sie wende.
"""),
    "angry": _lines("""
ich bin wirklich verärgert.
langsam reicht es mir.
ich bin maßlos enttäuscht von Ihnen.
so etwas habe ich noch nicht erlebt.
ehrlich gesagt bin ich ziemlich sauer.
jetzt schreibe ich schon zum zweiten Mal.
"""),
    "polite": _lines("""
ich hoffe, es geht Ihnen gut.
entschuldigen Sie bitte die Störung.
vielleicht können Sie mir freundlicherweise helfen.
ich hätte eine Bitte an Sie.
"""),
}

CLOSERS: dict[Style, tuple[str, ...]] = {
    "formal": ("Mit freundlichen Grüßen", "Freundliche Grüße", "Hochachtungsvoll", "Beste Grüße"),
    "informal": ("Danke & Gruß", "LG", "Viele Grüße", "Gruß", "Danke euch!", "Bis dann", "VG"),
    "terse": ("", "Danke", "Gruß", "", "Thx"),
    "long": ("Ich danke Ihnen für Ihre Mühe.\nMit freundlichen Grüßen", "Herzliche Grüße"),
    "angry": ("Gruß", "Enttäuschte Grüße", "MfG", "", "Ich erwarte eine Antwort."),
    "polite": ("Vielen Dank im Voraus für Ihre Hilfe!", "Herzlichen Dank und beste Grüße"),
}

MOBILE_FOOTERS = (
    "Von meinem iPhone gesendet",
    "Gesendet von meinem Smartphone",
    "Sent from my phone",
)

ASKS: dict[Kind, tuple[str, ...]] = {
    "device": _lines("""
Was kann ich da noch tun?
Wie bekomme ich das wieder hin?
Haben Sie eine Idee, woran das liegt?
Können Sie mir sagen, was ich falsch mache?
Gibt es dafür eine Lösung?
"""),
    "money": _lines("""
Bitte prüfen Sie das und geben Sie mir Bescheid.
Können Sie das bitte korrigieren?
Wie geht es jetzt weiter?
Ich bitte um Klärung.
"""),
    "order": _lines("""
Können Sie mir sagen, wie es weitergeht?
Was ist da los?
Bitte geben Sie mir einen Stand.
Wann kann ich damit rechnen?
"""),
    "info": _lines("""
Können Sie mir das beantworten?
Danke für eine kurze Info.
Wissen Sie dazu Genaueres?
Ich freue mich über eine Antwort.
"""),
    "warranty": _lines("""
Wie gehe ich da am besten vor?
Was brauchen Sie von mir?
Können Sie mir das erklären?
Wie läuft das bei Ihnen ab?
"""),
    "feedback": _lines("""
Vielleicht können Sie das weitergeben.
Das wollte ich einfach mal loswerden.
Vielleicht ist das ja hilfreich.
"""),
    "unrelated": ("",),
}

PROBLEM_LEADS: tuple[str, ...] = _lines("""
Folgendes Problem:
Es geht um Folgendes:
Kurz zum Hintergrund:
Seit dem {date} ist es so:
Mein Anliegen:
Zur Sache:
Also:
Worum es geht:
Problem:
Betreff {p}:
""")

# ---- explicit urgency words: a cue, not the label ------------------------------------------------
URGENT_CUES: tuple[str, ...] = _lines("""
Dringend!
Es ist dringend.
Eilt!
Bitte dringend melden.
Bitte schnellstmöglich antworten.
Ich bitte um umgehende Bearbeitung.
Bitte sofort kümmern!!
Brauche schnell eine Antwort.
Bitte asap melden.
Ich erwarte eine schnelle Rückmeldung.
Bitte beeilen Sie sich.
Das hat höchste Priorität für mich.
""")
"""Said by people at every level: drawn for 35% of Hoch, 15% of Mittel, 8% of Niedrig tickets."""
CALM_CUES: tuple[str, ...] = _lines("""
Keine Eile.
Hat Zeit.
Kein Stress.
Melden Sie sich, wann es passt.
Es ist nicht eilig.
Dringend ist es nicht.
Antworten Sie gern, wenn Sie Zeit haben.
Ganz in Ruhe.
""")
"""Drawn for 25% of Niedrig, 10% of Mittel and 4% of Hoch tickets (a calm customer in trouble)."""
URGENT_TITLE_MARKS = ("DRINGEND: ", "Dringend: ", "EILT: ", "Eilt - ", "Wichtig: ", "WICHTIG!!! ")

# ---- things said in passing ---------------------------------------------------------------------
DISTRACTORS: tuple[str, ...] = _lines("""
Das Gerät habe ich übrigens als Geschenk von meiner Tochter bekommen.
Nebenbei: Ich bin seit {years} Jahren {kunde} bei Ihnen.
Meine Frau hat ein ähnliches Gerät von Ihnen, bei ihr gab es nie Ärger.
Ich schreibe vom Laptop meines Sohnes, daher die andere Absenderadresse.
Sorry für die späte Uhrzeit, ich komme erst jetzt dazu.
Falls Sie Rückfragen haben, erreichen Sie mich am besten abends unter {phone}.
Im Forum habe ich zu dem Thema nichts gefunden.
Ich habe auch noch {einen_p2} {p2} von Ihnen, damit gibt es keine Probleme.
Das Wetter hier in {city} ist übrigens furchtbar, aber das nur am Rande.
Ich bin technisch nicht besonders bewandert, bitte erklären Sie es einfach.
Ihre Hotline hatte ich zuerst versucht, aber dort lief nur eine Ansage.
Die Nachricht schreibe ich im Namen meiner Mutter, die kein E-Mail-Konto hat.
Ich bin Rentner und habe Zeit, mich mit so etwas zu beschäftigen.
Wir nutzen die Geräte auch im Büro, dort sind wir sehr zufrieden.
Ihr Chat war leider gerade offline.
Entschuldigen Sie, falls ich hier nicht die richtige Stelle erwischt habe.
Meine Kundennummer habe ich gerade nicht zur Hand.
Ein Freund hat mir Ihre Marke empfohlen.
""")
"""Sentences with no bearing on any label."""

RED_HERRINGS: dict[str, tuple[str, ...]] = {
    "Geräte-Setup-Probleme": _lines("""
Die Einrichtung damals lief übrigens problemlos.
Gekoppelt und eingerichtet war alles in fünf Minuten, daran liegt es also nicht.
Die Ersteinrichtung hat ein Bekannter für mich gemacht, das lief reibungslos.
Mit dem WLAN ist {der} {p} verbunden, das habe ich geprüft.
"""),
    "Softwarefehler": _lines("""
Die neueste Firmware ist installiert, das Update lief ohne Fehlermeldung.
Abstürze oder Fehlercodes hatte ich bisher keine.
Die App läuft stabil, daran liegt es nicht.
Das letzte Update habe ich gestern eingespielt.
"""),
    "Zahlungsprobleme": _lines("""
Bezahlt habe ich per {payment}, das hat reibungslos geklappt.
Die Rechnung ist längst beglichen.
Abgebucht wurde korrekt {price}, da ist alles in Ordnung.
Die Rechnung liegt mir vor.
"""),
    "Rückerstattungsanfragen": _lines("""
Eine Rücksendung oder Erstattung möchte ich ausdrücklich nicht.
Umtauschen oder Geld zurück kommt für mich nicht infrage, ich mag das Gerät.
Letztes Jahr hatte ich schon mal eine Erstattung bei Ihnen, das ging schnell.
Ich überlege schon, {ihn} zurückzuschicken, aber eigentlich will ich keine Rückerstattung, sondern ein funktionierendes Gerät.
Über eine Rückerstattung denke ich noch nicht nach.
"""),
    "Produktspezifikationen": _lines("""
Die technischen Daten kenne ich, darum geht es nicht.
Ich hatte mich vor dem Kauf genau über die Ausstattung informiert.
Laut Datenblatt hat {der} {p} {spec}, das passt also.
"""),
    "Garantieinformationen": _lines("""
Garantie habe ich noch bis nächstes Jahr, das ist also nicht das Thema.
Einen Garantiefall will ich daraus nicht machen.
Die Garantie habe ich beim Kauf gleich registriert.
Das Gerät ist noch in der Garantie, falls das eine Rolle spielt.
"""),
    "Bestellverfolgung": _lines("""
Die Sendungsverfolgung hatte damals bestens funktioniert.
Das Paket kam an, die Bestellung selbst ist also nicht das Problem.
Die Bestellnummer war {order}, falls Sie die brauchen.
"""),
    "Lieferverzögerungen": _lines("""
Geliefert wurde übrigens pünktlich, sogar einen Tag früher.
Mit der Lieferung gab es keinerlei Verzögerung.
Die Lieferung kam am {date}, alles vollständig.
Die Lieferung hatte zwar ein paar Tage Verspätung, aber das ist längst vergessen.
"""),
    "Unternehmensrichtlinien": _lines("""
Ihre AGB und die Datenschutzerklärung habe ich gelesen.
Die Rückgabefrist ist mir bekannt, darum geht es nicht.
Zurückgeben möchte ich {ihn} nicht, das Rückgaberecht interessiert mich also nicht.
"""),
    "Feedback und Vorschläge": _lines("""
Ansonsten bin ich mit Ihren Produkten sehr zufrieden, großes Lob.
Ich empfehle Lumetra eigentlich gern weiter.
Letztes Jahr hatte ich einen dringenden Fall bei Ihnen, der wurde super gelöst.
Eine Anregung hätte ich auch noch, aber die schicke ich ein andermal.
"""),
}
"""Background sentences in one subcategory's words that ask for nothing: a ticket of another
subcategory may carry one, so that keywords alone do not give its label away."""

# ---- two concerns in one ticket -----------------------------------------------------------------
ASIDE_FRAMES: tuple[str, ...] = _lines("""
Nur am Rande: {x} Aber das ist nicht der Grund meiner Mail.
Nebenbei bemerkt: {x} Das klären wir ein andermal.
Außerdem noch eine Kleinigkeit: {x} Das kann aber warten.
{x} Das nur nebenbei, das ist nicht so wichtig.
Eine Sache noch, die aber Zeit hat: {x}
Ach ja, und: {x} Aber darum kümmere ich mich später selbst.
Das andere Thema hat sich inzwischen fast erledigt: {x}
(Ganz anderes Thema: {x} Dazu schreibe ich Ihnen separat.)
""")
"""A second, minor concern of another subcategory: it does not decide the label."""
MAIN_MARKERS: tuple[str, ...] = _lines("""
Mein eigentliches Anliegen ist aber:
Worum es mir aber eigentlich geht:
Wichtiger ist mir aber Folgendes:
Der eigentliche Grund meiner Nachricht:
Jetzt aber zur Hauptsache:
""")

# ---- mail around the ticket ---------------------------------------------------------------------
FOLLOWUPS: tuple[str, ...] = _lines("""
Ich hatte Ihnen am {date} schon geschrieben, bisher kam keine Antwort.
Das ist jetzt meine zweite Nachricht zu dem Thema.
Ich schicke meine Mail von letzter Woche noch einmal, weil sich niemand gemeldet hat.
Leider habe ich auf meine erste Anfrage nichts von Ihnen gehört.
""")
FORWARD_NOTES: tuple[str, ...] = _lines("""
Anbei nochmal meine Mail von neulich.
Siehe unten.
Ich leite Ihnen meine Nachricht an den Händler weiter, der hat mich an Sie verwiesen.
Weitergeleitet, weil ich keine Antwort bekommen habe.
Bitte die Nachricht unten beachten.
Meine Frau hat Ihnen das schon geschrieben, ich leite es Ihnen nochmal weiter.
""")
QUOTE_TOPS: tuple[str, ...] = _lines("""
Hallo, ich warte immer noch auf eine Antwort.
Gibt es schon etwas Neues?
Nachtrag: Das Problem besteht weiterhin.
Hallo nochmal, leider hat sich nichts getan.
Seit Ihrer Bestätigung ist nichts passiert.
Kurze Erinnerung an meine Anfrage unten.
""")
ACK_QUOTES: tuple[str, ...] = _lines("""
vielen Dank für Ihre Nachricht. Wir haben Ihre Anfrage erhalten und melden uns so schnell wie möglich bei Ihnen.
vielen Dank für Ihre Anfrage. Aufgrund des hohen Aufkommens kann die Bearbeitung derzeit einige Tage dauern.
Ihre Anfrage ist bei uns eingegangen. Bitte antworten Sie nicht auf diese automatisch erzeugte E-Mail.
danke, dass Sie sich an den Lumetra Kundenservice gewandt haben. Ihre Anfrage hat die Nummer {case}.
""")
"""Our own acknowledgement, quoted under a customer's reply: the same words for every label."""

# ---- stray mail from machines and marketing: (titles, senders, footers) by kind ----------------
STRAY_SENDERS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "spam": (
        ("Gewinnbenachrichtigung", "Ihr Gewinn wartet!", "Nur heute: 70 % Rabatt",
         "Letzte Chance!!!", "Sie wurden ausgewählt", "DRINGEND: Ihre Auszahlung", "Hallo"),
        ("Gewinnspiel-Team", "Kundenservice", "Promo Team", "Info"),
        ("", "Wenn Sie keine weiteren Nachrichten erhalten möchten, klicken Sie hier.",
         "Abmelden | Impressum | Datenschutz"),
    ),
    "phishing": (
        ("Sicherheitshinweis", "Ihr Konto wurde eingeschränkt", "Zustellung fehlgeschlagen",
         "Letzte Mahnung", "Wichtige Mitteilung", "Aktion erforderlich"),
        ("Sicherheitsteam", "Support", "Paketdienst", "Kundenservice", "Webmail Admin"),
        ("", "Dies ist eine automatisch generierte Nachricht.", "© Alle Rechte vorbehalten."),
    ),
    "auto": (
        ("Automatische Antwort: {subject}", "Abwesenheitsnotiz: {subject}",
         "Out of Office: AW: Ihre Anfrage {case}", "Eingangsbestätigung", "Abwesend"),
        ("{company}", "noreply", "{sender}"),
        ("",),
    ),
    "bounce": (
        ("Unzustellbar: {subject}", "Mail delivery failed: returning message to sender",
         "Undelivered Mail Returned to Sender", "Unzustellbar: AW: Ihre Anfrage {case}"),
        ("Mail Delivery System", "MAILER-DAEMON", "Postmaster"),
        ("", "Reporting-MTA: dns; mail.{company_domain}"),
    ),
    "pitch": (
        ("Zusammenarbeit?", "Angebot für Sie", "Kurze Frage zu Ihrer Website",
         "Kooperationsanfrage", "Muster kostenlos", "Ihr Unternehmen"),
        ("{sender}",),
        ("Mit freundlichen Grüßen\n{sender}", "Beste Grüße\n{sender}",
         "Viele Grüße\n{sender}\nTel. {phone}", "{sender}"),
    ),
}  # fmt: skip

STRAY_EXTRAS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "spam": (
        ("Sehr geehrter Kunde,", "Hallo!", "Lieber Gewinner,", "Guten Tag,", "Hallo Freund,"),
        ("Das Angebot gilt nur [[heute|bis Mitternacht|für kurze Zeit]].",
         "Sie erhalten diese Nachricht, weil Sie sich [[angemeldet haben|auf unserer Liste stehen]].",
         "Antworten Sie jetzt, bevor es zu spät ist!", "Über 10.000 zufriedene Kunden!"),
    ),
    "phishing": (
        ("Sehr geehrter Kunde,", "Lieber Nutzer,", "Hallo,", "Sehr geehrte Kundin, sehr geehrter Kunde,"),
        ("Wir danken für Ihr Verständnis.", "Ihr Sicherheitsteam",
         "Wenn Sie nicht reagieren, wird [[Ihr Zugang|Ihr Konto]] nach [[24|48]] Stunden gesperrt.",
         "Referenz: {case}"),
    ),
    "pitch": (
        ("Guten Tag,", "Sehr geehrte Damen und Herren,", "Hallo zusammen,", "Liebes Team,"),
        ("Ich freue mich auf Ihre Rückmeldung.", "Gern stelle ich Ihnen unser Angebot in einem kurzen Telefonat vor.",
         "Mehr Informationen finden Sie auf unserer Website.", "Passt Ihnen ein Termin [[nächste Woche|diese Woche]]?"),
    ),
}  # fmt: skip
"""Salutations and extra lines that marketing and scams wrap around their message."""

STRAY_KINDS: tuple[str, ...] = (*STRAY_SENDERS, "wrong", "elsewhere", "random")
"""The kinds of stray mail: the tag of a ``Kein Zusammenhang`` entry in problems.txt. People's
mail (meant for someone else, for another company, or for nobody) gets greeting and signature."""

# ---- English --------------------------------------------------------------------------------------
EN_GREETINGS = ("Hello,", "Hi,", "Dear Lumetra team,", "Hi there,", "Dear Sir or Madam,", "")
EN_OPENERS = _lines("""
Sorry for writing in English, my German is not good enough yet.
I hope it is okay to write in English.
I just moved to Germany and I don't speak German well.
""")
EN_CLOSERS = ("Thanks,", "Best regards,", "Kind regards,", "Cheers,", "Thank you!", "Best,")
EN_ASKS = ("Can you help me?", "What should I do?", "Please let me know.", "Thanks in advance.")
EN_URGENT = ("URGENT!", "Please answer asap.", "This is urgent.")
EN_CALM = ("No rush.", "No hurry at all.", "Whenever you have time.")
