"""What each subcategory's tickets are about: concrete problems, follow-up details and titles.

Used by ``bizztune.tasks.tickets.generator`` (``bizztune generate --task tickets``). Every
subcategory has its own problems, so no two classes share a template. A line is
``tag | text``: the product must have the capability ``tag`` (see ``CAPS``), ``*`` takes any
product, ``-`` none. Slots in braces are filled by the generator (``{p}`` product name, ``{n}``
its everyday noun, ``{der}``/``{den}``/``{dem}`` its article, ``{mein}``/``{meinen}``/``{meinem}``,
``{er}``/``{ihn}`` pronouns, ``{code}``, ``{app}``, ``{part}``, ``{order}``, ``{amount}`` ...).
Problems say what is wrong, never how urgent it is: urgency comes from a separate cue.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Pool:
    problems: tuple[tuple[str, str], ...]
    """(capability tag, text) pairs."""
    details: tuple[str, ...]
    titles: tuple[str, ...]


def _tagged(block: str) -> tuple[tuple[str, str], ...]:
    out = []
    for line in block.strip().splitlines():
        tag, _, text = line.partition("|")
        out.append((tag.strip(), text.strip()))
    return tuple(out)


def _lines(block: str) -> tuple[str, ...]:
    return tuple(s.strip() for s in block.strip().splitlines() if s.strip())


POOLS: dict[str, Pool] = {
    "Geräte-Setup-Probleme": Pool(
        _tagged("""
wifi | Ich bekomme {den} {p} nicht ins Gäste-WLAN eingebunden, beim Passwort kommt immer „Verbindung abgelehnt“.
app | Für die Einrichtung {von} {p} soll ich einen Pairing-Code eingeben, der auf dem Aufkleber ist aber schon abgerieben.
screen | Das Übertragen meiner Kontakte auf {den} {p} funktioniert beim Einrichten nicht, die Liste bleibt leer.
tv | Ich finde beim ersten Einschalten {von} {p} nicht heraus, wie ich das Kabelfernsehen statt Antenne auswähle.
bt | Die Kopplung {von} {p} mit meinem Laptop klappt, aber es kommt kein Ton an, das Gerät erscheint nur als „Headset“.
wifi | Bei der Ersteinrichtung {von} {p} bleibt der Assistent beim Schritt „WLAN auswählen“ hängen, egal wie oft ich es neu starte.
wifi | {Der} {p} findet mein WLAN nicht, obwohl alle anderen Geräte im Haushalt problemlos damit verbunden sind.
app | Die {app} erkennt {den} {p} nicht. Bluetooth und Standort sind freigegeben, ich habe {ihn} schon dreimal auf Werkseinstellungen zurückgesetzt.
bt | {Den} {p} bekomme ich nicht mit meinem Handy gekoppelt, in der Bluetooth-Liste taucht {er} gar nicht erst auf.
app | Beim Hinzufügen {von} {p} in der {app} kommt nach dem QR-Code-Scan nur „Gerät konnte nicht registriert werden“.
screen | Nach dem Auspacken habe ich {den} {p} eingeschaltet, aber die Einrichtung verlangt ein Konto und der Bestätigungscode kommt nie an.
wifi | Ich habe {den} {p} ans 5-GHz-Netz hängen wollen, der Einrichtungsassistent zeigt aber nur das 2,4-GHz-Netz an.
mount | Die Montage {von} {p} laut Anleitung klappt nicht: die mitgelieferten Schrauben passen nicht in die Bohrungen.
screen | Beim ersten Start {von} {p} soll ich Daten von meinem alten Gerät übertragen, die Übertragung bricht aber bei etwa 40 % ab.
app | Ich will {den} {p} mit meinem Lumetra Home Hub verbinden, aber der Hub findet beim Anlernen nichts.
dock | {Der} {p} wird an meinem Laptop nicht erkannt, die externen Monitore bleiben schwarz, obwohl ich alles nach Anleitung angeschlossen habe.
screen | Ich schaffe es nicht, bei {dem} {p} die Sprache von Englisch auf Deutsch umzustellen, das Menü dafür finde ich nirgends.
bt | Ich möchte {den} {p} mit zwei Geräten gleichzeitig verbinden, aber sobald das zweite gekoppelt ist, fliegt das erste raus.
tv | Beim Sendersuchlauf {von} {p} findet der Fernseher keinen einzigen Kanal, obwohl die Antenne richtig eingesteckt ist.
app | In der {app} hänge ich bei der Einrichtung {von} {p} in einer Schleife: nach dem Login lande ich immer wieder auf der Startseite.
wifi | Die Einrichtung {von} {p} scheitert an meinem Mesh-Netzwerk, der Assistent meldet „Router nicht kompatibel“.
battery | Ich habe {den} {p} frisch ausgepackt, geladen und eingeschaltet, aber {er} startet den Einrichtungsmodus nicht, die LED blinkt nur rot.
screen | Ich verstehe nicht, wie ich bei {dem} {p} mein Firmenkonto und mein privates Konto gleichzeitig einrichte.
"""),
        _lines("""
