"""What a model's step reports after the model is built, beyond its table's metadata (by model name)."""

import dagster as dg


def count_client_choice(context: dg.AssetExecutionContext, con) -> dict[str, object]:
    """How many responses carry the client's ``geen_inzage_hulpverlener`` choice (no provider may see
    them; no client-level view is ever produced, so the count is what the choice shows up as)."""
    chosen = con.execute(
        "select count(*) filter (where geen_inzage_hulpverlener) from intermediate.cleaned_responses"
    ).fetchone()[0]
    return {"responses_geen_inzage_hulpverlener": int(chosen or 0)}


AFTER_BUILD = {
    "cleaned_responses": count_client_choice,
}
