{#
  Attach a customer to a row that carries web/email identifiers, in one
  order everywhere: its user_id (a CRM id), else its anonymous_id (a cookie
  linked by a login), else its email. `relation` is the alias of the row's
  table, `nodes` the alias of int_identity_nodes_resolved.

    select {{ resolved_customer_key() }} as customer_key, ...
    from web_events
    {{ join_identity_nodes('web_events') }}
#}
{% macro resolved_customer_key() -%}
    coalesce(by_user.customer_key, by_anonymous.customer_key, by_email.customer_key)
{%- endmacro %}

{% macro join_identity_nodes(relation, nodes='nodes') -%}
    left join {{ nodes }} as by_user
        on by_user.node_id = 'crm:' || {{ relation }}.user_id
    left join {{ nodes }} as by_anonymous
        on by_anonymous.node_id = 'anon:' || {{ relation }}.anonymous_id
    left join {{ nodes }} as by_email
        on by_email.node_id = 'email:' || {{ relation }}.email
{%- endmacro %}
