{#
  delete+insert incremental models on Spark with Parquet tables.

  dbt-spark offers append, insert_overwrite and microbatch on Parquet (merge
  needs Delta, Iceberg or Hudi jars, which a local offline session does not
  have) and rejects delete+insert, the strategy of every incremental model
  here (staging events and order lines, sessions, orders, email days,
  int_customer_keys, segment_history). Parquet tables have no DELETE, and
  Spark refuses to overwrite a table in a query that reads it, so this
  project's delete+insert rebuilds through a staging table:

    1. <table>__dbt_rebuild = the rows of <table> whose unique key is not
       among the new rows, union all the new rows (the temporary view dbt
       made from the model's SQL);
    2. insert overwrite table <table> from <table>__dbt_rebuild.

  The result is what delete+insert gives elsewhere: rows with a new key
  replace the old ones, every other row (history: segment_history's earlier
  dates, the key registry's retired keys) is kept; a null key never matches,
  as in DELETE ... WHERE key IN (...). The staging table is left behind
  until the next incremental run of the model drops it (run_query runs
  while dbt renders the final statement; nothing runs after it).

  dbt-spark's incremental materialization calls these two macros by name;
  a root-project macro of the same name takes precedence, so they are
  redefined here: the other strategies go to dbt-spark's own SQL macros.
#}
{% macro dbt_spark_validate_get_incremental_strategy(raw_strategy, file_format) %}
    {%- set supported = ['append', 'insert_overwrite', 'microbatch', 'delete+insert'] -%}
    {%- if file_format in ['delta', 'iceberg', 'hudi'] -%}
        {%- do supported.append('merge') -%}
    {%- endif -%}
    {%- if raw_strategy not in supported -%}
        {%- do exceptions.raise_compiler_error(
            "incremental_strategy '" ~ raw_strategy ~ "' with file_format '" ~ file_format ~ "' is not supported on Spark; "
            ~ "supported: " ~ supported | join(', ') ~ " (macros/cross_db/spark_incremental.sql)") -%}
    {%- endif -%}
    {%- if raw_strategy in ['insert_overwrite', 'microbatch'] and target.endpoint -%}
        {%- do exceptions.raise_compiler_error("incremental_strategy '" ~ raw_strategy ~ "' needs a cluster, not a SQL endpoint") -%}
    {%- endif -%}
    {%- do return(raw_strategy) -%}
{% endmacro %}

{% macro dbt_spark_get_incremental_sql(strategy, source, target, existing, unique_key, incremental_predicates) %}
    {%- if strategy == 'delete+insert' -%}
        {{ segments.spark_delete_insert_sql(source, target, unique_key, incremental_predicates) }}
    {%- elif strategy == 'append' -%}
        {{ get_insert_into_sql(source, target) }}
    {%- elif strategy in ['insert_overwrite', 'microbatch'] -%}
        {%- if strategy == 'microbatch' and not config.get('partition_by') -%}
            {%- do exceptions.raise_compiler_error("incremental_strategy 'microbatch' on Spark needs partition_by") -%}
        {%- endif -%}
        {{ get_insert_overwrite_sql(source, target, existing) }}
    {%- elif strategy == 'merge' -%}
        {{ get_merge_sql(target, source, unique_key, dest_columns=none, incremental_predicates=incremental_predicates) }}
    {%- else -%}
        {%- do exceptions.raise_compiler_error("no SQL for incremental_strategy '" ~ strategy ~ "' on Spark") -%}
    {%- endif -%}
{% endmacro %}

{% macro spark_delete_insert_sql(source, target, unique_key, incremental_predicates) %}
    {%- if not unique_key -%}
        {%- do exceptions.raise_compiler_error("delete+insert on Spark needs a unique_key (" ~ target ~ ")") -%}
    {%- endif -%}
    {%- if incremental_predicates -%}
        {%- do exceptions.raise_compiler_error("delete+insert on Spark does not support incremental_predicates (" ~ target ~ ")") -%}
    {%- endif -%}
    {%- set keys = [unique_key] if unique_key is string else unique_key -%}
    {%- set staging = target.incorporate(path={"identifier": target.identifier ~ "__dbt_rebuild"}) -%}
    {%- set columns = adapter.get_columns_in_relation(target) | map(attribute='name') | list -%}
    {%- set column_list = columns | join(', ') -%}
    {%- set key_match = [] -%}
    {%- for key in keys -%}
        {%- do key_match.append("new_rows." ~ key ~ " = kept." ~ key) -%}
    {%- endfor -%}
    {%- do run_query("drop table if exists " ~ staging) -%}
    {%- do run_query(
        "create table " ~ staging ~ " using parquet as\n"
        ~ "select " ~ column_list ~ " from " ~ target ~ " as kept\n"
        ~ "where not exists (select 1 from " ~ source ~ " as new_rows where " ~ key_match | join(' and ') ~ ")\n"
        ~ "union all\n"
        ~ "select " ~ column_list ~ " from " ~ source) -%}
    insert overwrite table {{ target }}
    select {{ column_list }} from {{ staging }}
{% endmacro %}


{#
  delete_where(relation, condition): the post-hook of the incremental models
  that write placeholder rows to delete rows (int_consent_observations and
  the session and email-day models). A DELETE elsewhere; on Spark (Parquet
  has no DELETE) the table is rewritten without those rows, through a
  staging table as above.
#}
{% macro delete_where(relation, condition) -%}
    {{ return(adapter.dispatch('delete_where', 'segments')(relation, condition)) }}
{%- endmacro %}

{% macro default__delete_where(relation, condition) -%}
    delete from {{ relation }} where {{ condition }}
{%- endmacro %}

{% macro spark__delete_where(relation, condition) -%}
    {%- set staging = relation.incorporate(path={"identifier": relation.identifier ~ "__dbt_kept"}) -%}
    {%- do run_query("drop table if exists " ~ staging) -%}
    {%- do run_query("create table " ~ staging ~ " using parquet as select * from " ~ relation
                     ~ " where not (" ~ condition ~ ")") -%}
    insert overwrite table {{ relation }} select * from {{ staging }}
{%- endmacro %}
