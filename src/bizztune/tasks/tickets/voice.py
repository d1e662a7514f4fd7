"""How customers write: styles, greetings, openers, urgency cues, distractions and sign-offs.

Used by ``bizztune.tasks.tickets.generator`` (``bizztune generate --task tickets``). Every pool
here is shared by all subcategories and says nothing about the subcategory. Urgency cues follow
the rubric in ``tickets.yaml``: Hoch = the device or service is unusable, money was
already wrongly charged, safety, or a deadline that runs out soon; Mittel = it hurts but there
is a workaround, or an answer within days is expected; Niedrig = information, feedback, no time
pressure. Cues are grouped by the kind of ticket (device, money, order, info, feedback,
unrelated), so that they read naturally, plus generic cues that fit any ticket.
"""

from __future__ import annotations

from typing import Literal

Style = Literal["formal", "informal", "terse", "long", "angry", "polite"]
STYLES: tuple[Style, ...] = ("formal", "informal", "terse", "long", "angry", "polite")
Kind = Literal["device", "money", "order", "info", "feedback", "unrelated"]

KIND_OF: dict[str, Kind] = {
    "Geräte-Setup-Probleme": "device",
    "Softwarefehler": "device",
    "Zahlungsprobleme": "money",
    "Rückerstattungsanfragen": "money",
    "Produktspezifikationen": "info",
    "Garantieinformationen": "info",
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
    "informal": ("Hallo,", "Hi,", "Moin,", "Hallo zusammen,", "Servus,", "Hey Lumetra-Team,"),
    "terse": ("",),
    "long": ("Sehr geehrte Damen und Herren,", "Liebes Lumetra-Team,", "Guten Tag,"),
    "angry": ("Hallo,", "", "Guten Tag,"),
    "polite": ("Liebes Support-Team,", "Guten Tag,", "Hallo liebes Lumetra-Team,"),
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
    "informal": ("Danke & Gruß", "LG", "Viele Grüße", "Gruß", "Danke euch!", "Bis dann"),
    "terse": ("", "Danke", "Gruß"),
    "long": ("Ich danke Ihnen für Ihre Mühe.\nMit freundlichen Grüßen", "Herzliche Grüße"),
    "angry": ("Gruß", "Enttäuschte Grüße", "MfG", ""),
    "polite": ("Vielen Dank im Voraus für Ihre Hilfe!", "Herzlichen Dank und beste Grüße"),
}

DISTRACTORS: tuple[str, ...] = _lines("""
Das Gerät habe ich übrigens als Geschenk von meiner Tochter bekommen.
Nebenbei: Ich bin seit {years} Jahren {kunde} bei Ihnen.
Meine Frau hat ein ähnliches Gerät von Ihnen, bei ihr gab es nie Ärger.
Ich schreibe vom Laptop meines Sohnes, daher die andere Absenderadresse.
Sorry für die späte Uhrzeit, ich komme erst jetzt dazu.
Falls Sie Rückfragen haben, erreichen Sie mich am besten abends unter {phone}.
Im Forum habe ich zu dem Thema nichts gefunden.
Ich habe auch noch {einen} {p2} von Ihnen, der läuft einwandfrei.
Das Wetter hier in {city} ist übrigens furchtbar, aber das nur am Rande.
Ich bin technisch nicht besonders bewandert, bitte erklären Sie es einfach.
Ihre Hotline hatte ich zuerst versucht, aber dort lief nur eine Ansage.
Die Nachricht schreibe ich im Namen meiner Mutter, die kein E-Mail-Konto hat.
Ich bin Rentner und habe Zeit, mich mit so etwas zu beschäftigen.
Wir nutzen die Geräte auch im Büro, dort sind wir sehr zufrieden.
""")

