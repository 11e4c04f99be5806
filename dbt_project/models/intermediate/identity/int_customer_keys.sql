{{ config(
    materialized='incremental',
    unique_key='anchor_node_id',
    incremental_strategy='delete+insert',
    full_refresh=false,
) }}
-- The customer key registry: every anchor identifier (CRM record or order)
-- of every customer with the customer_key it belongs to. Incremental and
-- never rebuilt by --full-refresh: it is the memory that keeps keys stable
-- across runs.
--
-- Each run, for every current customer (component with a CRM record or
-- order):
--   * its anchors' keys from the last run are looked up;
--   * a previous key stays with the component that holds most of its
--     anchors (ties: smallest component_id); the other parts of a split get
--     new keys;
--   * a component holding several previous keys (a merge) keeps the oldest
--     (first_assigned_at, then the smallest key);
--   * a component without a previous key gets 'c_' || md5 of its smallest
--     crm_id, else its smallest email, else 'order:' || smallest order id
--     (the key of the first run), or md5('split:' || that) when that key
--     is still held by another customer.
-- previous_customer_key keeps the anchor's key before the run that last
-- wrote its row (only changed anchors are written, see final);
-- int_customer_key_changes records merges and splits from the rows of
-- this run.

with

-- the identifiers that can anchor or key a customer, with their component
-- (component_key: the smallest node_key, i.e. smallest node_id, of it)
components as (
    select
        nodes.node_id,
        nodes.node_type,
        nodes.node_value,
        nodes.is_crm_record,
        components.component_key
    from {{ ref('int_identity_nodes') }} as nodes
    inner join {{ ref('int_identity_components') }} as components
        on nodes.node_key = components.node_key
    where nodes.node_type in ('crm', 'email', 'order')
),

per_component as (
    select
        component_key,
        min(case when node_type = 'crm' then node_value end) as min_crm_id,
        min(case when node_type = 'email' then node_value end) as min_email,
        min(case when node_type = 'order' then node_value end) as min_order_id
    from components
    group by component_key
    having sum(case when is_crm_record or node_type = 'order' then 1 else 0 end) > 0
),

-- component_id: the node_id of the component's smallest node
component_ids as (
    select
        per_component.component_key,
        nodes.node_id as component_id
    from per_component
    inner join {{ ref('int_identity_nodes') }} as nodes
        on per_component.component_key = nodes.node_key
),

anchors as (
    select
        components.node_id as anchor_node_id,
        components.component_key
    from components
    inner join per_component
        on components.component_key = per_component.component_key
    where components.node_type in ('crm', 'order')
),

previous as (
    {%- if is_incremental() %}
    select anchor_node_id, component_id, customer_key, key_basis, first_assigned_at
    from {{ this }}
    {%- else %}
    select
        cast(null as {{ dbt.type_string() }}) as anchor_node_id,
        cast(null as {{ dbt.type_string() }}) as component_id,
        cast(null as {{ dbt.type_string() }}) as customer_key,
        cast(null as {{ dbt.type_string() }}) as key_basis,
        cast(null as {{ dbt.type_timestamp() }}) as first_assigned_at
    where 1 = 0
    {%- endif %}
),

previous_keys as (
    select customer_key, min(first_assigned_at) as key_since, min(key_basis) as key_basis
    from previous
    group by customer_key
),

-- how many anchors of each previous key each component holds
claims as (
    select
        anchors.component_key,
        previous.customer_key,
        count(*) as anchor_count
    from anchors
    inner join previous
        on anchors.anchor_node_id = previous.anchor_node_id
    group by anchors.component_key, previous.customer_key
),

-- split: a previous key stays with the component holding most of its
-- anchors (ties: the smaller component_key, i.e. the smaller component_id)
key_owner as (
    select component_key, customer_key
    from (
        select
            claims.*,
            row_number() over (
                partition by customer_key order by anchor_count desc, component_key
            ) as owner_rank
        from claims
    ) as ranked
    where owner_rank = 1
),

-- merge: a component owning several previous keys keeps the oldest
kept as (
    select component_key, customer_key, key_basis, key_since
    from (
        select
            key_owner.component_key,
            key_owner.customer_key,
            previous_keys.key_basis,
            previous_keys.key_since,
            row_number() over (
                partition by key_owner.component_key
                order by previous_keys.key_since, key_owner.customer_key
            ) as keep_rank
        from key_owner
        inner join previous_keys
            on key_owner.customer_key = previous_keys.customer_key
    ) as ranked
    where keep_rank = 1
),

derived as (
    select
        component_key,
        coalesce(min_crm_id, min_email, 'order:' || min_order_id) as basis_value,
        case
            when min_crm_id is not null then 'crm_id'
            when min_email is not null then 'email'
            else 'order_id'
        end as key_basis
    from per_component
),

assigned as (
    select
        derived.component_key,
        case
            when kept.customer_key is not null then kept.customer_key
            when previous_keys.customer_key is not null
                then 'c_' || {{ dbt.hash("'split:' || derived.basis_value") }}
            else 'c_' || {{ dbt.hash("derived.basis_value") }}
        end as customer_key,
        coalesce(kept.key_basis, derived.key_basis) as key_basis,
        coalesce(kept.key_since, current_timestamp) as first_assigned_at
    from derived
    left join kept
        on derived.component_key = kept.component_key
    left join previous_keys
        on previous_keys.customer_key = 'c_' || {{ dbt.hash("derived.basis_value") }}
),

resolved as (
    select
        anchors.anchor_node_id,
        component_ids.component_id,
        assigned.customer_key,
        assigned.key_basis,
        cast(assigned.first_assigned_at as {{ dbt.type_timestamp() }}) as first_assigned_at,
        previous.component_id as previous_component_id,
        previous.customer_key as previous_customer_key,
        previous.key_basis as previous_key_basis,
        previous.first_assigned_at as previous_first_assigned_at
    from anchors
    inner join assigned
        on anchors.component_key = assigned.component_key
    inner join component_ids
        on anchors.component_key = component_ids.component_key
    left join previous
        on anchors.anchor_node_id = previous.anchor_node_id
),

-- only anchors that are new or whose component, key, key basis or key date
-- changed are written (delete+insert on anchor_node_id): the registry
-- already holds every other anchor with exactly these values, and only its
-- run columns (previous_customer_key, dbt_invocation_id, assigned_at) would
-- change, so they tell when the anchor last changed. At `large` this spares
-- rewriting 3.6M rows a day (bench/RESULTS.md, session 5).
final as (
    select
        anchor_node_id,
        component_id,
        customer_key,
        key_basis,
        first_assigned_at,
        previous_customer_key,
        '{{ invocation_id }}' as dbt_invocation_id,
        cast(current_timestamp as {{ dbt.type_timestamp() }}) as assigned_at
    from resolved
    -- a new anchor has no previous values: distinct from its (non-null) new ones
    where previous_component_id is distinct from component_id
       or previous_customer_key is distinct from customer_key
       or previous_key_basis is distinct from key_basis
       or previous_first_assigned_at is distinct from first_assigned_at
)

select * from final
