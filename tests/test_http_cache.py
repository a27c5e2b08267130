"""reports-api response cache and ETags: 304 without the database, hits and misses, invalidation by a
refresh (and after a lost LISTEN connection), caller scopes never shared, TTL expiry, size cap."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from http_support import P_FROM, P_TO, api, bearer, json_rows, refresh, sql_as_caller
from prometheus_client.parser import text_string_to_metric_families

from reports_core.db import connect
from reports_http.versions import DataVersions, SummaryVersion

REPORT = "/reports/revenue_by_period"
PARAMS = {"p_from": P_FROM, "p_to": P_TO, "p_grain": "quarter"}
SQL_PARAMS = {"p_from": date.fromisoformat(P_FROM), "p_to": date.fromisoformat(P_TO), "p_grain": "quarter"}


@pytest.fixture
def url(db_url: str) -> str:
    refresh(db_url)
    return db_url


def db_calls(client: TestClient) -> int:
    """Connections the service took from its pool so far (every report run takes one)."""
    stats = client.app.state.service.pool.get_stats()
    return int(stats.get("requests_num", 0))


def cache_counts(client: TestClient, report: str) -> dict[str, float]:
    text = client.get("/metrics").text
    counts = {"hit": 0.0, "miss": 0.0, "not_modified": 0.0}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "reports_http_cache_requests_total" and sample.labels["report"] == report:
                counts[sample.labels["result"]] = sample.value
    return counts


def wait_for_generation(client: TestClient, db_url: str, summary: str) -> float:
    """Seconds until the service took the summary's new generation from the refresh notification."""
    with connect(db_url, autocommit=True) as conn:
        row = conn.execute("SELECT generation FROM reports.summaries WHERE name = %s", [summary]).fetchone()
    assert row is not None
    versions = client.app.state.service.versions
    started = time.monotonic()
    while versions.summaries[summary].generation != row["generation"]:
        assert time.monotonic() - started < 5, "the refresh notification did not arrive"
        time.sleep(0.005)
    return time.monotonic() - started


def add_won_deal(db_url: str, owner_id: int, amount: Decimal) -> None:
    """A deal won on 2026-02-15 (quarter 2026-01-01 of PARAMS) by ``owner_id``."""
    with connect(db_url, autocommit=True) as conn:
        conn.execute(
            """
            INSERT INTO crm.deals (client_id, owner_id, title, stage, status, amount, created_at, closed_at)
            SELECT c.id, %s, 'cache test', 'won', 'won', %s, '2026-01-10 09:00+00', '2026-02-15 12:00+00'
            FROM crm.clients AS c WHERE c.deleted_at IS NULL ORDER BY c.id LIMIT 1
            """,
            [owner_id, amount],
        )


def managers(db_url: str) -> list[int]:
    """Two users with a team and won deals in the range (so each manager sees rows of their own)."""
    with connect(db_url, autocommit=True) as conn:
        rows = conn.execute(
            """
            SELECT u.id FROM crm.users AS u
            WHERE u.team_id IS NOT NULL AND EXISTS (
                SELECT FROM crm.deals AS d
                WHERE d.owner_id = u.id AND d.status = 'won' AND d.deleted_at IS NULL
                  AND d.closed_at >= %s::date AND d.closed_at < %s::date + 1
            )
            ORDER BY u.id LIMIT 2
            """,
            [P_FROM, P_TO],
        ).fetchall()
    assert len(rows) == 2
    return [int(r["id"]) for r in rows]


