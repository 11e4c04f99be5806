-- The super-node report: every identifier excluded from stitching because it
-- is tied to more distinct CRM ids than its limit (a placeholder email or
-- phone, a shop's number, a shared device or test account). It links nobody;
-- review these and fix the source or raise the limit
-- (vars identity_max_crm_ids_per_identifier, identity_max_crm_ids_by_type);
-- and every phone shared by CRM records whose names disagree
-- (exclusion_reason names_disagree; see int_identity_nodes).

select
    node_id,
    node_type,
    node_value,
    linked_crm_ids,
    max_crm_ids,
    case
        when linked_crm_ids > max_crm_ids then 'too_many_crm_ids'
        else 'names_disagree'
    end as exclusion_reason
from {{ ref('int_identity_nodes') }}
where is_excluded
