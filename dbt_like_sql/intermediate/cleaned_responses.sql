-- Accepted CEM+ responses, one per response; a later delivery of the same response wins.
-- group: models
-- grain: aanbieder_agb, pseudoniem?, toewijzingnummer, vragenlijst, invuldatum
-- incremental by key: aanbieder_agb, toewijzingnummer
-- A response is (provider, pseudonym, toewijzingnummer, questionnaire, invuldatum). Of several accepted
-- rows with that key the latest in delivery order wins: received_at, then delivery_id, then source_row
-- within one delivery. Rows of an unknown BSN (no pseudonym) are accepted but never linked: each stays its
-- own response (its delivery and source row stand in for the pseudonym in the key).
with accepted_responses as (  -- noqa: ST03
    -- read by rmj_latest_of_key('accepted_responses') below, by name: sqlfluff does not see it read
    select
        *,
        (
            aanbieder_agb,
            coalesce(pseudoniem, 'row ' || source_row || ' of ' || delivery_id),
            toewijzingnummer,
            vragenlijst,
            invuldatum
        ) as record_key
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
-- the latest row of each response
from rmj_latest_of_key('accepted_responses')