def test_a_matching_etag_is_304_without_running_the_report(url: str) -> None:
    with api(url) as client:
        first = client.get(REPORT, params=PARAMS, headers=bearer())
        tag = first.headers["ETag"]
        calls = db_calls(client)
        again = client.get(REPORT, params=PARAMS, headers={**bearer(), "If-None-Match": tag})
        listed = client.get(REPORT, params=PARAMS, headers={**bearer(), "If-None-Match": f'W/"x", {tag}'})
        strong = client.get(
            REPORT, params=PARAMS, headers={**bearer(), "If-None-Match": tag.removeprefix("W/")}
        )
        assert db_calls(client) == calls  # none of the three took a connection
        other = client.get(REPORT, params=PARAMS, headers={**bearer(), "If-None-Match": 'W/"not-it"'})
        counts = cache_counts(client, "revenue_by_period")
    assert first.status_code == 200
    assert tag.startswith('W/"') and len(tag) > 10
    assert first.headers["Cache-Control"] == "private, max-age=60"
    with connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT min(refreshed_at) AS oldest FROM reports.summaries "
            "WHERE name IN ('deal_outcomes_daily', 'payments_collected_daily')"
        ).fetchone()
    assert row is not None
    assert parsedate_to_datetime(first.headers["Last-Modified"]) == row["oldest"].astimezone(UTC).replace(
        microsecond=0
    )
    for response in (again, listed, strong):
        assert response.status_code == 304
        assert response.content == b""
        assert response.headers["ETag"] == tag
        assert response.headers["Cache-Control"] == "private, max-age=60"
    assert other.status_code == 200 and other.content == first.content
    assert counts["not_modified"] == 3


def test_hits_and_misses_and_defaults_normalised(url: str) -> None:
    with api(url) as client:
        start = db_calls(client)
        miss = client.get(REPORT, params=PARAMS, headers=bearer())
        after_miss = db_calls(client)
        hit = client.get(REPORT, params=PARAMS, headers=bearer())
        after_hit = db_calls(client)
        default_grain = {"p_from": P_FROM, "p_to": P_TO}
        implicit = client.get(REPORT, params=default_grain, headers=bearer())
        explicit = client.get(REPORT, params={**default_grain, "p_grain": "month"}, headers=bearer())
        end = db_calls(client)
        csv = client.get(REPORT, params={**PARAMS, "format": "csv"}, headers=bearer())
        counts = cache_counts(client, "revenue_by_period")
    assert after_miss == start + 1 and after_hit == after_miss and end == after_hit + 1
    assert hit.status_code == 200 and hit.content == miss.content
    assert hit.headers["ETag"] == miss.headers["ETag"]
    assert hit.headers["Content-Length"] == str(len(hit.content))
    assert explicit.content == implicit.content and explicit.headers["ETag"] == implicit.headers["ETag"]
    assert csv.headers["ETag"] != miss.headers["ETag"]
    assert csv.headers["Content-Type"].startswith("text/csv")
    assert counts == {"hit": 2.0, "miss": 3.0, "not_modified": 0.0}


def test_a_refresh_invalidates_the_cached_answers_of_its_summaries(url: str) -> None:
    user_id = 1
    with api(url) as client:
        before = client.get(REPORT, params=PARAMS, headers=bearer(user_id))
        pipeline = client.get(
            "/reports/stage_funnel", params={"p_from": P_FROM, "p_to": P_TO}, headers=bearer()
        )
        add_won_deal(url, user_id, Decimal("1234.56"))
        cached = client.get(REPORT, params=PARAMS, headers=bearer(user_id))  # not refreshed yet: same data
        refresh(url)
        waited = wait_for_generation(client, url, "deal_outcomes_daily")
        calls = db_calls(client)
        after = client.get(REPORT, params=PARAMS, headers=bearer(user_id))
        revalidated = client.get(
            REPORT, params=PARAMS, headers={**bearer(user_id), "If-None-Match": before.headers["ETag"]}
        )
        assert db_calls(client) == calls + 1  # the stale entry was dropped: run once, then served
        funnel = client.get(
            "/reports/stage_funnel",
            params={"p_from": P_FROM, "p_to": P_TO},
            headers={**bearer(), "If-None-Match": pipeline.headers["ETag"]},
        )
    assert waited < 2
    assert cached.content == before.content
    assert after.headers["ETag"] != before.headers["ETag"]
    assert revalidated.status_code == 200 and revalidated.content == after.content
    rows = {r["period_start"]: r for r in json_rows(after)}
    old = {r["period_start"]: r for r in json_rows(before)}
    quarter = date(2026, 1, 1)
    assert rows[quarter]["won_deals"] == old[quarter]["won_deals"] + 1
    assert rows[quarter]["won_amount"] == old[quarter]["won_amount"] + Decimal("1234.56")
    assert json_rows(after) == sql_as_caller(url, "revenue_by_period", SQL_PARAMS, user_id, ["admin"])
    # stage_funnel reads stage_funnel_daily, which the new deal (no stage history) left unchanged.
    assert funnel.status_code == 304


