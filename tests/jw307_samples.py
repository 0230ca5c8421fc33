"""Small hand-written iJw 3.2 messages for tests (JW307 stop, JW305 start); prefixes differ on purpose."""

VALID_JW307 = """<?xml version="1.0" encoding="UTF-8"?>
<jw:Bericht xmlns:jw="http://www.istandaarden.nl/ijw/3_2/jw307/schema" xmlns:b="http://www.istandaarden.nl/ijw/3_2/basisschema/schema">
  <jw:Header>
    <jw:BerichtCode>440</jw:BerichtCode>
    <jw:BerichtVersie>3</jw:BerichtVersie>
    <jw:BerichtSubversie>2</jw:BerichtSubversie>
    <jw:Afzender>{agb}</jw:Afzender>
    <jw:Ontvanger>0363</jw:Ontvanger>
    <jw:BerichtIdentificatie><b:Identificatie>MSG-1</b:Identificatie><b:Dagtekening>2025-03-01</b:Dagtekening></jw:BerichtIdentificatie>
    <jw:XsdVersie><b:BasisschemaXsdVersie>1.0.0</b:BasisschemaXsdVersie><b:BerichtXsdVersie>1.0.0</b:BerichtXsdVersie></jw:XsdVersie>
  </jw:Header>
  <jw:Client>
    <jw:Bsn>{bsn}</jw:Bsn>
    <jw:Geboortedatum><b:Datum>2011-04-17</b:Datum></jw:Geboortedatum>
    <jw:Geslacht>1</jw:Geslacht>
    <jw:Naam><b:Geslachtsnaam><b:Achternaam>Zwaneveld</b:Achternaam></b:Geslachtsnaam><b:Voorletters>JP</b:Voorletters></jw:Naam>
    <jw:StopProducten>
      <jw:StopProduct>
        <jw:ToewijzingNummer>700123</jw:ToewijzingNummer>
        <jw:Product><b:Categorie>45</b:Categorie><b:Code>45A01</b:Code></jw:Product>
        <jw:Begindatum>2024-09-01</jw:Begindatum>
        <jw:RedenBeeindiging>32</jw:RedenBeeindiging>
        <jw:Einddatum>2025-02-28</jw:Einddatum>
        <jw:StatusAanlevering>1</jw:StatusAanlevering>
      </jw:StopProduct>
      <jw:StopProduct>
        <jw:ToewijzingNummer>700124</jw:ToewijzingNummer>
        <jw:Begindatum>2024-10-01</jw:Begindatum>
        <jw:RedenBeeindiging>31</jw:RedenBeeindiging>
        <jw:Einddatum>2025-02-20</jw:Einddatum>
        <jw:StatusAanlevering>1</jw:StatusAanlevering>
      </jw:StopProduct>
    </jw:StopProducten>
  </jw:Client>
</jw:Bericht>
"""


def jw307(agb: str = "12345678", bsn: str = "111222333", products: list[dict] | None = None, gemeente: str = "0363") -> str:
    """The sample message; with ``products``, its StopProducten replaced by those (dicts of the XML fields)."""
    text = VALID_JW307.format(agb=agb, bsn=bsn).replace("<jw:Ontvanger>0363<", f"<jw:Ontvanger>{gemeente}<")
    if products is None:
        return text
    start, end = text.index("<jw:StopProducten>"), text.index("</jw:StopProducten>")
    body = "".join(
        "<jw:StopProduct>"
        f"<jw:ToewijzingNummer>{p['toewijzingnummer']}</jw:ToewijzingNummer>"
        f"<jw:Begindatum>{p['begindatum']}</jw:Begindatum>"
        f"<jw:RedenBeeindiging>{p['reden']}</jw:RedenBeeindiging>"
        f"<jw:Einddatum>{p['einddatum']}</jw:Einddatum>"
        f"<jw:StatusAanlevering>{p.get('status', '1')}</jw:StatusAanlevering>"
        "</jw:StopProduct>"
        for p in products
    )
    return text[: start + len("<jw:StopProducten>")] + body + text[end:]


# A start message as another sender writes it: default namespace for the message, ``ijw`` for the basisschema.
VALID_JW305 = """<?xml version="1.0" encoding="UTF-8"?>
<Bericht xmlns="http://www.istandaarden.nl/ijw/3_2/jw305/schema" xmlns:ijw="http://www.istandaarden.nl/ijw/3_2/basisschema/schema">
  <Header>
    <BerichtCode>438</BerichtCode>
    <BerichtVersie>3</BerichtVersie>
    <BerichtSubversie>2</BerichtSubversie>
    <Afzender>{agb}</Afzender>
    <Ontvanger>{gemeente}</Ontvanger>
    <BerichtIdentificatie><ijw:Identificatie>START-1</ijw:Identificatie><ijw:Dagtekening>2022-03-05</ijw:Dagtekening></BerichtIdentificatie>
    <XsdVersie><ijw:BasisschemaXsdVersie>1.0.0</ijw:BasisschemaXsdVersie><ijw:BerichtXsdVersie>1.0.0</ijw:BerichtXsdVersie></XsdVersie>
  </Header>
  <Client>
    <Bsn>{bsn}</Bsn>
    <Geboortedatum><ijw:Datum>{birth}</ijw:Datum></Geboortedatum>
    <Geslacht>2</Geslacht>
    <Naam><ijw:Geslachtsnaam><ijw:Achternaam>Zwaneveld</ijw:Achternaam></ijw:Geslachtsnaam><ijw:Voorletters>M</ijw:Voorletters></Naam>
    <StartProducten>{products}</StartProducten>
  </Client>
</Bericht>
"""


def jw305(agb: str = "12345678", bsn: str = "111222333", products: list[dict] | None = None, gemeente: str = "0363",
          birth: str = "2011-04-17") -> str:
    """A JW305 start message; ``products`` are dicts with toewijzingnummer, begindatum and optionally
    categorie, code, ingangsdatum and status (default: one product, 2022-03-01)."""
    products = products or [{"toewijzingnummer": 800001, "begindatum": "2022-03-01", "categorie": "45", "code": "45A01"}]
    body = "".join(
        "<StartProduct>"
        f"<ToewijzingNummer>{p['toewijzingnummer']}</ToewijzingNummer>"
        + (f"<Product><ijw:Categorie>{p['categorie']}</ijw:Categorie>"
           + (f"<ijw:Code>{p['code']}</ijw:Code>" if "code" in p else "") + "</Product>" if "categorie" in p else "")
        + (f"<ToewijzingIngangsdatum>{p['ingangsdatum']}</ToewijzingIngangsdatum>" if "ingangsdatum" in p else "")
        + f"<Begindatum>{p['begindatum']}</Begindatum>"
        f"<StatusAanlevering>{p.get('status', '1')}</StatusAanlevering>"
        "</StartProduct>"
        for p in products
    )
    return VALID_JW305.format(agb=agb, bsn=bsn, gemeente=gemeente, birth=birth, products=body)
