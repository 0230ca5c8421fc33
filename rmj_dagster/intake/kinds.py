"""The delivery kinds: which columns each must and may carry (delivery contract v1).

One vocabulary from kind code to table to asset: kind ``stop_zorg`` lands in ``pseudo.stop_zorg`` through
asset ``pseudonymised_stop_zorg`` and is typed in ``staging.stg_stop_zorg``. ``start_zorg`` (JW305 start
messages) has no CSV form, so no header signature.
"""

from __future__ import annotations

from dataclasses import dataclass

IDENTITY_COLUMNS = ("bsn", "pseudoniem")


@dataclass(frozen=True)
class Kind:
    name: str
    signature: str | None  # a column only this kind has: how a CSV of it is recognised from the header
    required: tuple[str, ...]
    optional: tuple[str, ...]
    birth_date: bool  # carries geboortedatum (reduced to year-month by the TTP step)
    event_date: str | None  # the date the age is computed at

    @property
    def columns(self) -> tuple[str, ...]:
        return self.required + self.optional

    @property
    def table(self) -> str:
        """The pseudo table the TTP step writes."""
        return f"pseudo.{self.name}"

    @property
    def asset(self) -> str:
        """The TTP step's asset that writes the kind's pseudo table."""
        return f"pseudonymised_{self.name}"


RESPONSES = Kind(
    name="responses",
    signature="vragenlijst",
    required=("aanbieder_agb", "geboortedatum", "gemeentecode", "toewijzingnummer", "vragenlijst", "invuldatum"),
    optional=tuple(f"q{i:02d}" for i in range(1, 11)) + ("geen_inzage_hulpverlener",),
    birth_date=True,
    event_date="invuldatum",
)
STOP_ZORG = Kind(
    name="stop_zorg",
    signature="reden_beeindiging",
    required=("aanbieder_agb", "geboortedatum", "gemeentecode", "toewijzingnummer", "begindatum", "einddatum", "reden_beeindiging"),
    optional=("productcategorie", "productcode", "status_aanlevering"),
    birth_date=True,
    event_date="begindatum",
)
GOALS = Kind(
    name="goals",
    signature="gas_score",
    required=("aanbieder_agb", "gemeentecode", "toewijzingnummer", "trajecttype", "meetdatum", "doel_nr", "gas_score"),
    optional=("gewicht", "probleemafname"),
    birth_date=False,
    event_date=None,
)

START_ZORG = Kind(
    name="start_zorg",
    signature=None,  # JW305 messages only, recognised by their namespace
    required=("aanbieder_agb", "geboortedatum", "gemeentecode", "toewijzingnummer", "begindatum"),
    optional=("productcategorie", "productcode", "status_aanlevering"),
    birth_date=True,
    event_date="begindatum",
)

KINDS: dict[str, Kind] = {k.name: k for k in (RESPONSES, STOP_ZORG, GOALS, START_ZORG)}


def kind_of_header(columns: list[str]) -> Kind | None:
    """Recognise the kind from normalised header names (content, never the file name)."""
    matches = [k for k in KINDS.values() if k.signature is not None and k.signature in columns]
    return matches[0] if len(matches) == 1 else None