Die Anleitung in der Verpackung hilft da leider nicht weiter.
Ich habe den Router schon neu gestartet und es mit dem Hotspot vom Handy probiert.
Laut Anleitung sollte das in fünf Minuten erledigt sein, ich sitze seit einer Stunde dran.
Ein Bekannter hat dasselbe Modell und bei ihm hat es auf Anhieb funktioniert.
Das Gerät ist neu, ich habe es erst vor {days} Tagen bekommen.
Ich habe die neueste Version der {app} installiert.
Das Video auf Ihrer Website zeigt einen Bildschirm, den ich so gar nicht angezeigt bekomme.
Mein Router ist eine FritzBox, falls das wichtig ist.
"""),
        _lines("""
Einrichtung klappt nicht
{p} lässt sich nicht einrichten
Kopplung schlägt fehl
{n} findet WLAN nicht
Hilfe bei der Inbetriebnahme
Erster Start {p}
{p} verbindet sich nicht
Problem beim Anlernen
Hänge bei der Ersteinrichtung
Verbindung mit App klappt nicht
Bluetooth-Kopplung {p}
Montage {p}
Neues Gerät, komme nicht weiter
Setup {p}
"""),
    ),
    "Softwarefehler": Pool(
        _tagged("""
os | Die Uhrzeit auf {dem} {p} springt seit dem letzten Update jeden Tag um eine Stunde zurück.
app | In der {app} stimmen die Geräte-Namen nicht mehr, alle heißen plötzlich „Unbekannt“.
screen | Die Tastatur auf dem Bildschirm {von} {p} reagiert nach dem Update nur noch auf jeden zweiten Tipper.
os | Das automatische Update hat {den} {p} in eine Boot-Schleife geschickt, das Logo erscheint und verschwindet wieder.
os | Seit dem letzten Update auf Version {version} stürzt die {app} beim Öffnen sofort ab.
os | {Der} {p} zeigt beim Start den Fehler {code} und startet dann von vorne.
os | Nach dem Firmware-Update hängt sich {der} {p} mehrmals am Tag auf und reagiert auf nichts mehr.
os | Die {app} meldet ständig „Synchronisierung fehlgeschlagen ({code})“, obwohl die Verbindung steht.
screen | Das Bild {von} {p} friert nach etwa zwanzig Minuten ein, der Ton läuft weiter.
os | Das Update auf {version} bricht jedes Mal mit der Meldung {code} ab.
os | Seit dem Update zeigt die {app} falsche Werte an, die Anzeige springt wild hin und her.
battery | Seit der neuen Softwareversion ist der Akku {von} {p} nach wenigen Stunden leer, vorher hielt er den ganzen Tag.
os | In der {app} verschwinden meine Einstellungen nach jedem Neustart, ich muss alles neu eingeben.
screen | Das Menü {von} {p} ist plötzlich nur noch auf Englisch und die Schrift ist teilweise abgeschnitten.
os | {Der} {p} startet nachts von selbst neu, im Protokoll steht jedes Mal {code}.
app | Die Benachrichtigungen der {app} kommen mit Stunden Verspätung oder gar nicht.
screen | Nach dem letzten Patch flackert der Bildschirm {von} {p}, sobald ich die Helligkeit ändere.
os | Die Automatisierungen in der {app} werden seit Version {version} einfach nicht mehr ausgeführt.
app | Beim Login in der {app} kommt die Meldung „Unbekannter Fehler“ und danach wird die App geschlossen.
bt | Seit dem Update bricht die Bluetooth-Verbindung {von} {p} alle paar Minuten ab und baut sich von allein wieder auf.
os | Die Sprachsteuerung {von} {p} versteht seit dem Update keine Befehle mehr und antwortet mit einem Piepton.
"""),
        _lines("""
Ein Neustart hilft immer nur kurz.
Ich habe die App schon gelöscht und neu installiert, ohne Erfolg.
Vor dem Update lief alles einwandfrei.
Ich kann gern einen Screenshot oder das Fehlerprotokoll schicken.
Das Problem tritt reproduzierbar auf, immer an derselben Stelle.
Auf Werkseinstellungen zurücksetzen habe ich noch nicht probiert, weil ich meine Einstellungen nicht verlieren möchte.
Andere Nutzer im Forum berichten übrigens dasselbe.
Mein Handy hat die aktuelle Android-Version, falls das hilft.
"""),
        _lines("""
