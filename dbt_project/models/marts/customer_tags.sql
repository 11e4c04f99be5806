-- One row per customer and tag that applies as of var('as_of_date'): the
-- non-exclusive tags of vars.segment_tags (dbt_project.yml), compiled by the
-- segment_tags_union macro. A customer can hold several tags or none.

with

profiles as (
    select * from {{ ref('customer_profile') }}
),

tagged as (
    {{ segment_tags_union('profiles') }}
),

final as (
    select
        customer_key,
        tag,
        as_of_date
    from tagged
)

select * from final
