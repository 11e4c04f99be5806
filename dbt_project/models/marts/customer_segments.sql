-- Segments per customer as of var('as_of_date'):
-- - segment: the primary segment, the first configured rule (vars.segment_rules
--   in dbt_project.yml, by priority) whose expression is true for the
--   customer's profile row (macro segment_case);
-- - tags: every configured tag (vars.segment_tags) that applies (macro
--   segment_tags_list);
-- - RFM quintile scores and the RFM segment map, lifecycle stage, time-decayed
--   engagement and churn risk. Definitions: docs/segments.md.

{%- set onboarding_days = var('lifecycle_onboarding_days', 30) | int %}
{%- set active_days = var('lifecycle_active_days', 90) | int %}
{%- set at_risk_days = var('lifecycle_at_risk_days', 180) | int %}
{%- set dormant_days = var('lifecycle_dormant_days', 365) | int %}
{%- if not (0 < onboarding_days and 0 < active_days < at_risk_days < dormant_days) %}
    {{ exceptions.raise_compiler_error("vars lifecycle_*_days must be positive with lifecycle_active_days < lifecycle_at_risk_days < lifecycle_dormant_days, got " ~ [onboarding_days, active_days, at_risk_days, dormant_days] ~ " [rule: lifecycle_thresholds]") }}
{%- endif %}
{%- set max_inactive_days = var('churn_risk_max_inactive_days', 730) | int %}

with

profiles as (
    select * from {{ ref('customer_profile') }}
),

engagement as (
    select * from {{ ref('int_customer_engagement_decayed') }}
),

assigned as (
    select
        customer_key,
        {{ segment_case() }},
        {{ segment_tags_list() }} as tags
    from profiles
),

-- RFM is scored among customers with at least one completed order. Each
-- score is the quintile of the customer's rank: 1 + floor(5 * (rank - 1) /
-- (buyers - 1)), capped at 5, i.e. the percent_rank cut in fifths (exact
-- integer arithmetic; ties share the lower score). 5 = best: most recent
-- last order, most lifetime orders, most lifetime revenue.
buyers as (
    select
        customer_key,
        rank() over (order by days_since_last_order desc) as recency_rank,
        rank() over (order by lifetime_orders) as frequency_rank,
        rank() over (order by lifetime_revenue) as monetary_rank,
        count(*) over () as buyer_count
    from profiles
    where lifetime_orders > 0
),

rfm_scores as (
    select
        customer_key,
        {%- for dimension in ['recency', 'frequency', 'monetary'] %}
        cast(case
            when buyer_count = 1 then 1
            else least(5, 1 + floor(5.0 * ({{ dimension }}_rank - 1) / (buyer_count - 1)))
        end as integer) as rfm_{{ dimension }}_score{{ "," if not loop.last }}
        {%- endfor %}
    from buyers
),

-- The classic RFM map on R and FM = round-half-up average of F and M. Every
-- one of the 25 (R, FM) cells has exactly one segment:
--   R\FM  1                2                  3                  4          5
--   5     new_customers    potential_loyalist potential_loyalist champions  champions
--   4     promising        potential_loyalist potential_loyalist loyal      loyal
--   3     about_to_sleep   about_to_sleep     need_attention     loyal      loyal
--   2     hibernating      hibernating        at_risk            at_risk    cannot_lose
--   1     lost             hibernating        at_risk            at_risk    cannot_lose
rfm_mapped as (
    select
        customer_key,
        rfm_recency_score,
        rfm_frequency_score,
        rfm_monetary_score,
        case
            when r = 5 and fm >= 4 then 'champions'
            when r >= 3 and fm >= 4 then 'loyal'
            when r >= 4 and fm >= 2 then 'potential_loyalist'
            when r = 5 then 'new_customers'
            when r = 4 then 'promising'
            when r = 3 and fm = 3 then 'need_attention'
            when r = 3 then 'about_to_sleep'
            when fm = 5 then 'cannot_lose'
            when fm >= 3 then 'at_risk'
            when r = 1 and fm = 1 then 'lost'
            else 'hibernating'
        end as rfm_segment
    from (
        select
            rfm_scores.*,
            rfm_recency_score as r,
            cast(floor((rfm_frequency_score + rfm_monetary_score + 1) / 2.0) as integer) as fm
        from rfm_scores
    ) as scored
),