App stürzt ab
{code} beim Start
{p} hängt sich auf
Nach Update geht nichts mehr
Fehlermeldung {code}
Absturz seit Version {version}
Update bricht ab
{app} spinnt
Bildschirm friert ein
Einstellungen weg nach Neustart
Bug in der {app}
Komisches Verhalten nach Update
{p} startet ständig neu
"""),
    ),
    "Zahlungsprobleme": Pool(
        _tagged("""
* | Bei der Zahlung per {payment} wurde ein Betrag von {amount} reserviert, obwohl die Bestellung nie abgeschlossen wurde.
* | Die Rechnung zu {order} ist auf den falschen Namen ausgestellt, meine Firma kann sie so nicht verbuchen.
* | Meine Ratenzahlung wird monatlich zu hoch abgebucht, vereinbart waren andere Beträge als {amount}.
* | Nach der Änderung meiner Zahlungsart auf {payment} wird der alte Weg trotzdem weiter belastet.
* | Für meine Bestellung {order} wurde der Betrag von {amount} zweimal von meinem Konto abgebucht.
* | Die Zahlung mit {payment} wird in {shop} immer wieder abgelehnt, obwohl mein Konto gedeckt ist.
* | Auf der Rechnung zu {order} steht {amount}, im Warenkorb wurden mir aber {price} angezeigt.
* | Ich habe per {payment} bezahlt, trotzdem bekomme ich eine Zahlungserinnerung mit Mahngebühr.
* | Der Gutscheincode wurde beim Bezahlen nicht abgezogen, belastet wurde der volle Betrag von {price}.
* | Beim Bezahlen mit {payment} kommt nach der Bestätigung nur eine Fehlerseite, und ich weiß nicht, ob die Zahlung durch ist.
* | Auf meinem Kontoauszug taucht eine Abbuchung über {amount} von Lumetra auf, die ich keiner Bestellung zuordnen kann.
* | Die Ratenzahlung für {den} {p} wurde angeblich nicht genehmigt, aber die erste Rate ist trotzdem abgebucht.
* | Ich brauche eine Rechnung mit meiner Firmenanschrift und ausgewiesener Mehrwertsteuer, im Kundenkonto kann ich die Adresse nicht ändern.
* | Die Lastschrift für {order} ist geplatzt, weil Sie eine alte Bankverbindung verwendet haben, die ich längst geändert hatte.
* | Mein Abo für die {app} sollte 4,99 € im Monat kosten, abgebucht werden aber 9,99 €.
* | Ich finde im Kundenkonto keine Möglichkeit, die hinterlegte Kreditkarte zu ändern, die alte ist abgelaufen.
* | Nach dem Bezahlen mit {payment} wurde meine Bestellung {order} storniert, das Geld ist aber weg.
* | Für {den} {p} wurden mir Versandkosten berechnet, obwohl auf der Seite „versandkostenfrei“ stand.
* | In der Rechnung fehlt der Rabatt aus der Aktion, bezahlt habe ich {price} statt des reduzierten Preises.
"""),
        _lines("""
Im Anhang finden Sie einen Screenshot vom Kontoauszug.
Meine Bank sagt, das Problem liegt nicht bei ihr.
Kundennummer: {cust}.
Die Bestellung selbst ist korrekt angekommen.
Ich habe schon im Chat gefragt, dort wurde ich an Sie verwiesen.
Mit einer anderen Karte habe ich es auch versucht.
Bestellt habe ich am {date}.
"""),
        _lines("""
Doppelte Abbuchung
Frage zur Rechnung {order}
Betrag stimmt nicht
Zahlung abgelehnt
Mahnung trotz Bezahlung
Unbekannte Abbuchung
{payment} funktioniert nicht
Falscher Betrag abgebucht
Rechnung mit Firmenadresse
Kreditkarte ändern
Gutschein nicht berücksichtigt
Abo zu teuer abgerechnet
Problem beim Bezahlen
"""),
    ),
    "Rückerstattungsanfragen": Pool(
        _tagged("""