def test_a_refresh_while_listen_was_down_is_caught_up_on_reconnect(url: str) -> None:
    with api(url) as client:
        service = client.app.state.service
        before = client.get(REPORT, params=PARAMS, headers=bearer())
        with connect(url, autocommit=True) as conn:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = 'reports-api listen' AND datname = current_database()"
            )
        deadline = time.monotonic() + 5
        while service.listener.connected.is_set():
            assert time.monotonic() < deadline
            time.sleep(0.01)
        bypassed = client.get(
            REPORT, params=PARAMS, headers={**bearer(), "If-None-Match": before.headers["ETag"]}
        )
        add_won_deal(url, 1, Decimal("10.00"))
        refresh(url)  # its notification is sent while the service is not listening
        assert service.listener.connected.wait(10)
        after = client.get(REPORT, params=PARAMS, headers=bearer())
    assert bypassed.status_code == 200 and "ETag" not in bypassed.headers  # data version unknown
    assert after.content != before.content
    assert json_rows(after) == sql_as_caller(url, "revenue_by_period", SQL_PARAMS, 1, ["admin"])


def test_two_managers_and_two_roles_never_share_an_entry(url: str) -> None:
    first, second = managers(url)
    default = {"p_from": P_FROM, "p_to": P_TO}
    scopes = [(first, "manager"), (second, "manager"), (first, "admin"), (first, "manager")]
    answers: list[tuple[Any, int]] = []
    with api(url) as client:
        for user_id, role in scopes:
            calls = db_calls(client)
            response = client.get(REPORT, params=default, headers=bearer(user_id, [role]))
            answers.append((response, db_calls(client) - calls))
        cross = client.get(
            REPORT,
            params=default,
            headers={**bearer(second, ["manager"]), "If-None-Match": answers[0][0].headers["ETag"]},
        )
    assert [ran for _, ran in answers] == [1, 1, 1, 0]  # each scope ran once; the repeated one was a hit
    for (user_id, role), (response, _) in zip(scopes, answers, strict=True):
        assert json_rows(response) == sql_as_caller(url, "revenue_by_period", default, user_id, [role])
    assert json_rows(answers[0][0]) != json_rows(answers[1][0])
    assert len({response.headers["ETag"] for response, _ in answers[:3]}) == 3
    assert cross.status_code == 200 and json_rows(cross) == json_rows(answers[1][0])


def test_entries_expire_after_the_ttl(url: str) -> None:
    with api(url, cache_ttl=1) as client:
        first = client.get(REPORT, params=PARAMS, headers=bearer())
        calls = db_calls(client)
        client.get(REPORT, params=PARAMS, headers=bearer())
        hit_calls = db_calls(client)
        time.sleep(1.1)
        expired = client.get(REPORT, params=PARAMS, headers=bearer())
        expired_calls = db_calls(client)
    assert first.headers["Cache-Control"] == "private, max-age=1"
    assert hit_calls == calls and expired_calls == calls + 1
    assert expired.content == first.content and expired.headers["ETag"] == first.headers["ETag"]


def test_bodies_above_the_size_cap_are_not_cached_but_still_revalidate(url: str) -> None:
    with api(url, cache_max_bytes=200) as client:
        first = client.get(REPORT, params=PARAMS, headers=bearer())
        calls = db_calls(client)
        second = client.get(REPORT, params=PARAMS, headers=bearer())
        ran = db_calls(client) - calls
        not_modified = client.get(
            REPORT, params=PARAMS, headers={**bearer(), "If-None-Match": first.headers["ETag"]}
        )
        entries = client.app.state.service.cache.size
    assert len(first.content) > 200
    assert ran == 1 and second.content == first.content
    assert not_modified.status_code == 304
    assert entries == 0


