{#
  Helpers for the incremental models (staging of events and order lines, and
  the identity-free session / order / email aggregates).

  The predicate is the loader's own metadata: every raw row carries
  _loaded_at, stamped once per file when the loader inserts it, so rows
  loaded after the newest one a model has already seen are exactly the files
  loaded since its last build. The event date is never used to find new
  data, so a late event (an old date in a new file) flows through.

  Full refresh: `make full-refresh` (dbt build --full-refresh).
#}

{# The newest raw _loaded_at a model has already processed (its own column). #}
{% macro loaded_watermark(column='_loaded_at') -%}
    (select coalesce(max({{ column }}), cast('1900-01-01 00:00:00' as {{ dbt.type_timestamp() }})) from {{ this }})
{%- endmacro %}

{#
  Session ids an incremental run must recompute: those of events loaded after
  `watermark` (the consumer's own), plus the session a re-delivered event
  belonged to in the version the consumer last saw, so an event that moved to
  another session (or lost its session) leaves the old one.

  That old session is the staged previous_session_id (the session of the
  delivery the event's current one superseded; stg_events__web_events looks
  it up by event_id when it stages the batch), read from the staged rows
  loaded after the watermark only: a key lookup, not a scan of the raw table.

  It is the version the consumer saw only if that previous delivery was
  loaded at or before the watermark. An event delivered again more than once
  since the consumer's last build (in two files of one load, or on several
  days while the consumer did not run) has a previous delivery the consumer
  never saw; for those event ids alone the earlier raw versions are read (raw
  is append-only). Whether there are any is asked before the model's SQL is
  compiled (a count over the staged rows loaded after the watermark), and the
  raw branch is left out when there are none, i.e. on a normal day: written
  as a join to an empty set, DuckDB may still choose raw as the hash join's
  build side and read all of it (seen on the tiny test warehouse).
  In a unit test the tables are fixtures, not queryable here: the branch is
  always compiled in.
#}
{% macro touched_session_ids(watermark) -%}
    {{ segments.touched_keys(watermark, 'session_id', 'previous_session_id',
                             blank_to_null('earlier.session_id')) }}
{%- endmacro %}

{#
  Days an incremental run of a per-day model must recompute: the same, for
  event_date (previous_event_date: the day of the superseded delivery, when
  it was another day).
#}
{% macro touched_event_dates(watermark) -%}
    {{ segments.touched_keys(watermark, 'event_date', 'previous_event_date',
                             'cast(' ~ parse_timestamp_utc('earlier.event_ts') ~ ' as date)') }}
{%- endmacro %}

{# touched_session_ids and touched_event_dates: `key` of the staged rows loaded
   after `watermark`, their `previous_key`, and `raw_key` of the earlier raw
   versions of the events delivered again more than once since then. #}
{% macro touched_keys(watermark, key, previous_key, raw_key) -%}
    select {{ key }}
    from {{ ref('stg_events__web_events') }}
    where _loaded_at > {{ watermark }}
      and {{ key }} is not null
    union
    select {{ previous_key }}
    from {{ ref('stg_events__web_events') }}
    where _loaded_at > {{ watermark }}
      and {{ previous_key }} is not null
    {%- if events_delivered_again_since(watermark) %}
    union
    select {{ raw_key }}
    from {{ source('events', 'web_events') }} as earlier
    inner join (
        select event_id
        from {{ ref('stg_events__web_events') }}
        where _loaded_at > {{ watermark }}
          and _previous_loaded_at > {{ watermark }}
    ) as delivered_again
        on {{ blank_to_null('earlier.event_id') }} = delivered_again.event_id
    where earlier._loaded_at <= {{ watermark }}
      and {{ raw_key }} is not null
    {%- endif %}
{%- endmacro %}

{# Whether an event staged after `watermark` was also delivered (at least) once more after it. #}
{% macro events_delivered_again_since(watermark) -%}
    {%- if not execute or model.resource_type == 'unit_test' -%}
        {{ return(true) }}
    {%- endif -%}
    {%- set found = run_query(
        "select count(*) from " ~ ref('stg_events__web_events')
        ~ " where _loaded_at > " ~ watermark ~ " and _previous_loaded_at > " ~ watermark) -%}
    {{ return(found.columns[0].values()[0] > 0) }}
{%- endmacro %}
