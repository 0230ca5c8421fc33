"""Bad input to plant in sample deliveries: one defect per row, each named by its reject reason code.

The generator records what it planted (the truth file), so a test can hold the pipeline to exact counts.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from rmj_dagster.generate.styles import Style

# reason code -> kinds it can be planted in (exact_duplicate and probleemafname_inconsistent are special)
ROW_DEFECTS = {
    "bsn_elfproef": ("cem", "stopzorg", "doelen"),
    "bsn_invalid_format": ("cem", "stopzorg", "doelen"),
    "agb_invalid": ("cem", "stopzorg", "doelen"),
    "gemeentecode_unknown": ("cem", "stopzorg", "doelen"),
    "gemeentecode_out_of_region": ("cem", "stopzorg", "doelen"),
    "toewijzingnummer_invalid": ("cem", "stopzorg", "doelen"),
    "date_in_future": ("cem", "stopzorg", "doelen"),
    "vragenlijst_unknown": ("cem",),
    "answer_out_of_range": ("cem",),
    "end_before_begin": ("stopzorg",),
    "reden_beeindiging_unknown": ("stopzorg",),
    "gas_score_out_of_range": ("doelen",),
}
DATE_COLUMN = {"cem": "invuldatum", "stopzorg": "einddatum", "doelen": "meetdatum"}


def plant(row: dict[str, str], kind: str, reason: str, rng: random.Random, style: Style, today: date) -> None:
    """Change ``row`` (CSV text values) so that exactly ``reason`` applies."""
    if reason == "bsn_elfproef":
        digits = row["bsn"].zfill(9)
        row["bsn"] = digits[:8] + str((int(digits[8]) + rng.randint(1, 9)) % 10)
    elif reason == "bsn_invalid_format":
        row["bsn"] = rng.choice(["12345678X", "1234-5678", "1234567890"])
    elif reason == "agb_invalid":
        row["aanbieder_agb"] = row["aanbieder_agb"][:6]
    elif reason == "gemeentecode_unknown":
        row["gemeentecode"] = "9999"
    elif reason == "gemeentecode_out_of_region":
        row["gemeentecode"] = "0599"  # Rotterdam: a real municipality, not the region's
    elif reason == "toewijzingnummer_invalid":
        row["toewijzingnummer"] = "T-" + row["toewijzingnummer"]
    elif reason == "date_in_future":
        row[DATE_COLUMN[kind]] = style.day(today + timedelta(days=rng.randint(30, 300)))
    elif reason == "vragenlijst_unknown":
        row["vragenlijst"] = "OUDERS_TUSSENTIJDS"
    elif reason == "answer_out_of_range":
        row[f"q0{rng.randint(1, 8)}"] = str(rng.choice([0, 6, 7, 8]))
    elif reason == "end_before_begin":
        row["einddatum"], row["begindatum"] = row["begindatum"], row["einddatum"]
    elif reason == "reden_beeindiging_unknown":
        row["reden_beeindiging"] = "99"
    elif reason == "gas_score_out_of_range":
        row["gas_score"] = rng.choice(["3", "-3", "+5"])
    else:
        raise ValueError(f"cannot plant {reason}")


def choose(kind: str, rng: random.Random) -> str:
    return rng.choice([reason for reason, kinds in ROW_DEFECTS.items() if kind in kinds])


# Whole files that must be quarantined: (file name, bytes, reason code)
def bad_files(rng: random.Random, agb: str) -> list[tuple[str, bytes, str]]:
    cem_header = "aanbieder_agb;bsn;geboortedatum;gemeentecode;toewijzingnummer;vragenlijst;invuldatum\n"
    return [
        (f"cem_{agb}_leeg.csv", b"", "empty_file"),
        ("export_onbekend.csv", b"klantnummer;naam;bedrag\n1;x;10\n", "unknown_kind"),
        (f"doelen_{agb}_kapot.csv", b"aanbieder_agb;bsn;gemeentecode;toewijzingnummer;gas_score\n1;2;3;4;5\n", "missing_required_column"),
        (f"cem_{agb}_dubbel_id.csv", cem_header.replace("bsn", "bsn;pseudoniem").encode(), "mixed_identity"),
        (f"JW307_{agb}_afgebroken.xml", b"<?xml version='1.0'?><Bericht xmlns='http://www.istandaarden.nl/ijw/3_2/jw307/schema'><Header><BerichtCode>440", "xml_not_well_formed"),
        (f"JW307_{agb}_ongeldig.xml", b"<?xml version='1.0'?><Bericht xmlns='http://www.istandaarden.nl/ijw/3_2/jw307/schema'><Header/></Bericht>", "xml_not_valid_jw307"),
        (f"cem_{agb}_utf16.csv", "\ufeff".encode("utf-16-le") + cem_header.encode("utf-16-le"), "unreadable_encoding"),
    ]
