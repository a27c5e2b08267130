"""Translate the platform's database URLs into what libpq accepts.

The platform writes ``REPORTS_DATABASE_URL`` as
``postgresql://user:pass@host:port/crm?search_path=reports`` (an asyncpg-style
query parameter). libpq rejects ``search_path`` in a URI, so it is turned into
``options=-csearch_path=reports`` (merged with any ``options`` already there).
Every other query parameter passes through unchanged.

``scripts/lib/dburl.sh`` implements the same translation for psql-only scripts;
``tests/test_dburl.py`` checks both against the same cases.
"""

from __future__ import annotations

import sys
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from reports_core.errors import ConfigError

_SCHEMES = ("postgresql", "postgres")


def to_libpq(url: str) -> str:
    """Return ``url`` with a ``search_path`` query parameter moved into ``options``.

    Every other part of the URL is kept exactly as written (libpq decodes it itself).
    Key=value connection strings (``host=... dbname=...``) are returned unchanged.
    """
    if "://" not in url:
        return url
    scheme = url.split("://", 1)[0]
    if scheme not in _SCHEMES:
        raise ConfigError(f"database URL must start with postgresql:// (got scheme {scheme!r})")
    base, sep, query = url.partition("?")
    if not sep:
        return url
    fragment = ""
    if "#" in query:
        query, fragment = query.split("#", 1)
        fragment = "#" + fragment
    kept: list[str] = []
    options: list[str] = []
    search_path: str | None = None
    for item in query.split("&"):
        key, _, value = item.partition("=")
        if unquote(key) == "search_path":
            search_path = unquote(value)
        elif unquote(key) == "options":
            options.append(value)
        else:
            kept.append(item)
    if search_path is None:
        return url
    option = "-csearch_path=" + search_path.replace(" ", "\\ ")
    options.append(quote(option, safe=""))
    kept.append("options=" + "%20".join(options))
    return f"{base}?{'&'.join(kept)}{fragment}"


def redact(url: str) -> str:
    """Return ``url`` with its password replaced by ``***`` (for logs and messages)."""
    if "://" not in url:
        return url
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def main() -> None:
    """``python -m reports_core.dburl URL`` prints the libpq form (for Makefile and scripts);
    ``--redact URL`` prints the URL with its password hidden."""
    args = sys.argv[1:]
    redacting = args[:1] == ["--redact"]
    args = args[1:] if redacting else args
    if len(args) != 1:
        print("usage: python -m reports_core.dburl [--redact] URL", file=sys.stderr)
        raise SystemExit(2)
    try:
        print(redact(args[0]) if redacting else to_libpq(args[0]))
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
