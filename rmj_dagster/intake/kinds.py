"""The three delivery kinds: which columns a CSV of each kind must and may carry (delivery contract v1)."""

from __future__ import annotations

from dataclasses import dataclass

IDENTITY_COLUMNS = ("bsn", "pseudoniem")


@dataclass(frozen=True)
class Kind:
    name: str
    table: str  # the pseudo table the TTP step writes
    signature: str  # a column only this kind has: how the kind is recognised from the header
    required: tuple[str, ...]
    optional: tuple[str, ...]
    birth_date: bool  # carries geboortedatum (reduced to year-month by the TTP step)
    event_date: str | None  # the date the age is computed at

    @property
    def columns(self) -> tuple[str, ...]:
        return self.required + self.optional


RESPONSES = Kind(
    name="responses",
    table="pseudo.responses",
    signature="vragenlijst",
    required=("aanbieder_agb", "geboortedatum", "gemeentecode", "toewijzingnummer", "vragenlijst", "invuldatum"),
    optional=tuple(f"q{i:02d}" for i in range(1, 11)) + ("geen_inzage_hulpverlener",),
    birth_date=True,
    event_date="invuldatum",
)
STOP_ZORG = Kind(
    name="stop_zorg",
    table="pseudo.stop_zorg",
    signature="reden_beeindiging",
    required=("aanbieder_agb", "geboortedatum", "gemeentecode", "toewijzingnummer", "begindatum", "einddatum", "reden_beeindiging"),
    optional=("productcategorie", "productcode", "status_aanlevering"),
    birth_date=True,
    event_date="begindatum",
)
GOALS = Kind(
    name="goals",
    table="pseudo.goals",
    signature="gas_score",
    required=("aanbieder_agb", "gemeentecode", "toewijzingnummer", "trajecttype", "meetdatum", "doel_nr", "gas_score"),
    optional=("gewicht", "probleemafname"),
    birth_date=False,
    event_date=None,
)

KINDS: dict[str, Kind] = {k.name: k for k in (RESPONSES, STOP_ZORG, GOALS)}


def kind_of_header(columns: list[str]) -> Kind | None:
    """Recognise the kind from normalised header names (content, never the file name)."""
    matches = [k for k in KINDS.values() if k.signature in columns]
    return matches[0] if len(matches) == 1 else None