* | Ich habe {den} {p} innerhalb der Frist zurückgegeben, der Markt in {city} sagt aber, das Geld müsse von Ihnen kommen.
* | Für die stornierte Vorbestellung {von} {p} habe ich noch keine Rückzahlung meiner Anzahlung von {amount} erhalten.
* | Die Rücksendung wurde abgelehnt, weil angeblich Zubehör fehlte. Es war alles drin, ich bitte um volle Erstattung.
* | Ich habe {den} {p} am {date} zurückgeschickt, die Rücksendung ist laut Sendungsverfolgung angekommen, aber mein Geld habe ich noch nicht.
* | Ich habe die Bestellung {order} storniert, bevor sie verschickt wurde, und bitte um Erstattung der {amount}.
* | {Der} {p} kam beschädigt an. Ich möchte nicht umtauschen, sondern den Kaufpreis zurück.
* | Sie haben mir nur {amount} erstattet, bezahlt hatte ich aber {price}. Wo ist der Rest?
* | Laut Ihrer E-Mail wurde die Erstattung für {order} veranlasst, auf meinem {payment}-Konto ist aber nichts eingegangen.
* | Ich möchte von meinem Widerrufsrecht Gebrauch machen und {den} {p} zurückgeben. Wie bekomme ich mein Geld zurück?
* | Aus meiner Bestellung fehlte ein Artikel, berechnet wurde er trotzdem. Bitte erstatten Sie mir den Betrag.
* | Die Preisgarantie habe ich in Anspruch genommen, weil {der} {p} eine Woche später {amount} günstiger war. Die Differenz habe ich noch nicht zurückbekommen.
* | Das Ersatzgerät wurde nach der Reparatur doch nicht geliefert, ich bitte daher um Rückzahlung des Kaufpreises.
* | Die Rücksendekosten von {amount} hätten laut Ihren Bedingungen übernommen werden sollen. Bitte zahlen Sie sie mir zurück.
* | Ich habe {den} {p} versehentlich doppelt bestellt und ein Exemplar ungeöffnet zurückgeschickt. Die Gutschrift steht noch aus.
* | Die Erstattung wurde als Gutschein ausgestellt, ich möchte das Geld aber auf mein Konto zurück.
* | Ich habe das Abo der {app} gekündigt, trotzdem wurde noch ein Monat berechnet, den ich zurückhaben möchte.
* | Beim Umtausch {von} {p} gegen das größere Modell wurde die Differenz falsch berechnet, mir stehen noch {amount} zu.
"""),
        _lines("""
Das Retourenlabel habe ich über Ihr Portal erstellt.
Die Sendungsnummer der Rücksendung ist {tracking}.
Bezahlt hatte ich damals mit {payment}.
Laut Ihrer Seite dauert eine Erstattung 5 bis 7 Werktage, das ist lange vorbei.
Der Originalkarton war dabei, alles vollständig.
Die Bestellnummer war {order}.
Eine Eingangsbestätigung der Rücksendung habe ich per E-Mail bekommen.
"""),
        _lines("""
Geld zurück für {order}
Wo bleibt mein Geld?
Rücksendung angekommen, keine Gutschrift
Erstattung fehlt
Storno {order}
Widerruf {p}
Rückzahlung bitte
Differenz erstatten
Gutschrift noch offen
Kaufpreis zurück
Erstattung nur teilweise
Retoure {order}
"""),
    ),
    "Produktspezifikationen": Pool(
        _tagged("""
* | Welche Software-Funktionen bringt {der} {p} ab Werk mit? Gibt es irgendwo eine vollständige Liste?
screen | Wie hell wird das Display {von} {p} im Freien, reicht das für die Terrasse?
* | Welches Netzteil brauche ich für {den} {p}, ist eins im Lieferumfang?
bt | Wie viele Geräte kann {der} {p} gleichzeitig gekoppelt halten?
* | Hat {der} {p} wirklich {spec}, wie auf der Produktseite steht, oder gilt das nur für das größere Modell?
screen | Unterstützt {der} {p} Dolby Vision oder nur HDR10?
battery | Wie lange hält der Akku {von} {p} realistisch, wenn man {ihn} den ganzen Tag benutzt?
* | Ist {der} {p} mit meinem Gerät von einem anderen Hersteller kompatibel, konkret mit einem iPhone 13?
* | Welche Abmessungen und welches Gewicht hat {der} {p} genau? Ich finde dazu widersprüchliche Angaben.
wifi | Funktioniert {der} {p} auch mit Matter und Apple Home, oder nur mit Ihrer eigenen App?
* | Was ist eigentlich der Unterschied zwischen {dem} {p} und dem Vorgängermodell? Lohnt sich der Aufpreis?
power | Kann ich mit {dem} {p} auch meinen Laptop laden, und mit wie viel Watt?
* | Ist {der} {p} wasserdicht genug, dass man {ihn} im Badezimmer verwenden kann?
laptop | Lässt sich beim {p} der Arbeitsspeicher später aufrüsten, oder ist er verlötet?
* | Welche Anschlüsse hat {der} {p} genau? Im Datenblatt ist nur von „mehreren“ die Rede.
* | Gibt es {den} {p} auch in Weiß oder nur in Schwarz?
bt | Welche Bluetooth-Version und welche Codecs unterstützt {der} {p}? Ich höre viel über aptX.
* | Wie hoch ist der Stromverbrauch {von} {p} im Standby?
tv | Hat {der} {p} einen eingebauten Tuner für Satellit, oder brauche ich einen Receiver?
mount | Welche VESA-Norm hat {der} {p}, und passt Ihre Wandhalterung W55 dazu?
"""),
        _lines("""
