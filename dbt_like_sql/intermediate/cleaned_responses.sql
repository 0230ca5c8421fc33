-- Accepted CEM+ responses, one per response; a later delivery of the same response wins.
-- group: models
-- grain: aanbieder_agb, pseudoniem?, toewijzingnummer, vragenlijst, invuldatum
-- incremental by key: aanbieder_agb, toewijzingnummer
-- A response is (provider, pseudonym, toewijzingnummer, questionnaire, invuldatum). Of several accepted
-- rows with that key the latest in delivery order wins: received_at, then delivery_id, then source_row
-- within one delivery. Rows of an unknown BSN (no pseudonym) are accepted but never linked: each stays its
-- own response (its delivery and source row stand in for the pseudonym in the key).
with responses_latest_first as (
    select
        *,
        rmj_latest_first(
            (
                aanbieder_agb,
                coalesce(pseudoniem, 'row ' || source_row || ' of ' || delivery_id),
                toewijzingnummer,
                vragenlijst,
                invuldatum
            ),
            received_at, delivery_id, source_row
        ) as recency
    from staging.stg_responses
    where reject_reason is null
)

select
    delivery_id,
    aanbieder_agb,
    pseudoniem,
    key_label,
    gemeentecode,
    subregio,
    toewijzingnummer,
    vragenlijst,
    respondent_group,
    care_type,
    invuldatum,
    leeftijd,
    q01, q02, q03, q04, q05, q06, q07, q08, q09, q10,
    geen_inzage_hulpverlener
from responses_latest_first
where recency = 1
