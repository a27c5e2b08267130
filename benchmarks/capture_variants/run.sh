#!/usr/bin/env bash
# Single-row UPDATE throughput of crm.deals with each capture variant of variants.sql in place of the
# installed UPDATE trigger, alternated round by round (pgbench -M prepared, benchmarks/pgbench/update_deal.sql).
#
# Usage: benchmarks/capture_variants/run.sh URL [variant ...]
#   URL: a benchmark database (libpq form, e.g. postgresql://postgres@127.0.0.1:5432/crm) with the demo
#        data and the capture installed (reports capture install). Its crm.deals triggers are changed
#        during the run and the installed UPDATE trigger is re-enabled at the end.
#   variants: none current without_clients empty insert_from_new_rows row_values row_minimal (default: all)
# Environment: CLIENTS (1), DURATION (10, seconds per run), ROUNDS (2), SYNC (off: synchronous_commit of the writers).
set -euo pipefail
url=${1:?usage: run.sh URL [variant ...]}
shift
variants=("$@")
[ ${#variants[@]} -gt 0 ] || variants=(none current without_clients empty insert_from_new_rows row_values row_minimal)
here=$(cd "$(dirname "$0")" && pwd)
pgbench=$(command -v pgbench || ls /usr/lib/postgresql/*/bin/pgbench | tail -1)
when="WHEN ((OLD.owner_id, OLD.client_id, OLD.deleted_at, OLD.created_at, OLD.status, OLD.amount, OLD.closed_at,"
when+=" OLD.stage, OLD.id) IS DISTINCT FROM (NEW.owner_id, NEW.client_id, NEW.deleted_at, NEW.created_at,"
when+=" NEW.status, NEW.amount, NEW.closed_at, NEW.stage, NEW.id))"

sql() { psql -X -q -v ON_ERROR_STOP=1 "$url" -c "SET client_min_messages TO warning" -c "$1"; }
use() {
    sql "DROP TRIGGER IF EXISTS capture_bench_update ON crm.deals"
    sql "ALTER TABLE crm.deals DISABLE TRIGGER reports_capture_update"
    case $1 in
        none) ;;
        current) sql "ALTER TABLE crm.deals ENABLE ALWAYS TRIGGER reports_capture_update" ;;
        empty) sql "CREATE TRIGGER capture_bench_update AFTER UPDATE ON crm.deals REFERENCING OLD TABLE AS old_rows
                    NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION capture_bench.empty()" ;;
        without_clients) sql "CREATE TRIGGER capture_bench_update AFTER UPDATE ON crm.deals REFERENCING OLD TABLE AS
                    old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION capture_bench.without_clients()" ;;
        insert_from_new_rows) sql "CREATE TRIGGER capture_bench_update AFTER UPDATE ON crm.deals REFERENCING NEW TABLE
                    AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION capture_bench.insert_from_new_rows()" ;;
        row_values | row_minimal) sql "CREATE TRIGGER capture_bench_update AFTER UPDATE ON crm.deals FOR EACH ROW
                    $when EXECUTE FUNCTION capture_bench.$1()" ;;
        *) echo "unknown variant: $1" >&2; exit 2 ;;
    esac
}
restore() {
    sql "DROP TRIGGER IF EXISTS capture_bench_update ON crm.deals"
    sql "ALTER TABLE crm.deals ENABLE ALWAYS TRIGGER reports_capture_update"
}
trap restore EXIT

psql -X -q -v ON_ERROR_STOP=1 "$url" -c "SET client_min_messages TO warning" -f "$here/variants.sql"
max_deal=$(psql -X -At "$url" -c "SELECT max(id) FROM crm.deals")
export PGOPTIONS="-c synchronous_commit=${SYNC:-off}"
echo "variant round tps (clients ${CLIENTS:-1}, ${DURATION:-10} s, synchronous_commit ${SYNC:-off})"
for round in $(seq "${ROUNDS:-2}"); do
    for variant in "${variants[@]}"; do
        use "$variant"
        tps=$("$pgbench" -n -M prepared -f "$here/../pgbench/update_deal.sql" -D "max_deal=$max_deal" \
            -c "${CLIENTS:-1}" -T "${DURATION:-10}" "$url" 2>&1 | awk '/^tps/ {print $3}')
        echo "$variant $round $tps"
    done
done
