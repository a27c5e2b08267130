#!/usr/bin/env bash
# Database URLs for psql-only scripts: the bash twin of reports_core/dburl.py (no Python needed).
#
# The platform writes REPORTS_DATABASE_URL as
#   postgresql://user:pass@host:port/db?search_path=reports
# and libpq rejects that query parameter ('invalid URI query parameter: "search_path"').
# reports_dburl_to_libpq moves it into libpq's options parameter:
#   postgresql://user:pass@host:port/db?options=-csearch_path%3Dreports
# merged after any options already there (separated by a space, %20); spaces in the
# search_path value are escaped as "\ " for libpq. Every other query parameter is kept
# exactly as written, in its place; the last search_path wins. A key=value connection
# string (no "://") and a URL without search_path are printed unchanged.
# tests/test_dburl.py checks this function and to_libpq() against the same table of cases.
#
# Usage: source scripts/lib/dburl.sh; url=$(reports_dburl_to_libpq "$REPORTS_DATABASE_URL")
#    or: scripts/lib/dburl.sh URL   (executed: prints the translation, e.g. psql "$(scripts/lib/dburl.sh "$U")")
# Exit status 2 with a one-line "error: ..." on stderr when the scheme is not postgresql/postgres.

# Percent-decode $1 into REPLY (libpq's decoding: %XX only; "+" stays "+").
_reports_dburl_unquote() {
    local s=$1 out='' c hex i
    for ((i = 0; i < ${#s}; i++)); do
        c=${s:i:1}
        hex=${s:i+1:2}
        if [[ $c == % && $hex =~ ^[0-9A-Fa-f]{2}$ ]]; then
            printf -v c '%b' "\\x$hex"
            i=$((i + 2))
        fi
        out+=$c
    done
    REPLY=$out
}

# Percent-encode every byte of $1 except A-Z a-z 0-9 _ . - ~ into REPLY (Python's quote(v, safe='')).
_reports_dburl_quote() {
    local s=$1 out='' c enc i
    for ((i = 0; i < ${#s}; i++)); do
        c=${s:i:1}
        case $c in
            [A-Za-z0-9_.~-]) out+=$c ;;
            *)
                printf -v enc '%%%02X' "'$c"
                out+=$enc
                ;;
        esac
    done
    REPLY=$out
}

# Print the libpq form of the URL $1 (see the header).
reports_dburl_to_libpq() (
    # byte-wise string operations, whatever the caller's locale
    export LC_ALL=C
    local url=$1 scheme rest netloc='' path query='' fragment='' has_netloc=0 has_fragment=0
    local segment key value search_path='' found=0 options=() kept=() query_out='' option
    if [[ $url != *://* ]]; then
        printf '%s\n' "$url"
        return 0
    fi
    if [[ $url =~ ^([A-Za-z][A-Za-z0-9+.-]*):(.*)$ ]]; then
        scheme=${BASH_REMATCH[1],,}
        rest=${BASH_REMATCH[2]}
    else
        scheme=''
        rest=$url
    fi
    if [[ $scheme != postgresql && $scheme != postgres ]]; then
        printf "error: database URL must start with postgresql:// (got scheme '%s')\n" "$scheme" >&2
        return 2
    fi
    if [[ $rest == //* ]]; then
        rest=${rest:2}
        netloc=${rest%%[/?#]*}
        rest=${rest:${#netloc}}
        has_netloc=1
    fi
    if [[ $rest == *'#'* ]]; then
        fragment=${rest#*'#'}
        rest=${rest%%'#'*}
        has_fragment=1
    fi
    if [[ $rest == *'?'* ]]; then
        query=${rest#*'?'}
        rest=${rest%%'?'*}
    fi
    path=$rest
    while [[ -n $query ]]; do
        segment=${query%%&*}
        if [[ $segment == "$query" ]]; then query=''; else query=${query#*&}; fi
        [[ -n $segment ]] || continue
        key=${segment%%=*}
        if [[ $segment == *=* ]]; then value=${segment#*=}; else value=''; fi
        _reports_dburl_unquote "$key"
        case $REPLY in
            search_path)
                _reports_dburl_unquote "$value"
                search_path=$REPLY
                found=1
                ;;
            options)
                _reports_dburl_unquote "$value"
                options+=("$REPLY")
                ;;
            *) kept+=("$segment") ;;
        esac
    done
    if ((found == 0)); then
        printf '%s\n' "$url"
        return 0
    fi
    options+=("-csearch_path=${search_path// /\\ }")
    local IFS=' '
    option="${options[*]}"
    _reports_dburl_quote "$option"
    kept+=("options=$REPLY")
    query_out=$(IFS='&'; printf '%s' "${kept[*]}")
    printf '%s:' "$scheme"
    if ((has_netloc)); then printf '//%s' "$netloc"; fi
    printf '%s?%s' "$path" "$query_out"
    if ((has_fragment)) && [[ -n $fragment ]]; then printf '#%s' "$fragment"; fi
    printf '\n'
)

# Executed rather than sourced: translate the one argument.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
    set -euo pipefail
    if (($# != 1)); then
        printf 'usage: scripts/lib/dburl.sh URL\n' >&2
        exit 2
    fi
    reports_dburl_to_libpq "$1"
fi