Ich überlege, {den} {p} zu kaufen, und möchte vorher sicher sein.
Auf der Verpackung im Laden stand etwas anderes als auf Ihrer Website.
Es geht um ein Geschenk, deshalb möchte ich nichts Falsches kaufen.
Im Vergleichstest einer Zeitschrift wurden andere Werte genannt.
Ich habe das Datenblatt gelesen, werde daraus aber nicht schlau.
Der Verkäufer im Markt konnte mir das nicht beantworten.
"""),
        _lines("""
Frage zu {p}
Technische Daten {p}
Kompatibilität?
Unterschied zum Vorgänger
Passt das zusammen?
Akkulaufzeit {n}
Anschlüsse {p}
Gibt es {p} in Weiß?
Maße und Gewicht
Frage vor dem Kauf
Stromverbrauch
Funktioniert {p} mit iPhone?
"""),
    ),
    "Garantieinformationen": Pool(
        _tagged("""
* | Bietet Lumetra eine Vor-Ort-Garantie für Geschäftskunden an, oder muss {der} {p} immer eingeschickt werden?
* | Wer zahlt beim Garantiefall {von} {p} den Versand zu Ihrem Servicecenter?
* | Ich habe {den} {p} als Geschenk bekommen und keine Rechnung. Wie weise ich die Garantie nach?
* | Wie lange habe ich auf {den} {p} Herstellergarantie, zwei Jahre oder drei?
* | {Der_part} {part} {von} {p} ist nach {months} Monaten kaputtgegangen. Ist das ein Fall für die Garantie?
* | Gilt die Garantie auch, wenn ich {den} {p} gebraucht bei einem Privatverkäufer gekauft habe?
* | Mir ist {der} {p} heruntergefallen. Übernimmt die Garantie so etwas, oder brauche ich dafür eine Zusatzversicherung?
* | Ich habe den Kaufbeleg {von} {p} verloren. Kann ich die Garantie trotzdem in Anspruch nehmen?
* | Was genau deckt Ihre Garantieverlängerung „Care+“ ab, und kann ich sie noch nachträglich abschließen?
* | Verliere ich die Garantie, wenn ich {den} {p} selbst öffne, um {den_part} {part} zu tauschen?
* | Ich möchte einen Garantiefall für {den} {p} melden. Muss ich das Gerät zu Ihnen schicken oder zum Händler bringen?
* | Gilt die Garantie für {den} {p} auch im Ausland? Ich ziehe nächsten Monat nach Österreich.
* | Was ist bei Ihnen der Unterschied zwischen Garantie und Gewährleistung, und an wen wende ich mich?
* | Bekomme ich nach einem Garantietausch {von} {p} wieder die volle Garantiezeit?
* | Ist ein Wasserschaden an {dem} {p} von der Garantie ausgeschlossen, obwohl {er} als wasserfest beworben wird?
* | Bei {dem} {p} macht {der_part} {part} seit Kurzem Probleme. Welche Unterlagen brauche ich für einen Garantieantrag?
* | Ist der Akku {von} {p} ein Verschleißteil, oder fällt er unter die Garantie?
"""),
        _lines("""
Gekauft habe ich {ihn} am {date} bei einem Elektronikmarkt in {city}.
Die Seriennummer steht auf der Rückseite, ich kann sie nachreichen.
Ich habe das Gerät bei Ihnen registriert.
In den Garantiebedingungen finde ich dazu nichts Eindeutiges.
Das Gerät wurde immer pfleglich behandelt.
Den Kassenbon habe ich als Foto.
"""),
        _lines("""
Garantie {p}
Ist das ein Garantiefall?
Frage zur Garantie
Garantiezeit?
Kaufbeleg verloren
Gewährleistung oder Garantie
Care+ nachträglich?
Defekt nach {months} Monaten
Garantie im Ausland
Akku und Garantie
Reparatur unter Garantie?
"""),
    ),
    "Bestellverfolgung": Pool(
        _tagged("""
