-- Accepted CEM+ responses, one per response; a later delivery of the same response wins.
-- group: clean
-- A response is (provider, pseudonym, toewijzingnummer, questionnaire, date). Rows without a pseudonym
-- (BSN unknown) are never merged with one another: each stays its own response.
with accepted as (
    select *
    from staging.stg_cem_responses
    where reject_reason is null
),

ranked as (
    select
        *,
        row_number() over (
            partition by aanbieder_agb, coalesce(pseudoniem, delivery_id || ':' || source_row), toewijzingnummer, vragenlijst, invuldatum
            order by received_at desc, delivery_id desc, source_row desc
        ) as recency
    from accepted
)

select
    delivery_id, aanbieder_agb, pseudoniem, key_label, gemeentecode, subregio, toewijzingnummer,
    vragenlijst, respondent_group, care_type, invuldatum, leeftijd,
    q01, q02, q03, q04, q05, q06, q07, q08, q09, q10, geen_inzage_hulpverlener
from ranked
where recency = 1
