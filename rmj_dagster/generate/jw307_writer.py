"""JW307 "Stop jeugdhulp" messages (iJw 3.2), one client per message, valid against the XSD."""

from __future__ import annotations

from datetime import date

from lxml import etree

from rmj_dagster.ingest.jw307 import NS_BASIS, NS_JW307

# Senders use different prefixes; readers must match on namespace URI.
PREFIX_STYLES = ({None: NS_JW307, "ijw": NS_BASIS}, {"jw307": NS_JW307, "b": NS_BASIS})


def jw307_message(*, agb: str, gemeente: str, bsn: str, birth: date, surname: str, initials: str,
                  message_id: str, dagtekening: date, products: list[dict], prefix_style: int = 0) -> bytes:
    """One message; ``products`` are dicts with toewijzingnummer, categorie, code, begindatum, einddatum, reden, status."""
    j = lambda name: f"{{{NS_JW307}}}{name}"  # noqa: E731
    b = lambda name: f"{{{NS_BASIS}}}{name}"  # noqa: E731
    root = etree.Element(j("Bericht"), nsmap=PREFIX_STYLES[prefix_style % len(PREFIX_STYLES)])

    def add(parent, tag, text=None):
        element = etree.SubElement(parent, tag)
        if text is not None:
            element.text = str(text)
        return element

    header = add(root, j("Header"))
    for tag, text in (("BerichtCode", "440"), ("BerichtVersie", "3"), ("BerichtSubversie", "2"),
                      ("Afzender", agb), ("Ontvanger", gemeente)):
        add(header, j(tag), text)
    identification = add(header, j("BerichtIdentificatie"))
    add(identification, b("Identificatie"), message_id)
    add(identification, b("Dagtekening"), dagtekening.isoformat())
    versions = add(header, j("XsdVersie"))
    add(versions, b("BasisschemaXsdVersie"), "1.0.0")
    add(versions, b("BerichtXsdVersie"), "1.0.0")
    client = add(root, j("Client"))
    add(client, j("Bsn"), bsn)
    add(add(client, j("Geboortedatum")), b("Datum"), birth.isoformat())
    add(client, j("Geslacht"), "0")
    name = add(client, j("Naam"))
    add(add(name, b("Geslachtsnaam")), b("Achternaam"), surname)
    add(name, b("Voorletters"), initials)
    stops = add(client, j("StopProducten"))
    for product in products:
        stop = add(stops, j("StopProduct"))
        add(stop, j("ToewijzingNummer"), product["toewijzingnummer"])
        code = add(stop, j("Product"))
        add(code, b("Categorie"), product["categorie"])
        add(code, b("Code"), product["code"])
        add(stop, j("Begindatum"), product["begindatum"].isoformat())
        add(stop, j("RedenBeeindiging"), product["reden"])
        add(stop, j("Einddatum"), product["einddatum"].isoformat())
        add(stop, j("StatusAanlevering"), product.get("status", "1"))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