* | Ich sehe im Kundenkonto zwei Sendungsnummern für {order}. Welche ist die richtige?
* | Kann ich bei {carrier} einen anderen Zustelltag für meine Sendung wählen, oder geht das nur über Sie?
* | Ist meine Bestellung {order} schon aus dem Lager raus, oder kann ich noch etwas hinzufügen?
* | Können Sie mir sagen, wo meine Bestellung {order} gerade ist? In meinem Kundenkonto steht nur „in Bearbeitung“.
* | Ich habe für {order} noch keine Sendungsnummer bekommen. Wurde das Paket schon verschickt?
* | Die Sendungsverfolgung von {carrier} zeigt seit dem {date} denselben Status „Paket im Zielpaketzentrum“.
* | Laut Tracking wurde mein Paket zugestellt, bei mir ist aber nichts angekommen, auch nicht bei den Nachbarn.
* | Kann ich die Lieferadresse für {order} noch ändern? Ich bin umgezogen und habe vergessen, sie anzupassen.
* | Der Link zur Sendungsverfolgung in Ihrer Versandbestätigung führt auf eine Fehlerseite.
* | Ich habe {den} {p} und Zubehör bestellt, aber nur ein Paket bekommen. Kommt der Rest separat?
* | Wurde meine Bestellung {order} überhaupt angenommen? Ich habe keine Bestellbestätigung bekommen.
* | Das Paket liegt laut {carrier} in einer Filiale, aber welche, steht nirgends.
* | Kann ich meine Bestellung {order} statt nach Hause an eine Packstation liefern lassen?
* | Die Sendungsnummer {tracking} wird bei {carrier} als ungültig angezeigt.
* | In der Lumetra-App wird meine Bestellung als „storniert“ angezeigt, obwohl ich nichts storniert habe. Was ist damit los?
* | Ich möchte meine Bestellung {order} im Lumetra Store in {city} abholen. Woran erkenne ich, dass sie dort liegt?
* | Können Sie mir den Versanddienstleister für {order} nennen? Ich möchte einen Abstellort festlegen.
"""),
        _lines("""
Die Bestellbestätigung habe ich am {date} bekommen.
Bezahlt ist alles.
Bei {carrier} in der Hotline kam ich nicht durch.
Ich bin tagsüber meistens zu Hause.
Es handelt sich um {den} {p}.
Im Kundenkonto sehe ich keine weiteren Informationen.
"""),
        _lines("""
Wo ist mein Paket?
Status {order}
Keine Sendungsnummer
Tracking zeigt nichts Neues
Zugestellt, aber nicht da
Lieferadresse ändern
Sendungsnummer ungültig
Teillieferung?
Abholung im Store
Bestellung angekommen?
Frage zur Sendung {order}
"""),
    ),
    "Lieferverzögerungen": Pool(
        _tagged("""
* | Die Teillieferung kam pünktlich, aber {der} {p} aus derselben Bestellung fehlt seit {weeks} Wochen.
* | Ihr Kundenservice hat mir letzte Woche Lieferung „bis spätestens Freitag“ zugesagt, passiert ist nichts.
* | Das Paket mit {dem} {p} hängt seit {days} Tagen beim Zoll fest, obwohl Sie aus Deutschland versenden.
* | Meine Bestellung {order} sollte laut Bestätigung am {date} ankommen, das ist jetzt {days} Tage her.
* | Sie haben „Lieferung in 1–2 Werktagen“ versprochen, ich warte jetzt schon über eine Woche auf {den} {p}.
* | Der Liefertermin für {den} {p} wurde zum dritten Mal verschoben, jetzt steht dort „voraussichtlich in {weeks} Wochen“.
* | Bei der Bestellung stand {der} {p} als „sofort lieferbar“, jetzt heißt es plötzlich, {er} sei nicht auf Lager.
* | Die Spedition hat den vereinbarten Liefertermin für {den} {p} kurzfristig abgesagt und meldet sich nicht mehr.
* | Der Express-Versand für {order} hat extra {amount} gekostet und das Paket ist trotzdem nicht rechtzeitig gekommen.
* | Seit {days} Tagen steht meine Bestellung auf „Versand wird vorbereitet“, es geht einfach nicht weiter.
* | Die Vorbestellung {von} {p} sollte zum Verkaufsstart geliefert werden, Freunde haben ihr Gerät schon, ich nicht.
* | Das Ersatzteil für meine Reparatur ist seit Wochen „in Lieferung“ und kommt nicht an.
* | {Carrier} hat das Paket für {order} laut Tracking seit {days} Tagen nicht bewegt, ein neuer Zustelltermin wird nicht genannt.
* | Die Zustellung wurde ohne Grund auf nächste Woche verschoben, obwohl ich für Standardversand bezahlt habe, der zwei Tage dauern soll.
* | Beim Kauf hieß es, {der} {p} werde vor Weihnachten geliefert, jetzt bekomme ich eine Mail mit einem Termin im Januar.
"""),
        _lines("""
Bestellt habe ich am {date}.
Ich habe den Tag extra freigenommen, um das Paket anzunehmen.
Eine Begründung für die Verzögerung habe ich nie bekommen.
Die Bestellnummer lautet {order}.
Bezahlt habe ich sofort per {payment}.
Auf Ihrer Seite wird das Produkt weiterhin als lieferbar angezeigt.
"""),
        _lines("""
Lieferung überfällig
Immer noch nichts da
Liefertermin verschoben
Wann kommt {p}?
Warte seit {days} Tagen
Express bezahlt, nichts gekommen
Vorbestellung {p}
Bestellung {order} hängt
Plötzlich nicht auf Lager
Spedition sagt Termin ab
Noch keine Lieferung
"""),
    ),
    "Unternehmensrichtlinien": Pool(
        _tagged("""
