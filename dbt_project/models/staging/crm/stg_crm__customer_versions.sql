-- Every delivered version of every CRM record (not only the latest, as in
-- stg_crm__customers): the consent history needs each change. Only the
-- columns that history needs; consent flags parsed like stg_crm__customers.

with

source as (
    select * from {{ source('crm', 'crm_customers') }}
),

final as (
    select
        {{ blank_to_null('crm_id') }} as crm_id,
        {{ parse_timestamp_utc('updated_at') }} as updated_at,
        {{ parse_bool('email_opt_in') }} as email_opt_in,
        {{ parse_bool('sms_opt_in') }} as sms_opt_in,
        _file_name,
        _row_number,
        _loaded_at
    from source
    where {{ blank_to_null('crm_id') }} is not null
)

select * from final
