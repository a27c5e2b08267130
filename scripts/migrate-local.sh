#!/usr/bin/env bash
# Apply the reports migrations with psql alone: the psql-only twin of `reports migrate`
# (reports_core/migrate.py), for machines without the Python environment.
#
# Usage: scripts/migrate-local.sh [--dry-run]
#
# Reads REPORTS_DATABASE_URL (else from ./.env; the environment wins), in the platform's form
# postgresql://user:pass@host:port/db?search_path=reports (translated for libpq by
# scripts/lib/dburl.sh), and the SQL files under sql/ (REPORTS_SQL_DIR overrides the folder).
#
# Same files, order, table and lock as the Python runner, so that either runner after the other
# is a no-op:
#   1. bootstrap/schema_migrations.sql, in a transaction holding the advisory lock;
#   2. versioned/V<4 digits>__<what>.sql in version order, then repeatable/<NN>_<layer>/<concept>.sql
#      in path order (LC_ALL=C), each one in ONE transaction that first takes
#      pg_advisory_xact_lock(LOCK_KEY), then looks the file up in reports.schema_migrations
#      (\gset + \if): same sha256 -> skipped; versioned file recorded with another checksum ->
#      refused; else the file runs (\i) and its row (sha256sum of the file) is written, and the
#      transaction commits;
#   3. NOTIFY reports_catalog when at least one file was applied.
# First of all, bootstrap/server_version.sql refuses a PostgreSQL older than supported (also with
# --dry-run). Before anything is applied, every versioned file is checked: one modified after it was
# applied, one recorded as applied but missing from sql/, or a pending one numbered below the highest
# applied version stops the run with nothing changed (a missing repeatable file is a warning).
# --dry-run prints what would be applied and changes nothing.
#
# Errors: one line "error: ..." on stderr naming the file (and psql's line, SQLSTATE and message);
# exit status 1 (2 for usage or a bad URL).
set -euo pipefail

# = reports_core.migrate.ADVISORY_LOCK_KEY: the ASCII bytes of "reports" as a big-endian integer.
readonly LOCK_KEY=32199680925529203
# = reports_core.migrate.NOTIFY_CHANNEL
readonly CHANNEL=reports_catalog
readonly RUNNER_NAME=migrate-local.sh
readonly BOOTSTRAP=bootstrap/schema_migrations.sql
# = reports_core.db.SERVER_VERSION_CHECK: refuses a server older than supported (read-only).
readonly SERVER_CHECK=bootstrap/server_version.sql

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lib/dburl.sh
source "$here/lib/dburl.sh"

usage() { printf 'usage: scripts/migrate-local.sh [--dry-run]\n'; }

dry_run=0
for arg in "$@"; do
    case $arg in
        --dry-run) dry_run=1 ;;
        -h | --help)
            usage
            exit 0
            ;;
        *)
            usage >&2
            exit 2
            ;;
    esac
done

applied_count=0
notified=0
err_file=$(mktemp)
trap 'rm -f "$err_file"' EXIT

notify_if_applied() {
    if ((applied_count > 0 && notified == 0)); then
        notified=1
        psql_cmd -v channel="$CHANNEL" -v runner="$runner" <<<"SELECT pg_notify(:'channel', :'runner');" \
            >/dev/null 2>&1 || true
    fi
}

# Print "error: <all arguments>" and exit 1 (after the NOTIFY owed for files already applied).
die() {
    printf 'error: %s\n' "$*" >&2
    notify_if_applied
    exit 1
}