# ---- urgency ----------------------------------------------------------------------------------
HIGH_LEADS = _lines("""
Ich brauche bis {deadline} eine Lösung
Das muss bis {deadline} geklärt sein
Bitte melden Sie sich umgehend
Es ist wirklich dringend
Bitte kümmern Sie sich sofort darum
Ich bitte um eine Antwort noch heute
Ich bin auf eine schnelle Lösung angewiesen
""")
HIGH_REASONS = _lines("""
weil ich ab {deadline} beruflich unterwegs bin und das Gerät dabeihaben muss
da meine Frist dafür {deadline} abläuft
weil ich das für eine Präsentation am {wd} brauche
da ich sonst ab {deadline} ohne funktionierendes Gerät dastehe
weil mein Rückgaberecht {deadline} endet
da ich sonst einen wichtigen Termin verpasse
weil meine Prüfung schon {deadline} ist
""")
GENERIC_CUES: dict[str, tuple[str, ...]] = {
    "Hoch": _lines("""
Es eilt sehr: Die Sache muss bis {deadline} erledigt sein.
Ich habe eine Frist bis {deadline} und brauche deshalb sofort eine Antwort.
Bitte behandeln Sie das vorrangig, mir läuft die Zeit davon.
Morgen früh fliege ich für drei Wochen weg, bis dahin muss das erledigt sein.
Ich bin beruflich darauf angewiesen und kann seit gestern nicht mehr arbeiten.
Heute Abend läuft meine Frist ab, danach ist es zu spät.
Warten kann ich damit leider nicht, {deadline} ist der letzte Termin.
"""),
    "Mittel": _lines("""
Eine Antwort in den nächsten Tagen wäre gut.
Es ist kein Notfall, aber ich würde das gern diese Woche klären.
Bitte melden Sie sich, sobald Sie dazu kommen, spätestens Anfang nächster Woche.
Ich komme vorerst irgendwie zurecht, hätte aber gern bald Klarheit.
Es ist nicht dramatisch, beschäftigt mich aber schon seit ein paar Tagen.
Über eine Rückmeldung bis Ende der Woche würde ich mich freuen.
Dringend ist es nicht, auf die lange Bank schieben möchte ich es aber auch nicht.
Sofort muss es nicht sein, aber bis Ende nächster Woche hätte ich gern eine Lösung.
Kein Notfall, ich behelfe mich mit einem Trick, aber auf Dauer geht das so nicht.
Heute muss das nicht mehr passieren, in den nächsten Tagen aber schon.
"""),
    "Niedrig": _lines("""
Es eilt überhaupt nicht.
Melden Sie sich einfach, wann es Ihnen passt.
Das ist keine dringende Sache, nur eine Frage am Rande.
Ganz ohne Zeitdruck, ich wollte es nur loswerden.
Antworten Sie gern, wenn gerade weniger los ist.
Es hat wirklich Zeit, da brauchen Sie sich nicht zu beeilen.
Kein Stress, ich frage nur aus Interesse.
Dringend ist das nicht, Sie müssen nicht sofort reagieren.
Eine Frist gibt es dabei nicht.
Das ist kein Notfall, alles andere läuft ganz normal weiter.
Ich bin ab morgen im Urlaub, melden Sie sich gern danach, es eilt nicht.
"""),
}
KIND_CUES: dict[Kind, dict[str, tuple[str, ...]]] = {
    "device": {
        "Hoch": _lines("""
Dadurch kann ich {den} {p} überhaupt nicht benutzen.
Das Gerät ist so komplett unbrauchbar, und ich brauche es jeden Tag für die Arbeit.
Seitdem geht gar nichts mehr, ich stehe ohne funktionierendes Gerät da.
Dabei kam aus dem Gerät ein Brandgeruch, ich habe es sofort vom Strom getrennt.
Das Gehäuse wird dabei so heiß, dass ich mich fast verbrannt hätte – ich traue mich nicht mehr, es anzuschließen.
Ich habe im Moment keinerlei Zugriff auf das Gerät, es ist völlig nutzlos.
"""),
        "Mittel": _lines("""
Mit einem Neustart geht es meist wieder eine Weile, aber auf Dauer nervt das.
Über einen Umweg funktioniert es vorerst, eine richtige Lösung wäre aber gut.
Ich kann das Gerät eingeschränkt nutzen, es stört aber jeden Tag.
Vorübergehend behelfe ich mich mit meinem alten Gerät.
Mit dem Kabel klappt es notdürftig, schön ist das aber nicht.
"""),
        "Niedrig": _lines("""
Ansonsten läuft alles, ich wollte es nur mal melden.
Ich brauche das Gerät ohnehin erst in ein paar Wochen, es hat also Zeit.
Es ist eher ein Schönheitsfehler, alles andere funktioniert.
Mich interessiert einfach, ob das bekannt ist.
Ich nutze die Funktion selten, von daher ist es kein Beinbruch.
"""),
    },
    "money": {
        "Hoch": _lines("""
Das Geld ist bereits von meinem Konto weg, bitte korrigieren Sie das sofort.
Mein Konto ist dadurch ins Minus gerutscht und es fallen Zinsen an.
Die Abbuchung ist schon erfolgt, ich erwarte eine umgehende Korrektur.
Am {wd} wird meine Miete abgebucht, bis dahin muss das Geld wieder da sein.
Mir fehlt dieser Betrag jetzt, ich brauche ihn dringend zurück.
"""),
        "Mittel": _lines("""
Es ist nicht existenzbedrohend, aber ich möchte das in den nächsten Tagen geklärt haben.
Bitte prüfen Sie das im Laufe der Woche.
Noch ist nichts abgebucht, aber ich möchte das vor der Fälligkeit geklärt wissen.
Ich warte noch ein paar Tage ab, dann würde ich gern eine Rückmeldung haben.
"""),
        "Niedrig": _lines("""
Es geht nur um ein paar Euro, also kein Stress.
Ich wollte das nur der Ordnung halber klären, es eilt nicht.
Das hat Zeit bis zur nächsten Abrechnung.
Ich brauche das Geld nicht sofort, möchte es aber irgendwann geklärt haben.
"""),
    },
    "order": {
        "Hoch": _lines("""
Ich brauche das Gerät unbedingt bis {deadline}, es ist ein Geschenk.
Ich fliege {deadline} in den Urlaub und brauche es vorher.
Ohne das Gerät kann ich ab {deadline} nicht arbeiten.
Das Paket muss bis {deadline} da sein, sonst ist der Anlass vorbei.
"""),
        "Mittel": _lines("""
Eine Rückmeldung in den nächsten Tagen würde mir reichen.
Ich komme solange mit meinem alten Gerät aus, möchte aber bald wissen, woran ich bin.
Es wäre schön, wenn sich das diese Woche noch klärt.
"""),
        "Niedrig": _lines("""
Ich brauche es nicht sofort, es ist nur eine Nachfrage.
Es ist ein Geschenk für nächsten Sommer, also kein Zeitdruck.
Ich frage nur, um planen zu können, es eilt nicht.
"""),
    },
    "info": {
        "Hoch": _lines("""
Ich muss mich bis {deadline} entscheiden, weil das Angebot dann ausläuft.
Meine Frist endet {deadline}, deshalb brauche ich die Antwort sofort.
Ich brauche die Information bis {deadline}, sonst verfällt mein Anspruch.
"""),
        "Mittel": _lines("""
Ich plane den Kauf in den nächsten Tagen und würde mich über eine baldige Antwort freuen.
Eine Antwort bis Ende der Woche wäre hilfreich.
Ich möchte das in den kommenden Tagen entscheiden.
"""),
        "Niedrig": _lines("""
Ich frage nur aus Neugier.
Es ist eine reine Informationsfrage, ohne Eile.
Ich plane das frühestens im nächsten Jahr.
Es ist mehr eine allgemeine Frage, da brauche ich nichts Konkretes.
"""),
    },
    "feedback": {
        "Hoch": _lines("""
Aus meiner Sicht ist das ein Sicherheitsrisiko, bitte prüfen Sie das umgehend.
Ich brauche bis {deadline} eine Stellungnahme, weil ich darüber in unserer Lokalzeitung berichte.
Bitte leiten Sie das noch heute weiter, der Termin für die Entscheidung ist {deadline}.
"""),
        "Mittel": _lines("""
Über eine Rückmeldung in den nächsten Tagen würde ich mich freuen.
Es wäre schön zu hören, ob Sie das aufgreifen, gern noch diese Woche.
"""),
        "Niedrig": _lines("""
Eine Antwort ist nicht nötig.
Das nur als Anregung, ganz ohne Eile.
Sie müssen darauf nicht antworten.
"""),
    },
    "unrelated": {
        "Hoch": _lines("""
Es ist wirklich dringend, bitte sofort!
Das muss bis heute Abend erledigt sein.
Bitte schnell antworten, es eilt sehr, die Frist ist {deadline}!
"""),
        "Mittel": _lines("""
Eine Antwort in den nächsten Tagen wäre nett.
Bis Ende der Woche bräuchte ich Bescheid.
"""),
        "Niedrig": _lines("""
Ist nicht eilig.
Nur so aus Interesse.
Irgendwann mal eine Antwort reicht völlig.
"""),
    },
}
TERSE_CUES: dict[str, tuple[str, ...]] = {
    "Hoch": _lines("""
Dringend, bis {deadline}!
Eilt!! Brauche es bis {deadline}.
Sofort bitte, geht gar nichts mehr.
Brauche bis {deadline} eine Lösung.
Bitte umgehend melden, Frist ist {deadline}.
Geht so überhaupt nicht, bitte sofort.
"""),
    "Mittel": _lines("""
Bitte diese Woche melden.
Nicht akut, stört aber.
Antwort in den nächsten Tagen reicht.
Geht notdürftig, bitte bald klären.
Bis Ende der Woche wäre gut.
Nervt, aber es gibt einen Umweg.
"""),
    "Niedrig": _lines("""
Keine Eile.
Nur zur Info.
Hat Zeit.
Nur aus Interesse.
Kein Zeitdruck.
Wann immer es passt.
"""),
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
""")
DATED_CUES: tuple[str, ...] = _lines("""
Ich brauche das bis zum {until} geklärt.
Bitte sorgen Sie dafür, dass das bis {until} erledigt ist.
Mein Termin dafür ist der {until}.
Spätestens am {until} muss ich wissen, woran ich bin.
Ich rechne mit einer Lösung bis zum {until}.
""")
"""The same words at every urgency: only the distance from the ticket's date to ``{until}``
tells the level (1-2 days: Hoch, 4-9 days: Mittel, 6+ weeks: Niedrig)."""
DATED_DAYS: dict[str, tuple[int, int]] = {"Hoch": (1, 2), "Mittel": (4, 9), "Niedrig": (42, 90)}
DEADLINES: tuple[str, ...] = (
    "morgen",
    "übermorgen",
    "heute Abend",
    "{wd}",
    "morgen früh",
    "Freitag",
    "Montag früh",
)


# ---- red herrings ------------------------------------------------------------------------------
RED_HERRINGS: dict[str, tuple[str, ...]] = {
    "Geräte-Setup-Probleme": _lines("""
Die Einrichtung damals lief übrigens problemlos.
Gekoppelt und eingerichtet war alles in fünf Minuten, daran liegt es also nicht.
Die Ersteinrichtung hat ein Bekannter für mich gemacht, das lief reibungslos.
"""),
    "Softwarefehler": _lines("""
Die neueste Firmware ist installiert, das Update lief ohne Fehlermeldung.
Abstürze oder Fehlercodes hatte ich bisher keine.
Die App läuft stabil, daran liegt es nicht.
"""),
    "Zahlungsprobleme": _lines("""
Bezahlt habe ich per {payment}, das hat reibungslos geklappt.
Die Rechnung ist längst beglichen.
Abgebucht wurde korrekt {price}, da ist alles in Ordnung.
"""),
    "Rückerstattungsanfragen": _lines("""
Eine Rücksendung oder Erstattung möchte ich ausdrücklich nicht.
Umtauschen oder Geld zurück kommt für mich nicht infrage, ich mag das Gerät.
Letztes Jahr hatte ich schon mal eine Erstattung bei Ihnen, das ging schnell.
"""),
    "Produktspezifikationen": _lines("""
Die technischen Daten kenne ich, darum geht es nicht.
Ich hatte mich vor dem Kauf genau über die Ausstattung informiert.
"""),
    "Garantieinformationen": _lines("""
Garantie habe ich noch bis nächstes Jahr, das ist also nicht das Thema.
Einen Garantiefall will ich daraus nicht machen.
"""),
    "Bestellverfolgung": _lines("""
Die Sendungsverfolgung hatte damals bestens funktioniert.
Das Paket kam an, die Bestellung selbst ist also nicht das Problem.
"""),
    "Lieferverzögerungen": _lines("""
Geliefert wurde übrigens pünktlich, sogar einen Tag früher.
Mit der Lieferung gab es keinerlei Verzögerung.
"""),
    "Unternehmensrichtlinien": _lines("""
Ihre AGB und die Datenschutzerklärung habe ich gelesen.
Die Rückgabefrist ist mir bekannt, darum geht es nicht.
"""),
    "Feedback und Vorschläge": _lines("""
Ansonsten bin ich mit Ihren Produkten sehr zufrieden, großes Lob.
Ich empfehle Lumetra eigentlich gern weiter.
Letztes Jahr hatte ich einen dringenden Fall bei Ihnen, der wurde super gelöst.
"""),
}
"""Background sentences in one subcategory's words that do not ask for anything: a ticket of
another subcategory may carry one, so that keywords alone do not give its label away."""

# ---- typos ------------------------------------------------------------------------------------
UMLAUTS = {"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue"}
