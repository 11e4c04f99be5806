-- Every staged order line maps to a customer (orders are customers by definition).
select lines.order_id
from {{ ref('stg_orders__order_lines') }} as lines
left join {{ ref('int_orders_resolved') }} as orders
    on lines.order_id = orders.order_id
where orders.customer_key is null
