"""reports-api fuzzed from its own OpenAPI document (schemathesis): no 500, and every answer conforms to the
document (a declared status, a declared content type, a body valid against the declared schema).

The document is loaded from the running app (``/openapi.json``, built from the catalog of a migrated and
refreshed database). Every GET operation -- the fixed routes and one per report -- is called with
generated query parameters, valid ones (positive) and invalid ones (negative: wrong types, out of range,
missing required ones), with valid bearer tokens: an admin, and a manager whose scope is their own deals
(other owners are refused with 403). Bounded: :data:`MAX_EXAMPLES` examples per operation, caller and
mode, a per-example deadline, and no shrinking, so the file runs in seconds.

schemathesis' pytest integration (``schemathesis.pytest.from_fixture``) does not work with pytest 9 (it
reads ``Function._nodeid``, which pytest 9 removed), so the operations are driven here through the public
strategy API (``APIOperation.as_strategy``) under Hypothesis' ``@given``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from http_support import bearer, first_user, refresh
from http_support import settings as api_settings
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import APIOperation, GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.python import asgi

from reports_http.app import create_app

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
#: Generated examples per operation, caller and generation mode (about 15 s for the whole file).
MAX_EXAMPLES = 15
#: Hypothesis' deadline per example (ms): a report call at scale 1 takes a few milliseconds.
DEADLINE_MS = 2000
FUZZ_SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    deadline=DEADLINE_MS,
    derandomize=True,  # the same examples every run: a failure reproduces
    database=None,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: the failure report names the request
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture
def api_schema(db_url: str) -> Iterator[schemathesis.BaseSchema]:
    """The app's own document; loading it starts the app (pool, catalog, LISTEN) for the calls that follow."""
    refresh(db_url)
    app = create_app(api_settings(db_url))
    try:
        yield schemathesis.openapi.from_asgi("/openapi.json", app)
    finally:
        # Stop the service schemathesis started (its pool holds connections) before the database is dropped.
        asgi.shutdown_lifespans()


def _fuzz(operation: APIOperation, mode: GenerationMode, headers: dict[str, str]) -> int:
    """Call ``operation`` with generated requests and check every answer; the number of calls made."""
    calls = 0

    @given(case=operation.as_strategy(generation_mode=mode, headers=headers))
    @FUZZ_SETTINGS
    def fuzz(case: schemathesis.Case) -> None:
        nonlocal calls
        calls += 1
        case.call_and_validate(checks=CHECKS)

    fuzz()
    return calls


def test_every_get_operation_conforms_to_the_openapi_document(
    api_schema: schemathesis.BaseSchema, db_url: str
) -> None:
    operations = [result.ok() for result in api_schema.get_all_operations()]
    gets = [op for op in operations if op.method.upper() == "GET"]
    paths = {op.path for op in gets}
    assert {"/health", "/reports", "/reports/dashboard", "/reports/revenue_by_period"} <= paths
    # An admin (scope all) with valid and invalid requests, and a manager (scope own: 403 on other owners)
    # with valid ones. Negative data needs something to break: operations without parameters get none.
    callers = {
        "admin": (bearer(roles=("admin",)), (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)),
        "manager": (bearer(first_user(db_url), roles=("manager",)), (GenerationMode.POSITIVE,)),
    }
    failures: dict[str, str] = {}
    calls: dict[str, int] = {}
    for operation in gets:
        for caller, (headers, modes) in callers.items():
            for mode in modes if len(operation.query) else (GenerationMode.POSITIVE,):
                try:
                    calls[operation.path] = calls.get(operation.path, 0) + _fuzz(operation, mode, headers)
                except Exception as exc:
                    failures[f"{operation.label} as {caller} ({mode.value} data)"] = str(exc)
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())
    reports = [op.path for op in gets if op.path.startswith("/reports/")]
    assert all(calls[path] >= 3 * MAX_EXAMPLES for path in reports), calls