def test_errors_are_neither_cached_nor_tagged(url: str) -> None:
    with api(url) as client:
        bad = client.get(REPORT, params={**PARAMS, "p_grain": "fortnight"}, headers=bearer())
        again = client.get(REPORT, params={**PARAMS, "p_grain": "fortnight"}, headers=bearer())
        missing = client.get(REPORT, params=PARAMS)
        entries = client.app.state.service.cache.size
    assert bad.status_code == again.status_code == 400
    assert missing.status_code == 401
    for response in (bad, again, missing):
        assert "ETag" not in response.headers
    assert entries == 0


def test_a_data_version_is_remembered_until_a_generation_the_definitions_or_the_day_change(url: str) -> None:
    versions = DataVersions(url, "UTC")
    assert versions.reload("test")
    summaries = ("deal_outcomes_daily", "payments_collected_daily")

    def expected() -> str:
        """The version made from scratch, as the module docstring defines it."""
        known = versions.summaries
        generations = ",".join(str(known[name].generation) for name in summaries)
        return f"{generations};a{versions._access};{versions._definitions};{versions.today().isoformat()}"

    first = versions.version(summaries)
    assert first == expected() and versions.version(summaries) is first  # the second one is remembered
    generation = versions.summaries["deal_outcomes_daily"].generation
    add_won_deal(url, 1, Decimal("5.00"))
    refresh(url)  # deal_outcomes_daily changes: a new generation
    assert versions.reload("test")
    bumped = versions.version(summaries)
    assert bumped is not None and bumped != first and bumped == expected()
    assert bumped.startswith(f"{generation + 1},")
    assert versions.version(("payments_collected_daily",)) == expected().split(",", 1)[1]
    versions._definitions = versions._definitions + "x"  # as a reload after `reports migrate` does
    redefined = versions.version(summaries)
    assert redefined != bumped and redefined == expected()
    tomorrow = versions.today() + timedelta(days=1)
    versions.today = lambda: tomorrow  # type: ignore[assignment]
    next_day = versions.version(summaries)
    assert next_day is not None and next_day == expected() and tomorrow.isoformat() in next_day
    assert versions.version(("no_such_summary",)) is None and versions.version(()) is None


def test_last_modified_follows_the_refresh_times_even_at_the_same_data_version(url: str) -> None:
    with api(url) as client:
        first = client.get(REPORT, params=PARAMS, headers=bearer())
        versions = client.app.state.service.versions
        # As a refresh notification's reload does: the same generations, other (exact) refresh times.
        later = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
        versions._summaries = {n: SummaryVersion(v.generation, later) for n, v in versions.summaries.items()}
        second = client.get(REPORT, params=PARAMS, headers=bearer())
        revalidated = client.get(
            REPORT, params=PARAMS, headers={**bearer(), "If-None-Match": first.headers["ETag"]}
        )
    assert second.headers["ETag"] == first.headers["ETag"]
    assert parsedate_to_datetime(first.headers["Last-Modified"]) != later
    assert parsedate_to_datetime(second.headers["Last-Modified"]) == later
    assert revalidated.status_code == 304
    assert parsedate_to_datetime(revalidated.headers["Last-Modified"]) == later


def wait_for_access_version(client: TestClient, db_url: str) -> None:
    """Until the service took the access version from its notification (5 s at most)."""
    with connect(db_url, autocommit=True) as conn:
        row = conn.execute("SELECT reports.api_access_version() AS v").fetchone()
    assert row is not None
    versions = client.app.state.service.versions
    started = time.monotonic()
    while versions.version(("deal_outcomes_daily",)) is None or f";a{row['v']};" not in str(
        versions.version(("deal_outcomes_daily",))
    ):
        assert time.monotonic() - started < 5, "the access notification did not arrive"
        time.sleep(0.005)


