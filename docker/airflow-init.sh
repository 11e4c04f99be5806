#!/usr/bin/env bash
# One-shot initialisation of the compose stack (service `airflow-init`).
# Idempotent: safe to run on every `docker compose up`.
#
#   1. create the data directories under SEGMENTS_HOME (landing, quarantine, warehouse, ...)
#   2. migrate the Airflow metadata database (Postgres)
#   3. create the `duckdb_writer` pool with exactly 1 slot (DuckDB is single-writer)
#   4. write the simple auth manager's password file for the admin user
#   5. parse the dbt project so the DAG can render from target/manifest.json
set -euo pipefail

WRITER_POOL="duckdb_writer"
WRITER_POOL_SLOTS=1

log() { printf '[airflow-init] %s\n' "$*"; }
die() { printf '[airflow-init] error: %s\n' "$*" >&2; exit 1; }

require_env() {
    local name
    for name in "$@"; do
        [[ -n "${!name:-}" ]] || die "environment variable ${name} is not set (see docker/.env.example)"
    done
}

require_env AIRFLOW__DATABASE__SQL_ALCHEMY_CONN AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE \
    AIRFLOW_ADMIN_PASSWORD SEGMENTS_HOME SEGMENTS_DBT_PROJECT

admin_user="${AIRFLOW_ADMIN_USER:-admin}"
dbt_target="${SEGMENTS_DBT_TARGET:-dev}"

log "creating data directories under ${SEGMENTS_HOME}"
python -c 'from segmentation.config import Settings; Settings.from_env().ensure_dirs()'

log "migrating the metadata database"
airflow db migrate

log "setting pool ${WRITER_POOL} to ${WRITER_POOL_SLOTS} slot"
airflow pools set "${WRITER_POOL}" "${WRITER_POOL_SLOTS}" \
    "DuckDB is single-writer: every task that writes the warehouse runs in this pool"

log "writing the password of user '${admin_user}' for the simple auth manager"
passwords_file="${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE}"
mkdir -p "$(dirname "${passwords_file}")"
(
    umask 077
    ADMIN_USER="${admin_user}" python -c '
import json, os, sys
json.dump({os.environ["ADMIN_USER"]: os.environ["AIRFLOW_ADMIN_PASSWORD"]}, sys.stdout)
print()' > "${passwords_file}.tmp"
    mv "${passwords_file}.tmp" "${passwords_file}"
)

log "parsing the dbt project (target ${dbt_target}) for the DAG's manifest"
dbt parse --quiet --project-dir "${SEGMENTS_DBT_PROJECT}" \
    --profiles-dir "${DBT_PROFILES_DIR:-${SEGMENTS_DBT_PROJECT}}" --target "${dbt_target}"

log "done"
