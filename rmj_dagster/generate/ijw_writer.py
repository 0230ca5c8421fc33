"""iJw 3.2 messages as providers' systems write them: JW305 "Start jeugdhulp" and JW307 "Stop jeugdhulp".

One client per message, valid against the XSD. Real iJw messages use two namespaces: the message's own
elements are in its own namespace, the children of shared types (BerichtIdentificatie, Geboortedatum, Naam,
Product, XsdVersie) in the basisschema namespace. Senders differ in the prefixes they bind, so readers must
match on namespace URI. Header and client are written by one function for both messages.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from lxml import etree

from rmj_dagster.generate.population import Youth
from rmj_dagster.intake.ijw import JW305, JW307, NS_BASIS, Message


@dataclass(frozen=True)
class SenderHabit:
    """How one provider's system writes its messages."""

    prefixes: tuple[str | None, str]  # of the message's own namespace (None: default; "{code}": jw305/jw307), of the basisschema
    pretty: bool
    send_ingangsdatum: bool  # optional ToewijzingIngangsdatum
    send_productcode: bool  # optional Product/Code

    def nsmap(self, message: Message) -> dict[str | None, str]:
        own, basis = self.prefixes
        return {own.format(code=message.code) if own else None: message.namespace, basis: NS_BASIS}


SENDER_HABITS = (
    SenderHabit((None, "ijw"), pretty=True, send_ingangsdatum=False, send_productcode=True),
    SenderHabit(("{code}", "ijw"), pretty=False, send_ingangsdatum=True, send_productcode=True),
    SenderHabit(("ns2", "ns3"), pretty=True, send_ingangsdatum=True, send_productcode=False),
)


@dataclass(frozen=True)
class StopProduct:
    toewijzingnummer: str
    categorie: str
    code: str
    begindatum: date
    einddatum: date
    reden: str
    status: str = "1"


@dataclass(frozen=True)
class StartProduct:
    toewijzingnummer: str
    categorie: str
    code: str
    begindatum: date
    status: str = "1"


def _add(parent: etree._Element, tag: str, text: object = None) -> etree._Element:
    element = etree.SubElement(parent, tag)
    if text is not None:
        element.text = str(text)
    return element


def _b(name: str) -> str:
    return f"{{{NS_BASIS}}}{name}"


def _message(message: Message, *, agb: str, gemeente: str, youth: Youth, message_id: str, dagtekening: date,
             products: list, habit: SenderHabit, bsn: str | None,
             write_product: Callable[[etree._Element, Callable[[str], str], object], None]) -> bytes:
    def own(name: str) -> str:
        return f"{{{message.namespace}}}{name}"

    root = etree.Element(own("Bericht"), nsmap=habit.nsmap(message))
    header = _add(root, own("Header"))
    for tag, text in (("BerichtCode", message.berichtcode), ("BerichtVersie", "3"), ("BerichtSubversie", "2"),
                      ("Afzender", agb), ("Ontvanger", gemeente)):
        _add(header, own(tag), text)
    identification = _add(header, own("BerichtIdentificatie"))
    _add(identification, _b("Identificatie"), message_id)
    _add(identification, _b("Dagtekening"), dagtekening.isoformat())
    versions = _add(header, own("XsdVersie"))
    _add(versions, _b("BasisschemaXsdVersie"), "1.0.0")
    _add(versions, _b("BerichtXsdVersie"), "1.0.0")

    client = _add(root, own("Client"))
    _add(client, own("Bsn"), bsn if bsn is not None else youth.bsn)
    _add(_add(client, own("Geboortedatum")), _b("Datum"), youth.birth.isoformat())
    _add(client, own("Geslacht"), youth.gender)
    name = _add(client, own("Naam"))
    surname = _add(name, _b("Geslachtsnaam"))
    _add(surname, _b("Achternaam"), youth.surname)
    if youth.prefix:
        _add(surname, _b("Voorvoegsel"), youth.prefix)
    _add(name, _b("Voorletters"), youth.initials)

    listed = _add(client, own(message.products))
    for product in products:
        write_product(_add(listed, own(message.product)), own, product)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=habit.pretty)


def _product_code(element: etree._Element, own: Callable[[str], str], habit: SenderHabit, product) -> None:
    _add(element, own("ToewijzingNummer"), product.toewijzingnummer)
    code = _add(element, own("Product"))
    _add(code, _b("Categorie"), product.categorie)
    if habit.send_productcode:
        _add(code, _b("Code"), product.code)
    if habit.send_ingangsdatum:
        _add(element, own("ToewijzingIngangsdatum"), product.begindatum.isoformat())
    _add(element, own("Begindatum"), product.begindatum.isoformat())


def jw307_message(*, agb: str, gemeente: str, youth: Youth, message_id: str, dagtekening: date,
                  products: list[StopProduct], habit: SenderHabit, bsn: str | None = None) -> bytes:
    """A stop message as UTF-8 bytes; ``bsn`` overrides the youth's (for deliberately invalid messages)."""

    def stop(element: etree._Element, own: Callable[[str], str], product: StopProduct) -> None:
        _product_code(element, own, habit, product)
        _add(element, own("RedenBeeindiging"), product.reden)
        _add(element, own("Einddatum"), product.einddatum.isoformat())
        _add(element, own("StatusAanlevering"), product.status)

    return _message(JW307, agb=agb, gemeente=gemeente, youth=youth, message_id=message_id, dagtekening=dagtekening,
                    products=products, habit=habit, bsn=bsn, write_product=stop)


def jw305_message(*, agb: str, gemeente: str, youth: Youth, message_id: str, dagtekening: date,
                  products: list[StartProduct], habit: SenderHabit, bsn: str | None = None) -> bytes:
    """A start message as UTF-8 bytes; ``bsn`` overrides the youth's (for deliberately invalid messages)."""

    def start(element: etree._Element, own: Callable[[str], str], product: StartProduct) -> None:
        _product_code(element, own, habit, product)
        _add(element, own("StatusAanlevering"), product.status)

    return _message(JW305, agb=agb, gemeente=gemeente, youth=youth, message_id=message_id, dagtekening=dagtekening,
                    products=products, habit=habit, bsn=bsn, write_product=start)