# The value of variable $1 in dotenv file $2 (last assignment wins; "export ", quotes, " #" comments).
dotenv_value() {
    local name=$1 file=$2 line value found=1
    REPLY=''
    while IFS= read -r line || [[ -n $line ]]; do
        line=${line%$'\r'}
        [[ $line =~ ^[[:space:]]*(export[[:space:]]+)?([A-Za-z_][A-Za-z0-9_]*)[[:space:]]*=[[:space:]]*(.*)$ ]] ||
            continue
        [[ ${BASH_REMATCH[2]} == "$name" ]] || continue
        value=${BASH_REMATCH[3]}
        if [[ $value =~ ^\"(.*)\"[[:space:]]*(#.*)?$ || $value =~ ^\'(.*)\'[[:space:]]*(#.*)?$ ]]; then
            value=${BASH_REMATCH[1]}
        else
            value=${value%%[[:space:]]#*}
            value=${value%"${value##*[![:space:]]}"}
        fi
        REPLY=$value
        found=0
    done <"$file"
    return "$found"
}

if [[ -z ${REPORTS_DATABASE_URL+set} && -f .env ]] && dotenv_value REPORTS_DATABASE_URL .env; then
    REPORTS_DATABASE_URL=$REPLY
fi
if [[ -z ${REPORTS_DATABASE_URL:-} ]]; then
    die "REPORTS_DATABASE_URL is not set: export it (postgresql://user:pass@host:port/db?search_path=reports)" \
        "or put it in .env"
fi
conninfo=$(reports_dburl_to_libpq "$REPORTS_DATABASE_URL") || exit 2
sql_dir=${REPORTS_SQL_DIR:-$(dirname "$here")/sql}
[[ -d $sql_dir/versioned ]] || die "no versioned/ folder in $sql_dir (REPORTS_SQL_DIR points elsewhere?)"
[[ -f $sql_dir/$BOOTSTRAP ]] || die "$sql_dir/$BOOTSTRAP is missing"
command -v psql >/dev/null || die "psql not found: install the PostgreSQL client (postgresql-client)"
command -v sha256sum >/dev/null || die "sha256sum not found (coreutils)"

export PGAPPNAME=$RUNNER_NAME PGCLIENTENCODING=UTF8
os_user=${USER:-$(id -un 2>/dev/null || echo unknown)}
runner="$RUNNER_NAME ($os_user)"

psql_cmd() {
    psql -X -q -v ON_ERROR_STOP=1 -v VERBOSITY=verbose -d "$conninfo" "$@"
}

# Run psql (further arguments, stdin) with stdout to the caller. On failure print one line and exit 1:
# "<what> line N: SQLSTATE X: message" when the error is in file $2 (relative to sql/, may be empty),
# else "<what>: <psql's first error line>". Called in $(...) too, so it never notifies itself.
psql_or_die() {
    local what=$1 script=$2 line suffix=''
    shift 2
    psql_cmd "$@" 2>"$err_file" && return 0
    [[ -n $script ]] && suffix=' (rolled back: nothing of this file was applied)'
    line=$(grep -m1 -E '(ERROR|FATAL|error): ' "$err_file" || head -n1 "$err_file" || true)
    if [[ $line =~ ^psql:(.*):([0-9]+):\ (ERROR|FATAL):\ +([0-9A-Z]{5}):\ (.*)$ ]]; then
        if [[ -n $script && ${BASH_REMATCH[1]} == "$sql_dir/$script" ]]; then
            what+=" line ${BASH_REMATCH[2]}"
        fi
        line="SQLSTATE ${BASH_REMATCH[4]}: ${BASH_REMATCH[5]}"
    else
        line=${line#psql: }
        line=${line#error: }
    fi
    printf 'error: %s: %s%s\n' "$what" "$line" "$suffix" >&2
    exit 1
}

# --- the files, in apply order -------------------------------------------------------------------
scripts=()
declare -A kind_of=() version_of=() checksum_of=() script_of_version=()
while IFS= read -r -d '' script; do
    if [[ ! $script =~ ^versioned/V([0-9]{4})__[a-z0-9_]+\.sql$ ]]; then
        die "$script: versioned files are named versioned/V<4 digits>__<what>.sql"
    fi
    version=$((10#${BASH_REMATCH[1]}))
    if [[ -n ${script_of_version[$version]:-} ]]; then
        die "$script: version $version is also used by ${script_of_version[$version]}"
    fi
    script_of_version[$version]=$script
    scripts+=("$script")
    kind_of[$script]=versioned
    version_of[$script]=$version
done < <(cd "$sql_dir" && find versioned -name '*.sql' -type f -print0 | LC_ALL=C sort -z)
if [[ -d $sql_dir/repeatable ]]; then
    while IFS= read -r -d '' script; do
        if [[ ! $script =~ ^repeatable/[0-9]{2}_[a-z0-9_]+/[a-z0-9_]+\.sql$ ]]; then
            die "$script: repeatable files are named repeatable/<NN>_<layer>/<concept>.sql"
        fi
        scripts+=("$script")
        kind_of[$script]=repeatable
        version_of[$script]=''
    done < <(cd "$sql_dir" && find repeatable -name '*.sql' -type f -print0 | LC_ALL=C sort -z)
fi
for script in "${scripts[@]}"; do
    sum=$(sha256sum <"$sql_dir/$script") || die "$script: cannot read the file"
    checksum_of[$script]=${sum%% *}
done

# A server older than supported: the same one line as `reports migrate` prints (also for --dry-run).
if ! psql_cmd -f "$sql_dir/$SERVER_CHECK" >/dev/null 2>"$err_file"; then
    line=$(grep -m1 -E '(ERROR|FATAL|error): ' "$err_file" || head -n1 "$err_file" || true)
    [[ $line =~ ERROR:\ +0A000:\ (.*)$ ]] && die "${BASH_REMATCH[1]}"
    line=${line#psql: }
    line=${line#error: }
    die "cannot check the server version: ${line:-psql failed without a message}"
fi

# --- what is recorded (read without the lock: a first check; each file is re-checked under it) ----
declare -A recorded=()
top_version=0
present=$(psql_or_die "cannot read reports.schema_migrations" '' -At -c \
    "SELECT to_regclass('reports.schema_migrations') IS NOT NULL")
if [[ $present == t ]]; then
    rows=$(psql_or_die "cannot read reports.schema_migrations" '' -At -F $'\t' -c \
        "SELECT script, coalesce(version, 0), checksum FROM reports.schema_migrations")
    while IFS=$'\t' read -r script version sum; do
        [[ -n $script ]] || continue
        recorded[$script]=$sum
        if ((version > top_version)); then top_version=$version; fi
    done <<<"$rows"
fi

# Recorded files no longer under sql/: a versioned one is refused (Flyway's "missing"), a repeatable
# one is a warning (its objects stay until a file drops them).
declare -A on_disk=()
for script in "${scripts[@]}"; do on_disk[$script]=1; done
missing=()
for script in "${!recorded[@]}"; do
    [[ -n ${on_disk[$script]:-} ]] && continue
    if [[ $script == versioned/* ]]; then
        missing+=("$script")
    else
        printf 'warning: %s is recorded as applied but no longer exists (its objects stay until a file drops them)\n' \
            "$script" >&2
    fi
done

todo=()
modified=()
out_of_order=()
up_to_date=0
for script in "${scripts[@]}"; do
    sum=${recorded[$script]:-}
    if [[ -z $sum ]]; then
        todo+=("$script")
        version=${version_of[$script]}
        if [[ ${kind_of[$script]} == versioned ]] && ((version < top_version)); then
            out_of_order+=("$script")
        fi
    elif [[ $sum == "${checksum_of[$script]}" ]]; then
        up_to_date=$((up_to_date + 1))
    elif [[ ${kind_of[$script]} == versioned ]]; then
        modified+=("$script")
    else
        todo+=("$script")
    fi
done
# A repeatable file that drops and re-creates a function loses its GRANTs: whenever any repeatable
# file is applied, the files of repeatable/90_grants/ are re-applied too (forced), as the Python
# runner does.
declare -A forced=()
for script in "${todo[@]}"; do
    if [[ ${kind_of[$script]} == repeatable ]]; then
        with_grants=()
        for candidate in "${scripts[@]}"; do
            if [[ " ${todo[*]} " == *" $candidate "* ]]; then
                with_grants+=("$candidate")
            elif [[ $candidate == repeatable/90_grants/* ]]; then
                with_grants+=("$candidate")
                forced[$candidate]=1
                up_to_date=$((up_to_date - 1))
            fi
        done
        todo=("${with_grants[@]}")
        break
    fi
done
# The arguments joined with ", ", into REPLY.
join_list() {
    local IFS=,
    REPLY="$*"
    REPLY=${REPLY//,/, }
}
if ((${#modified[@]})); then
    join_list "${modified[@]}"
    die "refusing to migrate: versioned file $REPLY changed after it was applied (sha256 differs from" \
        "reports.schema_migrations); restore it and put the change in a new versioned file; nothing was applied"
fi
if ((${#missing[@]})); then
    mapfile -t missing < <(printf '%s\n' "${missing[@]}" | LC_ALL=C sort)
    join_list "${missing[@]}"
    die "refusing to migrate: versioned file $REPLY is recorded as applied but missing from sql/;" \
        "restore it from version control (applied history is never deleted); nothing was applied"
fi
if ((${#out_of_order[@]})); then
    join_list "${out_of_order[@]}"
    die "refusing to migrate: $REPLY is numbered below version $top_version, which is already applied;" \
        "renumber it above the highest applied version; nothing was applied"
fi

if ((dry_run)); then
    for script in "${todo[@]}"; do
        if [[ -n ${recorded[$script]:-} ]]; then echo "would re-apply $script"; else echo "would apply $script"; fi
    done
    if ((${#todo[@]})); then
        echo "would apply ${#todo[@]} files ($up_to_date up to date)"
    else
        echo "nothing to apply: $up_to_date files up to date"
    fi
    exit 0
fi

# --- bootstrap, then one locked transaction per file ----------------------------------------------
psql_or_die "failed to run $BOOTSTRAP" "$BOOTSTRAP" -v lock_key="$LOCK_KEY" -v file="$sql_dir/$BOOTSTRAP" <<'SQL'
SET client_min_messages = warning;
BEGIN;
SELECT pg_advisory_xact_lock(:lock_key) \g /dev/null
\i :file
COMMIT;
SQL

# Per file, in one transaction: lock, look up, then skip / refuse / apply + record. Prints one word
# on stdout: "modified", "up_to_date" or "applied <duration ms>".
read -r -d '' file_driver <<'SQL' || true
SET client_min_messages = warning;
BEGIN;
SELECT pg_advisory_xact_lock(:lock_key) \g /dev/null
SELECT
    coalesce(bool_or(m.checksum = :'checksum'), false) AND :'force' <> '1' AS up_to_date,
    coalesce(bool_or(m.kind = 'versioned' AND m.checksum <> :'checksum'), false) AS modified
FROM reports.schema_migrations AS m
WHERE m.script = :'script' \gset
\if :modified
    ROLLBACK;
    \echo modified
\elif :up_to_date
    ROLLBACK;
    \echo up_to_date
\else
    SELECT extract(epoch FROM clock_timestamp()) AS file_started \gset
    \o /dev/null
    \i :file
    \o
    INSERT INTO reports.schema_migrations AS m
        (script, kind, version, checksum, applied_at, applied_by, runner, duration_ms)
    VALUES (
        :'script', :'kind', nullif(:'version', '')::integer, :'checksum', now(), current_user, :'runner',
        round((extract(epoch FROM clock_timestamp()) - :file_started) * 1000)::integer
    )
    ON CONFLICT (script) DO UPDATE SET
        checksum = excluded.checksum, applied_at = excluded.applied_at, applied_by = excluded.applied_by,
        runner = excluded.runner, duration_ms = excluded.duration_ms
    WHERE m.kind = 'repeatable'
    RETURNING m.duration_ms \gset
    COMMIT;
    \echo applied :duration_ms
\endif
SQL

for script in "${todo[@]}"; do
    outcome=$(psql_or_die "failed to apply $script" "$script" -v lock_key="$LOCK_KEY" -v script="$script" -v kind="${kind_of[$script]}" \
        -v version="${version_of[$script]}" -v checksum="${checksum_of[$script]}" -v runner="$runner" \
        -v force="${forced[$script]:-0}" \
        -v file="$sql_dir/$script" <<<"$file_driver") || {
        notify_if_applied # psql_or_die printed the error
        exit 1
    }
    case $outcome in
        "applied "*)
            applied_count=$((applied_count + 1))
            verb=applied
            if [[ -n ${recorded[$script]:-} || -n ${forced[$script]:-} ]]; then verb=re-applied; fi
            echo "$verb $script (${outcome#applied } ms)"
            ;;
        up_to_date) up_to_date=$((up_to_date + 1)) ;;
        modified)
            die "refusing to apply $script: a versioned file recorded with another sha256 by a concurrent run;" \
                "restore it and put the change in a new versioned file"
            ;;
        *) die "$script: unexpected output from psql: $outcome" ;;
    esac
done
notify_if_applied
if ((applied_count)); then
    echo "applied $applied_count files ($up_to_date up to date)"
else
    echo "nothing to apply: $up_to_date files up to date"
fi