- | Muss ich für eine Rücksendung den Grund angeben, oder ist das freiwillig?
- | Gibt es bei Ihnen eine Mindestbestellmenge für Geschäftskunden?
- | Wie lange bewahren Sie Rechnungen und Bestelldaten auf?
- | Wie lange habe ich bei Ihnen ein Rückgaberecht, und gilt das auch für geöffnete Ware?
- | Welche Daten speichert die {app} über mich, und kann ich sie vollständig löschen lassen?
* | Nehmen Sie Altgeräte zurück, wenn ich bei Ihnen {einen} {n} kaufe?
- | Gibt es bei Ihnen Rabatte für Studierende oder für Firmenkunden?
- | Liefern Sie auch in die Schweiz, und wer trägt dort Zoll und Einfuhrsteuer?
- | Darf ich Produkte, die ich im Lumetra Store gekauft habe, online zurückgeben?
- | Wie gehen Sie mit Kundendaten um, werden die an Dritte weitergegeben?
- | Gilt Ihre Preisgarantie auch, wenn ein anderer Händler günstiger ist?
- | Welche Zahlungsarten akzeptieren Sie für Geschäftskunden, und ist Kauf auf Rechnung möglich?
- | Wie lange garantieren Sie Software-Updates für Ihre Smartphones?
- | Werden die Lautsprecher in Ihren Geräten unter fairen Arbeitsbedingungen gefertigt? Gibt es dazu einen Nachhaltigkeitsbericht?
- | Kann ich meine Bestellung als Geschenk verpacken lassen, ohne dass eine Rechnung beiliegt?
- | Wie ist Ihre Regel bei Rücksendungen ohne Originalverpackung?
- | Darf ich Fotos Ihrer Produkte für meinen Blog verwenden, oder brauche ich dafür eine Erlaubnis?
- | Hören Sie Gespräche über die Sprachsteuerung mit, und wo stehen Ihre Server?
- | Verkaufen Sie auch Ersatzteile an Privatkunden, oder nur an Werkstätten?
"""),
        _lines("""
Ich habe in Ihren AGB gesucht, aber nichts Eindeutiges gefunden.
Bei anderen Anbietern ist das ja unterschiedlich geregelt.
Ich frage, bevor ich eine größere Bestellung aufgebe.
Auf Ihrer Website finde ich nur einen toten Link zu dem Thema.
Es geht um {den} {p}, falls das einen Unterschied macht.
Ein Freund meinte, das sei bei Ihnen anders als bei der Konkurrenz.
"""),
        _lines("""
Frage zu Ihren Bedingungen
Rückgaberecht?
Datenschutz {app}
Altgeräte-Rücknahme
Rabatt für Studierende?
Versand in die Schweiz
Kauf auf Rechnung für Firmen
Wie lange gibt es Updates?
Nachhaltigkeit
Rücksendung ohne Karton
Darf ich Ihre Fotos nutzen?
Allgemeine Frage
"""),
    ),
    "Feedback und Vorschläge": Pool(
        _tagged("""
* | Die Ladezeit {von} {p} ist deutlich besser als beim Vorgänger, das wollte ich mal positiv hervorheben.
- | Ihr Chatbot versteht leider kaum etwas. Ein Knopf „Mensch sprechen“ wäre eine echte Verbesserung.
* | Eine Anregung: Bieten Sie doch Ersatzteile wie Kabel und Halterungen für {den} {p} einzeln im Shop an.
* | Ich wollte einfach mal loswerden, dass ich mit {dem} {p} sehr zufrieden bin. Die Verarbeitung ist top.
* | Ein Vorschlag: Es wäre toll, wenn man in der {app} einen Dunkelmodus einstellen könnte.
- | Ihre Mitarbeiterin an der Hotline war letzte Woche unglaublich geduldig und kompetent, bitte richten Sie ein Lob aus.
* | Die Verpackung {von} {p} ist viel zu groß und voller Plastik. Das geht sicher nachhaltiger.
* | Mir fehlt bei {dem} {p} eine Möglichkeit, die Status-LED ganz abzuschalten. Vielleicht für ein künftiges Update?
- | Ihre neue Website ist deutlich unübersichtlicher als die alte, die Suche findet kaum etwas.
* | Ich fände es super, wenn es {den} {p} auch in einer kleineren Variante gäbe.
- | Die Anleitung war leider nur als QR-Code dabei. Ein gedrucktes Heft wäre für ältere Kunden hilfreich.
* | Nach einem Jahr mit {dem} {p} kann ich sagen: bestes Gerät, das ich je hatte. Nur der Preis für Zubehör ist happig.
- | Die Wartezeit in der Hotline war zu lang, aber die Beratung danach war hervorragend.
* | Könnten Sie in der {app} eine Statistik einbauen, wie viel Strom {der} {p} im Monat verbraucht?
- | Die Lieferung kam in einem Karton ohne Ihr Logo, das fand ich gut, weil es ein Geschenk war. Bitte beibehalten!
- | Ihr Newsletter kommt mir zu oft, einmal im Monat würde völlig reichen.
* | Die Farbe „Salbeigrün“ {von} {p} sieht in echt viel schöner aus als auf den Fotos, zeigen Sie das doch besser.
- | Ein Vorschlag zur Rücksendung: ein Abholservice an der Haustür wäre für viele eine große Erleichterung.
"""),
        _lines("""
