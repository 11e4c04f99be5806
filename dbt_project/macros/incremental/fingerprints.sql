{#
  Fingerprint-incremental models: stg_crm__customers (per CRM record) and
  customer_pii (per customer).

  Each of their rows is a function of a small set of input rows, its key's
  "partition" (a CRM record's delivered versions, a customer's golden-record
  candidates), but which partitions a day changes cannot be read from a load
  time alone: raw rows expire (retention) or are erased or redacted, and rows
  move between customers when identities merge or split. So every row
  carries the fingerprint of its partition, a count and the sum of the
  inputs' row_hash, and an incremental run fingerprints every partition
  again (one aggregate, no sort) and rebuilds only those whose fingerprint
  changed, appeared or disappeared. A false "changed" costs time only; a
  false "unchanged" needs two different sets with the same count and the
  same 64-bit hash sum.

  Settings a model's SQL reads (vars, seeds) go into the hash too, so a
  changed setting rebuilds what it changes. A change to the model's code
  still needs `make full-refresh`, as for every incremental model.

  It pays where rebuilding a partition costs much more than fingerprinting
  it. int_consent_history was tried twice (sessions 6 and 9) and stayed a
  table: a day changes the partitions of about a third of its 40M
  observations, and fingerprinting all of them cost the full run more than
  it saved the day (bench/RESULTS.md, session 9).
#}

{# True when `relation` has `column` (case-insensitive). #}
{% macro has_column(relation, column) -%}
    {{ return(column | lower in (adapter.get_columns_in_relation(relation) | map(attribute='name') | map('lower') | list)) }}
{%- endmacro %}

{#
  The keys of the partitions an incremental run must rebuild. A partition
  with no input rows any more is among them too; the model's post-hook
  deletes its rows (delete+insert replaces only the keys it writes).
  `current` is a relation or CTE with `key`, `count_column` and
  `fingerprint_column` for every partition that has input rows; the stored
  ones are read from {{ this }} (one row per key). A table built before the
  fingerprint column existed counts as all changed.
#}
{% macro changed_partitions(current, key, count_column, fingerprint_column) -%}
    {%- set stored_has_fingerprints = segments.has_column(this, fingerprint_column) %}
    select coalesce(current_partitions.{{ key }}, stored_partitions.{{ key }}) as {{ key }}
    from {{ current }} as current_partitions
    full outer join (
        select
            {{ key }},
            {%- if stored_has_fingerprints %}
            {{ count_column }},
            {{ fingerprint_column }}
            {%- else %}
            cast(null as {{ dbt.type_bigint() }}) as {{ count_column }},
            cast(null as decimal(38, 0)) as {{ fingerprint_column }}
            {%- endif %}
        from {{ this }}
    ) as stored_partitions
        on current_partitions.{{ key }} = stored_partitions.{{ key }}
    where current_partitions.{{ key }} is null
       or stored_partitions.{{ fingerprint_column }} is null
       or current_partitions.{{ count_column }} <> stored_partitions.{{ count_column }}
       or current_partitions.{{ fingerprint_column }} <> stored_partitions.{{ fingerprint_column }}
{%- endmacro %}
