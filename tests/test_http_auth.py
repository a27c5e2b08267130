"""reports-api identity: JWT (HS256, RS256, ES256; expiry, audience), gateway headers, insecure-dev only on
loopback; 401 with WWW-Authenticate; 403 when the report refuses the caller."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import jwt
import psycopg
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from http_support import (
    AUDIENCE,
    CALLS,
    P_FROM,
    P_TO,
    SECRET,
    api,
    bearer,
    first_user,
    json_rows,
    refresh,
    settings,
    sql_as_caller,
    token,
    typed_params,
)

from reports_core.db import connect
from reports_core.errors import ConfigError
from reports_http.app import create_app

RANGE = {"p_from": P_FROM, "p_to": P_TO}
PATH = "/reports/stage_funnel"


def _pem(private_key: Any) -> str:
    public = private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return public.decode()


def _unauthorized(response: Any, words: str) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["code"] == "28000"
    assert words in response.json()["message"], response.json()


def _call(client: Any, headers: dict[str, str] | None = None) -> Any:
    return client.get(PATH, params=RANGE, headers=headers or {})


def _raw(value: str) -> dict[str, str]:
    return {"Authorization": value}


def test_jwt_refusals_are_401_with_www_authenticate(db_url: str) -> None:
    wrong_key = "another-secret-that-is-long-enough-for-hs256"
    no_exp = jwt.encode({"sub": "1", "roles": ["admin"]}, SECRET, algorithm="HS256")
    unsigned = jwt.encode({"sub": "1", "exp": 2**40}, None, algorithm="none")
    with api(db_url) as client:
        _unauthorized(_call(client), "a bearer token is required")
        _unauthorized(_call(client, _raw("Basic dXNlcjpwdw==")), "a bearer token is required")
        _unauthorized(_call(client, _raw("Bearer not.a.jwt")), "invalid bearer token")
        _unauthorized(_call(client, bearer(key=wrong_key)), "Signature verification failed")
        _unauthorized(_call(client, bearer(expires_in=-3600)), "Signature has expired")
        _unauthorized(_call(client, _raw(f"Bearer {no_exp}")), 'missing the "exp" claim')
        _unauthorized(_call(client, bearer("abc")), "positive integer user id")
        _unauthorized(_call(client, bearer("1", ["Admin;"])), "invalid role name")
        _unauthorized(_call(client, _raw(f"Bearer {unsigned}")), "invalid bearer token")
        response = _call(client, bearer(expires_in=-3600))
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_audience_is_checked_when_configured(db_url: str) -> None:
    with api(db_url, jwt_audience=AUDIENCE) as client:
        _unauthorized(_call(client, bearer(aud="another-service")), "Audience doesn't match")
        _unauthorized(_call(client, bearer()), 'missing the "aud" claim')
        assert _call(client, bearer(aud=AUDIENCE)).status_code == 200


def test_roles_and_user_claims_are_configurable(db_url: str) -> None:
    refresh(db_url)
    user_id = first_user(db_url)
    claims = {"uid": user_id, "app_roles": "manager"}
    with api(db_url, jwt_user_claim="uid", jwt_roles_claim="app_roles") as client:
        response = client.get(
            PATH, params=RANGE, headers={"Authorization": f"Bearer {token(roles=None, **claims)}"}
        )
    assert response.status_code == 200, response.text
    assert json_rows(response) == sql_as_caller(
        db_url, "stage_funnel", typed_params(RANGE), user_id, ["manager"]
    )


@pytest.mark.parametrize("kind", ["rsa", "ec"])
def test_public_key_tokens_rs256_and_es256(db_url: str, kind: str) -> None:
    if kind == "rsa":
        private: Any = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        algorithm = "RS256"
    else:
        private = ec.generate_private_key(ec.SECP256R1())
        algorithm = "ES256"
    public_pem = _pem(private)
    with api(db_url, jwt_secret=None, jwt_public_key=public_pem) as client:
        good = client.get(PATH, params=RANGE, headers=bearer(key=private, algorithm=algorithm))
        assert good.status_code == 200, good.text
        # algorithm confusion: an HS256 token "signed" with the public key text is refused
        confused = jwt.api_jws.PyJWS()
        confused._algorithms["HS256"].prepare_key = lambda key: key  # type: ignore[method-assign]
        forged = confused.encode(b'{"sub":"1","exp":99999999999}', public_pem.encode(), algorithm="HS256")
        _unauthorized(
            client.get(PATH, params=RANGE, headers={"Authorization": f"Bearer {forged}"}), "invalid"
        )


def test_gateway_headers_identify_the_caller(db_url: str) -> None:
    refresh(db_url)
    user_id = first_user(db_url)
    with api(db_url, auth="gateway-headers", jwt_secret=None) as client:
        headers = {"X-User-Id": str(user_id), "X-User-Roles": "manager, analyst"}
        response = client.get("/reports/top_clients", params=CALLS["top_clients"], headers=headers)
        _unauthorized(client.get(PATH, params=RANGE), "X-User-Id header is required")
        _unauthorized(client.get(PATH, params=RANGE, headers={"X-User-Id": "0"}), "positive integer")
        bearer_only = client.get(PATH, params=RANGE, headers=bearer())
    assert response.status_code == 200, response.text
    expected = sql_as_caller(
        db_url, "top_clients", typed_params(CALLS["top_clients"]), user_id, ["manager", "analyst"]
    )
    assert json_rows(response) == expected
    _unauthorized(bearer_only, "X-User-Id")


def test_insecure_dev_serves_anonymous_requests_on_loopback(
    db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    refresh(db_url)
    with api(db_url, auth="insecure-dev", jwt_secret=None, host="127.0.0.1") as client:
        response = client.get("/reports/sales_pipeline")
    assert response.status_code == 200, response.text
    assert json_rows(response) == sql_as_caller(db_url, "sales_pipeline", {}, 1, ["admin"])
    assert any("NO AUTHENTICATION" in r.getMessage() and r.levelname == "WARNING" for r in caplog.records)


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"auth": "insecure-dev", "host": "0.0.0.0"}, "refused on REPORTS_HOST=0.0.0.0"),  # noqa: S104
        ({"auth": "insecure-dev", "host": "10.1.2.3"}, "use a loopback address"),
        ({"auth": "jwt", "jwt_secret": None}, "REPORTS_AUTH=jwt needs REPORTS_JWT_SECRET"),
        (
            {"auth": "jwt", "jwt_public_key": "-----BEGIN PUBLIC KEY-----\nxx\n-----END PUBLIC KEY-----"},
            "both set",
        ),
        ({"auth": "jwt", "jwt_secret": None, "jwt_public_key": "/nonexistent/key.pem"}, "neither a PEM"),
    ],
)
def test_unusable_identity_settings_stop_the_start(overrides: dict[str, Any], words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        create_app(settings("postgresql://nobody@127.0.0.1:1/none", **overrides))


def test_reports_api_refuses_insecure_dev_on_a_public_host_in_one_line() -> None:
    env = {
        **os.environ,
        "REPORTS_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none",
        "REPORTS_AUTH": "insecure-dev",
        "REPORTS_HOST": "0.0.0.0",  # noqa: S104
    }
    result = subprocess.run(
        [sys.executable, "-c", "from reports_cli.app import serve_api_main; serve_api_main()"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: REPORTS_AUTH=insecure-dev"), result.stderr


def test_a_report_refused_by_the_access_rules_is_403(db_url: str) -> None:
    refresh(db_url)
    user_id = first_user(db_url)
    with connect(db_url, autocommit=True) as conn:
        conn.execute(
            "DELETE FROM reports.access_rules WHERE subject = 'manager' AND subject_kind = 'app_role'"
        )
        conn.execute(
            "INSERT INTO reports.access_rules (subject, subject_kind, report, scope)"
            " VALUES ('manager', 'app_role', 'sales_pipeline', 'own')"
        )
        other = conn.execute(
            "SELECT id FROM crm.users WHERE id <> %s ORDER BY id LIMIT 1", [user_id]
        ).fetchone()
    assert other is not None
    manager = bearer(user_id, ["manager"])
    with api(db_url) as client:
        denied = client.get("/reports/revenue_by_period", params=RANGE, headers=manager)
        allowed = client.get("/reports/sales_pipeline", headers=manager)
        outside = client.get("/reports/sales_pipeline", params={"p_owner_id": other["id"]}, headers=manager)
        no_role = client.get("/reports/sales_pipeline", headers=bearer(user_id, []))
    assert denied.status_code == 403, denied.text
    body = denied.json()
    assert body["code"] == "42501"
    assert body["message"].startswith("permission denied for report revenue_by_period")
    assert "reports.access_rules" in body["hint"]
    assert allowed.status_code == 200
    assert outside.status_code == 403 and "outside the caller's scope" in outside.json()["message"]
    assert no_role.status_code == 403


# -- identity headers and ids that a hostile client can send ------------------------------------------
def _bad_request(response: Any, words: str) -> None:
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "22023"
    assert words in response.json()["message"], response.json()


def test_a_repeated_identity_header_is_400_never_a_guess(db_url: str) -> None:
    refresh(db_url)
    first, second = first_user(db_url), first_user(db_url, with_team=False)
    one = {"X-User-Id": str(first), "X-User-Roles": "admin"}
    with api(db_url, auth="gateway-headers", jwt_secret=None) as client:
        for _ in range(3):  # the first caller's answer is cached and its ETag known
            assert client.get(PATH, params=RANGE, headers=one).status_code == 200
        twice = [("X-User-Id", str(first)), ("X-User-Id", str(second)), ("X-User-Roles", "admin")]
        _bad_request(client.get(PATH, params=RANGE, headers=twice), "X-User-Id header is repeated")
        roles_twice = [("X-User-Id", str(first)), ("X-User-Roles", "manager"), ("x-user-roles", "admin")]
        _bad_request(client.get(PATH, params=RANGE, headers=roles_twice), "X-User-Roles header is repeated")
        _bad_request(client.post("/refresh", headers=twice), "X-User-Id header is repeated")
    with api(db_url) as client:
        tokens = [
            ("Authorization", bearer(first)["Authorization"]),
            ("Authorization", bearer(second)["Authorization"]),
        ]
        _bad_request(client.get(PATH, params=RANGE, headers=tokens), "Authorization header is repeated")


@pytest.mark.parametrize(
    "user_id", ["\u0665", " 5 ", "5 ", "+5", "\u00b2", "5.0", "0x5", "9223372036854775808", "", "-1"]
)
def test_user_ids_are_ascii_digits_within_bigint_only(db_url: str, user_id: str) -> None:
    with api(db_url, auth="gateway-headers", jwt_secret=None) as client:
        response = client.get(
            PATH, params=RANGE, headers={"X-User-Id": user_id.encode(), "X-User-Roles": "admin"}
        )
        words = "X-User-Id header is required" if not user_id.strip() else "positive integer user id"
        _unauthorized(response, words)
    with api(db_url) as client:
        forged = token(sub=user_id) if user_id else token(sub="")
        _unauthorized(
            client.get(PATH, params=RANGE, headers={"Authorization": f"Bearer {forged}"}), "invalid"
        )


def test_the_largest_user_id_python_accepts_is_the_largest_sql_accepts(db_url: str) -> None:
    largest = 2**63 - 1
    with connect(db_url, autocommit=True) as conn, conn.transaction():
        conn.execute("SET LOCAL ROLE reports_api")
        conn.execute("SELECT reports.set_caller(%s::bigint, '{admin}')", [largest])
        row = conn.execute("SELECT current_setting('reports.caller_user_id') AS id").fetchone()
    assert row is not None and row["id"] == str(largest)
    with connect(db_url, autocommit=True) as conn, conn.transaction():  # one past it, set by hand: refused
        conn.execute("SET LOCAL ROLE reports_api")
        conn.execute("SELECT set_config('reports.caller_user_id', %s, true)", [str(largest + 1)])
        conn.execute("SELECT set_config('reports.caller_roles', 'admin', true)")
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="caller context is malformed"):
            conn.execute("SELECT * FROM reports.sales_pipeline()")
    with api(db_url, auth="gateway-headers", jwt_secret=None) as client:
        response = client.get(
            PATH, params=RANGE, headers={"X-User-Id": str(largest), "X-User-Roles": "admin"}
        )
    assert response.status_code == 200, response.text


def test_identity_headers_and_tokens_over_8_kb_are_refused(db_url: str) -> None:
    roles = ",".join(["analyst"] * 1200)  # 9,599 bytes
    assert len(roles) > 8192
    with api(db_url, auth="gateway-headers", jwt_secret=None) as client:
        ok = client.get(PATH, params=RANGE, headers={"X-User-Id": "1", "X-User-Roles": roles[:8000]})
        assert ok.status_code != 400, ok.text
        _bad_request(
            client.get(PATH, params=RANGE, headers={"X-User-Id": "1", "X-User-Roles": roles}),
            "X-User-Roles header is over 8192 bytes",
        )
    with api(db_url) as client:
        big = token(padding="x" * 9000)
        _bad_request(
            client.get(PATH, params=RANGE, headers={"Authorization": f"Bearer {big}"}), "over 8192 bytes"
        )


@pytest.mark.parametrize(("secret", "starts"), [("s" * 31, False), ("s" * 32, True), ("é" * 16, True)])
def test_an_hs256_secret_shorter_than_32_bytes_stops_the_start(
    db_url: str, secret: str, starts: bool
) -> None:
    if starts:
        assert create_app(settings(db_url, jwt_secret=secret)) is not None
        return
    with pytest.raises(ConfigError, match=r"^REPORTS_JWT_SECRET is 31 bytes: an HS256 key needs at least 32"):
        create_app(settings(db_url, jwt_secret=secret))


def test_the_verified_token_memo_is_bounded_in_bytes(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from reports_http import auth

    monkeypatch.setattr(auth, "VERIFIED_TOKEN_BYTES", 50_000)
    authenticator = auth.make_authenticator(settings(db_url))
    assert isinstance(authenticator, auth.JwtAuthenticator)
    largest = 0
    for i in range(40):  # 40 tokens of about 5 KB: 200 KB, four times the bound
        headers = {"authorization": f"Bearer {token(sub=str(i + 1), padding='p' * 5000)}"}
        assert authenticator.authenticate(headers).user_id == i + 1
        count, size = authenticator.remembered
        assert 0 < count <= auth.VERIFIED_TOKENS and size <= 50_000
        largest = max(largest, size)
    assert largest > 40_000, "the memo did fill up to near its bound"
