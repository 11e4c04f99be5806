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
  `watermark`, plus the session an event delivered again belonged to before
  (read from the earlier raw versions of those event ids, raw being
  append-only), so an event that moved to another session leaves the old one.
#}
{% macro touched_session_ids(watermark) -%}
    select session_id
    from {{ ref('stg_events__web_events') }}
    where _loaded_at > {{ watermark }}
      and session_id is not null
    union
    select {{ blank_to_null('earlier.session_id') }}
    from {{ source('events', 'web_events') }} as earlier
    inner join {{ ref('stg_events__web_events') }} as redelivered
        on {{ blank_to_null('earlier.event_id') }} = redelivered.event_id
    where redelivered._loaded_at > {{ watermark }}
      and earlier._loaded_at < redelivered._loaded_at
      and {{ blank_to_null('earlier.session_id') }} is not null
{%- endmacro %}
