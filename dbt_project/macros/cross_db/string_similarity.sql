{#
  String similarity for fuzzy identity matching (int_identity_fuzzy_matches).

  jaro_winkler(a, b)   Jaro-Winkler similarity in [0, 1] (prefix scale 0.1,
                       prefix of at most 4, applied when Jaro > 0.7; half the
                       out-of-order matches, rounded down, are transpositions;
                       two empty strings give 0). Null when either is null.
  edit_distance(a, b)  Damerau-Levenshtein distance: insertions, deletions,
                       substitutions and swaps of two adjacent characters
                       each cost 1. Null when either is null.

  DuckDB has both built in (jaro_winkler_similarity, damerau_levenshtein;
  they count bytes, so a non-ASCII character counts as 2 there: the model
  compares name and street keys, which are [a-z0-9] only, and emails).

  PostgreSQL has neither: create_similarity_functions (on-run-start in
  dbt_project.yml; empty SQL elsewhere, so nothing runs there) creates two immutable PL/pgSQL
  functions in the target schema, segments_jaro_winkler and
  segments_damerau_levenshtein, computing exactly DuckDB's definitions (the
  portability test compares them on the probe cases).

  Spark 3.5 has no SQL functions and no loops: both are written with
  higher-order functions (aggregate over sequence(...) with a struct
  accumulator), the same definitions again. See docs/portability.md.
#}
{% macro jaro_winkler(a, b) -%}
    {{ return(adapter.dispatch('jaro_winkler', 'segments')(a, b)) }}
{%- endmacro %}

{% macro duckdb__jaro_winkler(a, b) -%}
    jaro_winkler_similarity({{ a }}, {{ b }})
{%- endmacro %}

{% macro postgres__jaro_winkler(a, b) -%}
    {{ target.schema }}.segments_jaro_winkler({{ a }}, {{ b }})
{%- endmacro %}

