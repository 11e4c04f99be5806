#!/usr/bin/env bash
# System packages the portability tests need (tests/portability, docs/portability.md):
#   - PostgreSQL server binaries (initdb, pg_ctl, postgres) for a throwaway local server
#   - a Java runtime (17) for pyspark's local Spark session
# Python packages (dbt-postgres, psycopg2-binary, dbt-spark, pyspark) come from requirements.lock.
# Installs what is missing with apt-get when run as root on Debian/Ubuntu; otherwise
# says what to install and exits 0 (the Spark test then skips with that reason; the
# PostgreSQL test fails naming what is missing).
set -euo pipefail

have_postgres() { compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || [[ -n "${SEGMENTS_PG_BIN:-}" && -x "${SEGMENTS_PG_BIN}/initdb" ]]; }
have_java() { command -v java >/dev/null || [[ -n "${JAVA_HOME:-}" && -x "${JAVA_HOME}/bin/java" ]]; }

missing=()
have_postgres || missing+=(postgresql)
have_java || missing+=(openjdk-17-jre-headless)

if [[ ${#missing[@]} -eq 0 ]]; then
    exit 0
fi
if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    echo "portability-deps: installing ${missing[*]} (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    # Debian's postgresql package starts a cluster on 5432; the tests run their own.
    exit 0
fi
echo "portability-deps: missing system packages: ${missing[*]} (install them, e.g. apt-get install ${missing[*]})" >&2
exit 0