def test_a_changed_or_revoked_access_rule_drops_the_cached_answers(url: str) -> None:
    user_id, caller = 1, bearer(1, ("analyst",))
    with api(url) as client:
        wide = client.get(REPORT, params=PARAMS, headers=caller)
        assert client.get(REPORT, params=PARAMS, headers=caller).content == wide.content  # cached
        with connect(url, autocommit=True) as conn:
            conn.execute("UPDATE reports.access_rules SET scope = 'own' WHERE subject = 'analyst'")
        wait_for_access_version(client, url)
        narrowed = client.get(REPORT, params=PARAMS, headers=caller)
        expected = sql_as_caller(url, "revenue_by_period", SQL_PARAMS, user_id, ["analyst"])
        revalidated = client.get(
            REPORT, params=PARAMS, headers={**caller, "If-None-Match": wide.headers["ETag"]}
        )
        with connect(url, autocommit=True) as conn:
            conn.execute("DELETE FROM reports.access_rules WHERE subject = 'analyst'")
        wait_for_access_version(client, url)
        revoked = client.get(REPORT, params=PARAMS, headers=caller)
    assert narrowed.headers["ETag"] != wide.headers["ETag"]
    assert json_rows(narrowed) != json_rows(wide)
    assert json_rows(narrowed) == expected
    assert revalidated.status_code == 200
    assert revoked.status_code == 403


def test_a_user_moved_to_another_team_drops_the_cached_answers_of_the_team_scope(url: str) -> None:
    from capture_support import install_capture

    install_capture(url)
    with connect(url, autocommit=True) as conn:
        head, mate, team = (
            conn.execute(
                """
            SELECT h.id AS head, m.id AS mate, h.team_id AS team FROM crm.users AS h
            JOIN crm.users AS m ON m.team_id = h.team_id AND m.id <> h.id
            WHERE EXISTS (SELECT FROM crm.deals AS d WHERE d.owner_id = m.id AND d.status = 'won'
                          AND d.deleted_at IS NULL AND d.closed_at >= %s::date AND d.closed_at < %s::date + 1)
            ORDER BY h.id, m.id LIMIT 1
            """,
                [P_FROM, P_TO],
            )
            .fetchone()
            .values()
        )  # type: ignore[union-attr]
        other = conn.execute("SELECT min(id) AS t FROM crm.teams WHERE id <> %s", [team]).fetchone()["t"]  # type: ignore[index]
        version = conn.execute("SELECT reports.api_access_version() AS v").fetchone()["v"]  # type: ignore[index]
    caller = bearer(head, ("head",))
    with api(url) as client:
        before = client.get(REPORT, params=PARAMS, headers=caller)
        with connect(url, autocommit=True) as conn:
            conn.execute("UPDATE crm.users SET full_name = full_name || ' (renamed)' WHERE id = %s", [mate])
            unchanged = conn.execute("SELECT reports.api_access_version() AS v").fetchone()["v"]  # type: ignore[index]
            conn.execute("UPDATE crm.users SET team_id = %s WHERE id = %s", [other, mate])
        wait_for_access_version(client, url)
        after = client.get(REPORT, params=PARAMS, headers=caller)
    assert unchanged == version  # a change of name changes no scope
    assert after.headers["ETag"] != before.headers["ETag"]
    assert json_rows(after) != json_rows(before)
    assert json_rows(after) == sql_as_caller(url, "revenue_by_period", SQL_PARAMS, head, ["head"])


def test_every_change_of_the_db_role_mapping_bumps_the_access_version(db_url: str) -> None:
    with connect(db_url, autocommit=True) as conn:
        first = conn.execute("SELECT reports.api_access_version() AS v").fetchone()["v"]  # type: ignore[index]
        conn.execute("INSERT INTO reports.db_role_users (role_name, user_id) VALUES ('someone', 1)")
        conn.execute("DELETE FROM reports.db_role_users WHERE role_name = 'someone'")
        last = conn.execute("SELECT reports.api_access_version() AS v").fetchone()["v"]  # type: ignore[index]
    assert last == first + 2