Ich bin seit Jahren Kunde bei Ihnen.
Das musste einfach mal gesagt werden.
Vielleicht hilft das ja bei der Weiterentwicklung.
Ich habe das auch in einer Bewertung geschrieben.
Meine Familie nutzt inzwischen mehrere Geräte von Lumetra.
Andere Hersteller machen das übrigens schon so.
"""),
        _lines("""
Ein Lob
Anregung
Idee für die {app}
Vorschlag
Ein paar Gedanken
Dickes Dankeschön
Kleine Kritik
Verpackung
Wunsch für ein Update
Ihre Website
Rückmeldung zur Hotline
Zufriedene Kundin
"""),
    ),
    "Kein Zusammenhang": Pool(
        _tagged("""
- | Hallo Tim, hast du am Wochenende Zeit zum Umzugshelfen? Bring bitte Kartons mit.
- | Wo finde ich das Fundbüro in {city}? Ich habe gestern meinen Schirm im Bus liegen lassen.
- | Wie lange muss man eigentlich Eier kochen, damit sie wachsweich sind?
- | Ist das die Hausverwaltung? Bei uns im Treppenhaus ist seit gestern das Licht aus.
- | Ich wollte eigentlich meiner Zahnarztpraxis schreiben, um meinen Termin zu verschieben. Können Sie das weiterleiten?
- | Haben Sie vielleicht ein gutes Rezept für einen Käsekuchen ohne Boden?
- | Wir bieten Ihnen professionelle Suchmaschinenoptimierung zu unschlagbaren Preisen, jetzt 50 % Rabatt sichern!
- | Weiß jemand, wann morgen der Zug von {city} nach Hamburg fährt? Die Bahn-App zeigt nichts an.
- | Hallo Frau Becker, anbei wie besprochen die Unterlagen für den Elternabend.
- | Sie haben 1.000.000 € gewonnen! Schicken Sie uns Ihre Kontodaten, um den Gewinn zu erhalten.
- | Ich suche eine Wohnung in {city}, drei Zimmer, Balkon. Haben Sie etwas im Angebot?
- | Kann mir jemand sagen, wie man einen tropfenden Wasserhahn repariert?
- | Unser Sportverein sucht noch Sponsoren für das Sommerfest. Hätten Sie Interesse?
- | Wer hat das Spiel am Samstag gewonnen? Ich habe es leider verpasst.
- | Liebe Oma, vielen Dank für das Paket zum Geburtstag, die Socken passen perfekt!
- | Meine Katze frisst seit zwei Tagen nicht. Was kann ich tun?
- | Bei dieser Adresse kann man doch die Kfz-Zulassung beantragen, oder? Welche Unterlagen brauche ich?
- | Investieren Sie jetzt in Krypto und verdoppeln Sie Ihr Geld in 30 Tagen, Anmeldung unter dem Link.
- | Ich möchte einen Tisch für vier Personen am Freitag um 19 Uhr reservieren.
- | Wie viele Kalorien hat eigentlich eine Banane?
- | Sehr geehrte Damen und Herren, hiermit kündige ich meine Mitgliedschaft im Fitnessstudio fristgerecht.
"""),
        _lines("""
Die Adresse habe ich aus dem Internet.
Ich weiß nicht, ob ich hier richtig bin.
Sorry, falls das falsch ankommt.
Mein Nachbar hat mir diese Adresse gegeben.
Bitte nicht als Spam markieren.
"""),
        _lines("""
Kurze Frage an Sie
Hallo
Termin
Kurze Frage
Wichtig!!
Eine Bitte
Angebot für Sie
Reservierung
Hilfe gesucht
Re: Unterlagen
Info
Kündigung
"""),
    ),
}
"""Subcategory -> its problems, details and titles."""

GENERIC_TITLES: tuple[str, ...] = _lines("""
Anfrage
Problem
Hilfe!
Frage
Bitte um Rückmeldung
Kundenanfrage
{p}
Bestellung {order}
Mein {n}
Anliegen
Dringend?
Nachricht an den Support
""")
"""Titles any class may get: they carry no label information, like many real tickets."""
