-- Time-decayed engagement per customer as of var('as_of_date').
-- Every engagement counts with the weight it has in engagement_score
-- (session 1, page view 0.1, email open 0.5, email click 2), multiplied by
-- 0.5 ^ (age in days / var('engagement_half_life_days')): an engagement one
-- half-life old counts half. Only the last var('engagement_decay_lookback_days')
-- days are read (older ones weigh < 0.5^(lookback / half-life), about 0.0002
-- with the defaults). Also the last date the customer showed up on their own
-- (a session or an email click; opens are sent by mail clients and do not count).

{%- set half_life = var('engagement_half_life_days', 30) %}
{%- set lookback = var('engagement_decay_lookback_days', 365) %}
{%- if half_life is not number or half_life <= 0 %}
    {{ exceptions.raise_compiler_error("var engagement_half_life_days must be a positive number of days, got '" ~ half_life ~ "' [rule: engagement_half_life_days]") }}
{%- endif %}
{%- if lookback is not number or lookback < 1 %}
    {{ exceptions.raise_compiler_error("var engagement_decay_lookback_days must be a positive number of days, got '" ~ lookback ~ "' [rule: engagement_decay_lookback_days]") }}
{%- endif %}

with

sessions as (
    select * from {{ ref('int_sessions_resolved') }}
    where customer_key is not null
      and {{ in_window('session_date', lookback | int) }}
),

nodes as (
    select * from {{ ref('int_identity_nodes_resolved') }}
    where customer_key is not null
),

-- Email opens and clicks per identifier and day (incremental, identity-free),
-- resolved like int_customer_activity_features: user_id, else anonymous_id,
-- else email.
email_days as (
    select
        {{ resolved_customer_key() }} as customer_key,
        email_days.event_date,
        email_days.email_opens,
        email_days.email_clicks
    from {{ ref('int_email_engagement_daily') }} as email_days
    {{ join_identity_nodes('email_days') }}
    where {{ in_window('email_days.event_date', lookback | int) }}
),

email_events as (
    select customer_key, event_date, 'email_open' as event_type, email_opens as events
    from email_days
    where customer_key is not null and email_opens > 0
    union all
    select customer_key, event_date, 'email_click' as event_type, email_clicks as events
    from email_days
    where customer_key is not null and email_clicks > 0
),

engagements as (
    select
        customer_key,
        session_date as engaged_on,
        1.0 + 0.1 * page_views as weight,
        true as is_self_initiated
    from sessions
    union all
    select
        customer_key,
        event_date as engaged_on,
        events * case when event_type = 'email_click' then 2.0 else 0.5 end as weight,
        event_type = 'email_click' as is_self_initiated
    from email_events
),

decayed as (
    select
        customer_key,
        engaged_on,
        is_self_initiated,
        -- the half-life as a double: Spark reads 14.0 as decimal(3, 1) and its
        -- integer / decimal quotient keeps only 6 decimals
        weight * power(0.5, {{ dbt.datediff('engaged_on', as_of_date(), 'day') }}
                            / cast({{ half_life | float }} as {{ segments.type_double() }})) as decayed_weight
    from engagements
),

final as (
    select
        customer_key,
        -- rounded: a float sum depends on the order rows arrive in, and an
        -- incremental build must equal a full refresh (tests/dbt/test_incremental.py);
        -- via decimal(18, 9): rounding a double half-way at the 7th decimal goes
        -- either way depending on the engine (Spark rounds the exact binary value)
        cast(round(cast(sum(decayed_weight) as decimal(18, 9)), 6) as {{ segments.type_double() }}) as engagement_decayed,
        max(case when is_self_initiated then engaged_on end) as last_engaged_on
    from decayed
    group by customer_key
)

select * from final