activity as (
    select
        profiles.customer_key,
        profiles.lifetime_orders,
        profiles.orders_365d,
        profiles.days_since_first_order,
        {{ dbt.datediff('profiles.signup_date', 'profiles.as_of_date', 'day') }} as days_since_signup,
        coalesce(engagement.engagement_decayed, 0) as engagement_decayed,
        -- days since the customer last showed up: an order, a session or an email click
        case
            when engagement.last_engaged_on is null then profiles.days_since_last_order
            when profiles.days_since_last_order is null
                then {{ dbt.datediff('engagement.last_engaged_on', 'profiles.as_of_date', 'day') }}
            else least(profiles.days_since_last_order,
                       {{ dbt.datediff('engagement.last_engaged_on', 'profiles.as_of_date', 'day') }})
        end as days_since_last_activity,
        profiles.as_of_date
    from profiles
    left join engagement
        on profiles.customer_key = engagement.customer_key
),

lifecycle as (
    select
        customer_key,
        engagement_decayed,
        days_since_last_activity,
        case
            when days_since_first_order >= 0 and days_since_first_order < {{ onboarding_days }} then 'onboarding'
            when lifetime_orders = 0 and days_since_signup >= 0 and days_since_signup < {{ onboarding_days }}
                then 'onboarding'
            when days_since_last_activity < {{ active_days }} then 'active'
            when days_since_last_activity < {{ at_risk_days }} then 'at_risk'
            when days_since_last_activity < {{ dormant_days }} then 'dormant'
            else 'churned'
        end as lifecycle_stage,
        -- churn risk: a logistic curve over inactivity, recent orders and
        -- decayed engagement (coefficients are vars; docs/segments.md)
        1.0 / (1.0 + exp(-1.0 * (
            {{ var('churn_risk_intercept', -2.0) | float }}
            + {{ var('churn_risk_per_90_days_inactive', 1.5) | float }}
                * least(coalesce(days_since_last_activity, {{ max_inactive_days }}), {{ max_inactive_days }}) / 90.0
            - {{ var('churn_risk_per_log_orders_365d', 0.8) | float }} * ln(1.0 + orders_365d)
            - {{ var('churn_risk_per_log_engagement', 0.5) | float }} * ln(1.0 + engagement_decayed)
        ))) as churn_probability
    from activity
),

final as (
    select
        assigned.customer_key,
        assigned.segment,
        assigned.segment_priority,
        assigned.segment_rule,
        assigned.tags,
        rfm_mapped.rfm_recency_score,
        rfm_mapped.rfm_frequency_score,
        rfm_mapped.rfm_monetary_score,
        cast(case
            when rfm_mapped.customer_key is null then null
            else {{ dbt.concat(['cast(rfm_mapped.rfm_recency_score as ' ~ dbt.type_string() ~ ')',
                                'cast(rfm_mapped.rfm_frequency_score as ' ~ dbt.type_string() ~ ')',
                                'cast(rfm_mapped.rfm_monetary_score as ' ~ dbt.type_string() ~ ')']) }}
        end as {{ dbt.type_string() }}) as rfm_score,
        coalesce(rfm_mapped.rfm_segment, 'no_purchase') as rfm_segment,
        lifecycle.lifecycle_stage,
        -- round via decimal: Postgres has no round(double precision, int)
        cast(round(cast(lifecycle.engagement_decayed as decimal(18, 6)), 4) as {{ segments.type_double() }}) as engagement_decayed,
        lifecycle.days_since_last_activity,
        cast(round(cast(lifecycle.churn_probability as decimal(18, 6)), 4) as {{ segments.type_double() }}) as churn_risk,
        profiles.as_of_date
    from assigned
    inner join profiles
        on assigned.customer_key = profiles.customer_key
    left join rfm_mapped
        on assigned.customer_key = rfm_mapped.customer_key
    left join lifecycle
        on assigned.customer_key = lifecycle.customer_key
)

select * from final