{#
  Spark: the same algorithm as the PostgreSQL function, in one expression.
  transform(array(x), v -> ...)[0] binds a value to a name (Spark SQL has no
  LET); aggregate(sequence(1, n), start, step, finish) is the loop.
    jw_p.a, jw_p.b    the two strings; jw_w the match window
    jw_acc.used       which characters of b are matched so far
    jw_acc.am         the matched characters of a, in a's order
    jw_s.bm           the matched characters of b, in b's order
#}
{% macro spark__jaro_winkler(a, b) -%}
transform(array(named_struct('a', cast({{ a }} as string), 'b', cast({{ b }} as string))), jw_p ->
    case
        when jw_p.a is null or jw_p.b is null then cast(null as double)
        when length(jw_p.a) = 0 or length(jw_p.b) = 0 then cast(0 as double)
        else transform(array(greatest(greatest(length(jw_p.a), length(jw_p.b)) div 2 - 1, 0)), jw_w ->
            aggregate(
                sequence(1, length(jw_p.a)),
                named_struct('used', array_repeat(false, length(jw_p.b)), 'am', ''),
                (jw_acc, jw_i) -> transform(array(coalesce(element_at(filter(
                        sequence(greatest(1, jw_i - jw_w), least(length(jw_p.b), jw_i + jw_w)),
                        jw_j -> jw_j >= greatest(1, jw_i - jw_w) and jw_j <= least(length(jw_p.b), jw_i + jw_w)
                                and not jw_acc.used[jw_j - 1]
                                and substr(jw_p.b, jw_j, 1) = substr(jw_p.a, jw_i, 1)), 1), 0)),
                    jw_j -> named_struct(
                        'used', transform(jw_acc.used, (jw_u, jw_k) -> jw_u or jw_k + 1 = jw_j),
                        'am', concat(jw_acc.am, case when jw_j > 0 then substr(jw_p.a, jw_i, 1) else '' end)))[0],
                jw_acc -> transform(array(named_struct(
                        'm', length(jw_acc.am),
                        'am', jw_acc.am,
                        'bm', concat_ws('', transform(jw_acc.used, (jw_u, jw_k) -> case when jw_u then substr(jw_p.b, jw_k + 1, 1) end)))),
                    jw_s -> case
                        when jw_s.m = 0 then cast(0 as double)
                        else transform(array(
                                (jw_s.m / length(jw_p.a) + jw_s.m / length(jw_p.b)
                                 + (jw_s.m - size(filter(sequence(1, jw_s.m), jw_k -> substr(jw_s.am, jw_k, 1) <> substr(jw_s.bm, jw_k, 1))) div 2) / jw_s.m
                                ) / 3.0),
                            jw_sim -> case
                                when jw_sim > 0.7 then jw_sim + 0.1 * (1.0 - jw_sim) * transform(array(
                                        array_position(transform(sequence(1, least(4, length(jw_p.a), length(jw_p.b))),
                                                                 jw_k -> substr(jw_p.a, jw_k, 1) = substr(jw_p.b, jw_k, 1)), false)),
                                        jw_pos -> case when jw_pos = 0 then least(4, length(jw_p.a), length(jw_p.b)) else jw_pos - 1 end)[0]
                                else jw_sim
                            end)[0]
                    end)[0]
            ))[0]
    end)[0]
{%- endmacro %}

{% macro default__jaro_winkler(a, b) -%}
    {{ segments._cross_db_missing('jaro_winkler') }}
{%- endmacro %}


{% macro edit_distance(a, b) -%}
    {{ return(adapter.dispatch('edit_distance', 'segments')(a, b)) }}
{%- endmacro %}

{% macro duckdb__edit_distance(a, b) -%}
    damerau_levenshtein({{ a }}, {{ b }})
{%- endmacro %}

{% macro postgres__edit_distance(a, b) -%}
    {{ target.schema }}.segments_damerau_levenshtein({{ a }}, {{ b }})
{%- endmacro %}

{#
  Spark: the Lowrance-Wagner algorithm of the PostgreSQL function with
  nested aggregates. dl_acc.rows holds the rows of the matrix computed so
  far (array index r is row r - 1; index c of a row is column c - 1, so the
  "infinity" border is index 0); dl_acc.last_row maps a character to the last
  row of a it was seen in; dl_r.last_col is the last column of this row whose
  character equalled a's. Memory and time grow with the product of the two
  lengths: fine for emails and names.
#}
{% macro spark__edit_distance(a, b) -%}
transform(array(named_struct('a', cast({{ a }} as string), 'b', cast({{ b }} as string))), dl_p ->
    case
        when dl_p.a is null or dl_p.b is null then cast(null as int)
        when length(dl_p.a) = 0 or length(dl_p.b) = 0 then length(dl_p.a) + length(dl_p.b)
        else transform(array(length(dl_p.a) + length(dl_p.b)), dl_big ->
            aggregate(
                sequence(1, length(dl_p.a)),
                named_struct(
                    'rows', array(
                        array_repeat(dl_big, length(dl_p.b) + 2),
                        concat(array(dl_big), sequence(0, length(dl_p.b)))),
                    'last_row', cast(map() as map<string, int>)),
                (dl_acc, dl_i) -> named_struct(
                    'rows', concat(dl_acc.rows, array(
                        aggregate(
                            sequence(1, length(dl_p.b)),
                            named_struct('row', array(dl_big, dl_i), 'last_col', 0),
                            (dl_r, dl_j) -> transform(array(named_struct(
                                    'k', coalesce(element_at(dl_acc.last_row, substr(dl_p.b, dl_j, 1)), 0),
                                    'cost', case when substr(dl_p.a, dl_i, 1) = substr(dl_p.b, dl_j, 1) then 0 else 1 end)),
                                dl_v -> named_struct(
                                    'row', concat(dl_r.row, array(least(
                                        dl_acc.rows[dl_i][dl_j] + dl_v.cost,
                                        dl_r.row[dl_j] + 1,
                                        dl_acc.rows[dl_i][dl_j + 1] + 1,
                                        dl_acc.rows[dl_v.k][dl_r.last_col] + (dl_i - dl_v.k - 1) + 1 + (dl_j - dl_r.last_col - 1)))),
                                    'last_col', case when dl_v.cost = 0 then dl_j else dl_r.last_col end))[0],
                            dl_r -> dl_r.row))),
                    'last_row', map_concat(
                        map_filter(dl_acc.last_row, (dl_c, dl_n) -> dl_c <> substr(dl_p.a, dl_i, 1)),
                        map(substr(dl_p.a, dl_i, 1), dl_i))),
                dl_acc -> element_at(element_at(dl_acc.rows, length(dl_p.a) + 2), length(dl_p.b) + 2)
            ))[0]
    end)[0]
{%- endmacro %}

{% macro default__edit_distance(a, b) -%}
    {{ segments._cross_db_missing('edit_distance') }}
{%- endmacro %}


{# on-run-start: the functions the PostgreSQL implementations call. #}
{% macro create_similarity_functions() -%}
    {{ return(adapter.dispatch('create_similarity_functions', 'segments')()) }}
{%- endmacro %}

{% macro default__create_similarity_functions() -%}{%- endmacro %}

{% macro postgres__create_similarity_functions() -%}
create schema if not exists {{ target.schema }};

create or replace function {{ target.schema }}.segments_jaro_winkler(a text, b text)
returns double precision language plpgsql immutable strict parallel safe as $fn$
declare
    la int := length(a);
    lb int := length(b);
    win int;
    b_used boolean[];
    a_matched text := '';
    b_matched text := '';
    m int := 0;
    t int := 0;
    lo int;
    hi int;
    sim double precision;
    prefix int := 0;
begin
    if la = 0 or lb = 0 then
        return 0.0;
    end if;
    win := greatest(greatest(la, lb) / 2 - 1, 0);
    b_used := array_fill(false, array[lb]);
    for i in 1..la loop
        lo := greatest(1, i - win);
        hi := least(lb, i + win);
        for j in lo..hi loop
            if not b_used[j] and substr(b, j, 1) = substr(a, i, 1) then
                b_used[j] := true;
                a_matched := a_matched || substr(a, i, 1);
                exit;
            end if;
        end loop;
    end loop;
    m := length(a_matched);
    if m = 0 then
        return 0.0;
    end if;
    for j in 1..lb loop
        if b_used[j] then
            b_matched := b_matched || substr(b, j, 1);
        end if;
    end loop;
    for k in 1..m loop
        if substr(a_matched, k, 1) <> substr(b_matched, k, 1) then
            t := t + 1;
        end if;
    end loop;
    t := t / 2;
    sim := (m::double precision / la + m::double precision / lb + (m - t)::double precision / m) / 3.0;
    if sim > 0.7 then
        while prefix < least(4, la, lb) and substr(a, prefix + 1, 1) = substr(b, prefix + 1, 1) loop
            prefix := prefix + 1;
        end loop;
        sim := sim + prefix * 0.1 * (1.0 - sim);
    end if;
    return sim;
end
$fn$;

create or replace function {{ target.schema }}.segments_damerau_levenshtein(a text, b text)
returns integer language plpgsql immutable strict parallel safe as $fn$
declare
    la int := length(a);
    lb int := length(b);
    -- d[i + 1][j + 1] holds the distance of a[1..i], b[1..j] (0-based rows
    -- and columns shifted by one; row/column 0 is the "infinity" border)
    d int[];
    last_row_of jsonb := '{}'::jsonb;  -- character -> last row of a it was seen in
    big int := la + lb;
    last_col int;
    k int;
    l int;
    cost int;
begin
    d := array_fill(0, array[la + 2, lb + 2], array[-1, -1]);
    d[-1][-1] := big;
    for i in 0..la loop
        d[i][-1] := big;
        d[i][0] := i;
    end loop;
    for j in 0..lb loop
        d[-1][j] := big;
        d[0][j] := j;
    end loop;
    for i in 1..la loop
        last_col := 0;
        for j in 1..lb loop
            k := coalesce((last_row_of ->> substr(b, j, 1))::int, 0);
            l := last_col;
            if substr(a, i, 1) = substr(b, j, 1) then
                cost := 0;
                last_col := j;
            else
                cost := 1;
            end if;
            d[i][j] := least(d[i - 1][j - 1] + cost,
                             d[i][j - 1] + 1,
                             d[i - 1][j] + 1,
                             d[k - 1][l - 1] + (i - k - 1) + 1 + (j - l - 1));
        end loop;
        last_row_of := last_row_of || jsonb_build_object(substr(a, i, 1), i);
    end loop;
    return d[la][lb];
end
$fn$;
{%- endmacro %}
