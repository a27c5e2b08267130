"""The ?search_path= URL translation: reports_core.dburl.to_libpq and scripts/lib/dburl.sh, same table."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest

from reports_core.dburl import to_libpq
from reports_core.errors import ConfigError
from reports_core.paths import PROJECT_ROOT

DBURL_SH = PROJECT_ROOT / "scripts" / "lib" / "dburl.sh"
SP = "options=-csearch_path%3Dreports"

# (id, input, expected libpq form)
CASES = [
    (
        "search_path alone",
        "postgresql://u@db.example:5432/crm?search_path=reports",
        f"postgresql://u@db.example:5432/crm?{SP}",
    ),
    (
        "with other parameters",
        "postgresql://u@h:5432/crm?sslmode=require&search_path=reports&connect_timeout=5",
        f"postgresql://u@h:5432/crm?sslmode=require&connect_timeout=5&{SP}",
    ),
    (
        "existing options first",
        "postgresql://u@h/crm?options=-c%20statement_timeout%3D5s&search_path=reports",
        "postgresql://u@h/crm?options=-c%20statement_timeout%3D5s%20-csearch_path%3Dreports",
    ),
    (
        "existing options after",
        "postgresql://u@h/crm?search_path=reports&options=-cwork_mem%3D64MB",
        "postgresql://u@h/crm?options=-cwork_mem%3D64MB%20-csearch_path%3Dreports",
    ),
    (
        "two schemas with a space",
        "postgresql://u@h/crm?search_path=reports,%20public",
        "postgresql://u@h/crm?options=-csearch_path%3Dreports%2C%5C%20public",
    ),
    (
        "last search_path wins",
        "postgresql://u@h/crm?search_path=x&search_path=reports",
        f"postgresql://u@h/crm?{SP}",
    ),
    ("postgres scheme", "postgres://u@h/crm?search_path=reports", f"postgres://u@h/crm?{SP}"),
    ("no query", "postgresql://u:pw@h:5432/crm", "postgresql://u:pw@h:5432/crm"),
    (
        "query without search_path",
        "postgresql://u@h/crm?sslmode=disable",
        "postgresql://u@h/crm?sslmode=disable",
    ),
    (
        "key=value DSN",
        "host=h port=5432 dbname=crm options='-csearch_path=reports'",
        "host=h port=5432 dbname=crm options='-csearch_path=reports'",
    ),
    (
        "password with special characters",
        "postgresql://app:p%40ss%3Aw%2Fo%23rd%3F%26@h:5432/crm?search_path=reports",
        f"postgresql://app:p%40ss%3Aw%2Fo%23rd%3F%26@h:5432/crm?{SP}",
    ),
    (
        "non-ASCII schema",
        "postgresql://u@h/crm?search_path=r%C3%A9ports",
        "postgresql://u@h/crm?options=-csearch_path%3Dr%C3%A9ports",
    ),
    (
        "no host (local socket)",
        "postgresql:///crm?search_path=reports",
        f"postgresql:///crm?{SP}",
    ),
    (
        "plus sign in another parameter",
        "postgresql://u@h/crm?application_name=etl+nightly&search_path=reports",
        f"postgresql://u@h/crm?application_name=etl+nightly&{SP}",
    ),
]


def bash_to_libpq(url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", 'source "$1" && reports_dburl_to_libpq "$2"', "bash", str(DBURL_SH), url],
        capture_output=True,
        text=True,
        check=False,
    )


def all_cases() -> list[Any]:
    return [pytest.param(url, expected, id=name) for name, url, expected in CASES]


@pytest.mark.parametrize(("url", "expected"), all_cases())
def test_python_translation(url: str, expected: str) -> None:
    assert to_libpq(url) == expected


@pytest.mark.parametrize(("url", "expected"), all_cases())
def test_bash_translation(url: str, expected: str) -> None:
    proc = bash_to_libpq(url)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, expected + "\n", "")


def test_bash_library_also_runs_as_a_command() -> None:
    proc = subprocess.run(
        [str(DBURL_SH), "postgresql://u@h/crm?search_path=reports"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (proc.returncode, proc.stdout) == (0, f"postgresql://u@h/crm?{SP}\n")
    assert subprocess.run([str(DBURL_SH)], capture_output=True, check=False).returncode == 2


def test_other_schemes_are_refused_by_both() -> None:
    with pytest.raises(ConfigError, match="must start with postgresql://"):
        to_libpq("mysql://u@h/crm?search_path=reports")
    proc = bash_to_libpq("mysql://u@h/crm?search_path=reports")
    assert proc.returncode == 2
    assert proc.stderr == "error: database URL must start with postgresql:// (got scheme 'mysql')\n"


@pytest.mark.parametrize(
    ("query", "shown"),
    [
        pytest.param("search_path=reports", "reports", id="search_path"),
        pytest.param("search_path=reports,%20public", "reports, public", id="two schemas"),
        pytest.param("options=-cwork_mem%3D64MB&search_path=reports", "reports", id="with options"),
    ],
)
@pytest.mark.parametrize("translate", ["python", "bash"])
def test_psql_connects_with_the_translated_url(
    empty_db_url: str, query: str, shown: str, translate: str
) -> None:
    base = empty_db_url.split("?")[0]
    # a password with URI-special characters (trust authentication ignores it, libpq must still parse it)
    url = base.replace("postgres@", "postgres:p%40ss%3Aw%2Fo%23rd@", 1) + "?" + query
    libpq = to_libpq(url) if translate == "python" else bash_to_libpq(url).stdout.strip()
    proc = subprocess.run(
        ["psql", "-X", "-At", "-d", libpq, "-c", "SHOW search_path", "-c", "SHOW work_mem"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    search_path, work_mem = proc.stdout.splitlines()
    assert search_path == shown
    if "work_mem" in query:
        assert work_mem == "64MB"


def test_untranslated_url_is_what_libpq_rejects(empty_db_url: str) -> None:
    """Why the translation exists (if libpq ever accepts it, the scripts could drop it)."""
    proc = subprocess.run(
        ["psql", "-X", "-At", "-d", empty_db_url, "-c", "SELECT 1"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode != 0
    assert 'invalid URI query parameter: "search_path"' in proc.stderr
