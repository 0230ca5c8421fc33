"""JW307 "Stop jeugdhulp" messages (iJw 3.2): one client per message, valid against the XSD.

Real iJw messages use two namespaces: the message's own elements are in the jw307 namespace, the children of
shared types (BerichtIdentificatie, Geboortedatum, Naam, Product, XsdVersie) in the basisschema namespace.
Senders differ in the prefixes they bind, so readers must match on namespace URI.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from lxml import etree

from rmj_dagster.generate.population import Youth
from rmj_dagster.intake.ijw import NS_BASIS, NS_JW307


@dataclass(frozen=True)
class SenderHabit:
    """How one provider's system writes its messages."""

    nsmap: dict[str | None, str]
    pretty: bool
    send_ingangsdatum: bool  # optional ToewijzingIngangsdatum
    send_productcode: bool  # optional Product/Code


SENDER_HABITS = (
    SenderHabit({None: NS_JW307, "ijw": NS_BASIS}, pretty=True, send_ingangsdatum=False, send_productcode=True),
    SenderHabit({"jw307": NS_JW307, "ijw": NS_BASIS}, pretty=False, send_ingangsdatum=True, send_productcode=True),
    SenderHabit({"ns2": NS_JW307, "ns3": NS_BASIS}, pretty=True, send_ingangsdatum=True, send_productcode=False),
)


@dataclass(frozen=True)
class StopProduct:
    toewijzingnummer: int
    categorie: str
    code: str
    begindatum: date
    einddatum: date
    reden: str
    status: str = "1"


def _j(name: str) -> str:
    return f"{{{NS_JW307}}}{name}"


def _b(name: str) -> str:
    return f"{{{NS_BASIS}}}{name}"


def _add(parent: etree._Element, tag: str, text: object = None) -> etree._Element:
    element = etree.SubElement(parent, tag)
    if text is not None:
        element.text = str(text)
    return element


def jw307_message(*, agb: str, gemeente: str, youth: Youth, message_id: str, dagtekening: date,
                  products: list[StopProduct], habit: SenderHabit, bsn: str | None = None) -> bytes:
    """The message as UTF-8 bytes; ``bsn`` overrides the youth's (for deliberately invalid messages)."""
    root = etree.Element(_j("Bericht"), nsmap=habit.nsmap)
    header = _add(root, _j("Header"))
    for tag, text in (("BerichtCode", "440"), ("BerichtVersie", "3"), ("BerichtSubversie", "2"),
                      ("Afzender", agb), ("Ontvanger", gemeente)):
        _add(header, _j(tag), text)
    identification = _add(header, _j("BerichtIdentificatie"))
    _add(identification, _b("Identificatie"), message_id)
    _add(identification, _b("Dagtekening"), dagtekening.isoformat())
    versions = _add(header, _j("XsdVersie"))
    _add(versions, _b("BasisschemaXsdVersie"), "1.0.0")
    _add(versions, _b("BerichtXsdVersie"), "1.0.0")

    client = _add(root, _j("Client"))
    _add(client, _j("Bsn"), bsn if bsn is not None else youth.bsn)
    _add(_add(client, _j("Geboortedatum")), _b("Datum"), youth.birth.isoformat())
    _add(client, _j("Geslacht"), youth.gender)
    name = _add(client, _j("Naam"))
    surname = _add(name, _b("Geslachtsnaam"))
    _add(surname, _b("Achternaam"), youth.surname)
    if youth.prefix:
        _add(surname, _b("Voorvoegsel"), youth.prefix)
    _add(name, _b("Voorletters"), youth.initials)

    stops = _add(client, _j("StopProducten"))
    for product in products:
        stop = _add(stops, _j("StopProduct"))
        _add(stop, _j("ToewijzingNummer"), product.toewijzingnummer)
        code = _add(stop, _j("Product"))
        _add(code, _b("Categorie"), product.categorie)
        if habit.send_productcode:
            _add(code, _b("Code"), product.code)
        if habit.send_ingangsdatum:
            _add(stop, _j("ToewijzingIngangsdatum"), product.begindatum.isoformat())
        _add(stop, _j("Begindatum"), product.begindatum.isoformat())
        _add(stop, _j("RedenBeeindiging"), product.reden)
        _add(stop, _j("Einddatum"), product.einddatum.isoformat())
        _add(stop, _j("StatusAanlevering"), product.status)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=habit.pretty)
