"""iJw 3.2 messages the region reads: JW305 "Start jeugdhulp" and JW307 "Stop jeugdhulp".

Both are one client per message with a list of products; they differ in namespace, schema, the element
that holds the products and the product fields. Parser (``intake.detect``, ``ttp.pseudonymise``) and
generator share these descriptions, so a message is read by one piece of code whatever its kind.
Real messages use two namespaces: the message's own elements are in its own namespace, the children of
shared types (``Datum``, ``Categorie``, ``Code``, ``Identificatie``, name parts, ...) in the basisschema's.
Match on namespace URI, never on prefix.
"""

from __future__ import annotations

from dataclasses import dataclass

NS_JW305 = "http://www.istandaarden.nl/ijw/3_2/jw305/schema"
NS_JW307 = "http://www.istandaarden.nl/ijw/3_2/jw307/schema"
NS_BASIS = "http://www.istandaarden.nl/ijw/3_2/basisschema/schema"

OWN, BASIS = "own", "basis"  # which namespace a step of a path is in


@dataclass(frozen=True)
class Message:
    """One iJw message type and where its fields are (paths of (namespace, element) steps)."""

    code: str  # jw305, jw307: also the delivery's source_format
    namespace: str
    berichtcode: str  # Header/BerichtCode
    kind: str  # the delivery kind (``intake.kinds``) its products become
    products: str  # Client/<products>/<product>
    product: str
    product_fields: dict[str, tuple[tuple[str, str], ...]]  # column -> path below one product

    @property
    def xsd(self) -> str:
        return f"{self.code.upper()}.xsd"


# Per message: header and client fields give every product row its provider, municipality and youth.
HEADER_FIELDS: dict[str, tuple[tuple[str, str], ...]] = {
    "aanbieder_agb": ((OWN, "Header"), (OWN, "Afzender")),
    "gemeentecode": ((OWN, "Header"), (OWN, "Ontvanger")),
    "bsn": ((OWN, "Client"), (OWN, "Bsn")),
    "geboortedatum": ((OWN, "Client"), (OWN, "Geboortedatum"), (BASIS, "Datum")),
}
NAME_PATH = ((OWN, "Client"), (OWN, "Naam"))  # read only for the identifier tripwire, never stored

_PRODUCT_CODE = {
    "toewijzingnummer": ((OWN, "ToewijzingNummer"),),
    "productcategorie": ((OWN, "Product"), (BASIS, "Categorie")),
    "productcode": ((OWN, "Product"), (BASIS, "Code")),
    "begindatum": ((OWN, "Begindatum"),),
}

JW305 = Message(
    code="jw305",
    namespace=NS_JW305,
    berichtcode="438",
    kind="start_zorg",
    products="StartProducten",
    product="StartProduct",
    product_fields=_PRODUCT_CODE | {"status_aanlevering": ((OWN, "StatusAanlevering"),)},
)
JW307 = Message(
    code="jw307",
    namespace=NS_JW307,
    berichtcode="440",
    kind="stop_zorg",
    products="StopProducten",
    product="StopProduct",
    product_fields=_PRODUCT_CODE | {
        "einddatum": ((OWN, "Einddatum"),),
        "reden_beeindiging": ((OWN, "RedenBeeindiging"),),
        "status_aanlevering": ((OWN, "StatusAanlevering"),),
    },
)

MESSAGES: dict[str, Message] = {m.namespace: m for m in (JW305, JW307)}


def tag(message: Message, step: tuple[str, str]) -> str:
    """The Clark-notation tag of one path step (``{namespace}Element``)."""
    where, name = step
    return f"{{{message.namespace if where == OWN else NS_BASIS}}}{name}"
