"""Who calls: the application user and roles the gateway vouches for (``REPORTS_AUTH``).

- ``jwt`` (default): ``Authorization: Bearer <token>``, verified with ``REPORTS_JWT_SECRET`` (HS256)
  or ``REPORTS_JWT_PUBLIC_KEY`` (PEM text or a file path; RS256 for an RSA key, ES256 for an EC
  key); ``exp`` is required and checked (:data:`LEEWAY_S` of clock skew allowed), ``aud`` too when
  ``REPORTS_JWT_AUDIENCE`` is set. The user id is the ``REPORTS_JWT_USER_CLAIM`` claim (default
  ``sub``: a string of digits, or an integer for other claims), the application roles the
  ``REPORTS_JWT_ROLES_CLAIM`` claim (default ``roles``: a list, or a comma-separated string).
- ``gateway-headers``: trusted ``X-User-Id`` and ``X-User-Roles`` (comma-separated) headers, for
  deployments where only the gateway reaches the service.
- ``insecure-dev``: no identity; every request is ``REPORTS_DEV_USER_ID`` with ``REPORTS_DEV_ROLES``.
  Refused at start-up unless ``REPORTS_HOST`` is a loopback address.

Authenticators take plain headers (any case-insensitive mapping), so a layer in front of FastAPI
(a cache) can call them too, after :func:`check_identity_headers` has refused a repeated or oversized
identity header (400). A missing or invalid identity raises :class:`AuthError` (401). A verified
bearer token is remembered (at most :data:`VERIFIED_TOKENS` of them, :data:`VERIFIED_TOKEN_BYTES`
in all) until its ``exp`` (without the leeway): a client repeating its token is not verified again.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from reports_core.errors import ConfigError
from reports_core.settings import Settings

log = logging.getLogger("reports_http.auth")

#: Seconds of clock skew accepted on ``exp`` (and ``nbf``, ``iat``).
LEEWAY_S = 30
#: Verified tokens remembered until they expire, at most this many and this many bytes of tokens
#: (the memo is emptied when either is reached).
VERIFIED_TOKENS = 4096
VERIFIED_TOKEN_BYTES = 4 * 1024 * 1024
#: The headers that say who calls; each may appear once, and hold at most :data:`MAX_IDENTITY_BYTES`.
IDENTITY_HEADERS = frozenset({"authorization", "x-user-id", "x-user-roles"})
MAX_IDENTITY_BYTES = 8192
#: Shortest HS256 key accepted (RFC 7518 3.2: a key of at least the hash's 256 bits).
MIN_HS256_SECRET_BYTES = 32
#: Application role names, as ``reports.set_caller`` accepts them.
ROLE = re.compile(r"[a-z][a-z0-9_]*")
#: A user id as text: ASCII digits only (no sign, blanks or other scripts' digits).
USER_ID_TEXT = re.compile(r"[0-9]{1,19}")
#: The largest crm.users id: bigint's, the range reports.set_caller accepts (1 .. 2**63 - 1).
MAX_USER_ID = 2**63 - 1
_EC_ALGORITHMS = {"secp256r1": "ES256", "secp384r1": "ES384", "secp521r1": "ES512"}
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


@dataclass(frozen=True)
class Caller:
    """The application user a request is made for (``reports.set_caller(user_id, roles)``)."""

    user_id: int
    roles: tuple[str, ...]


class AuthError(Exception):
    """No acceptable identity: ``status`` 401, or 400 for identity headers that are malformed as
    headers (repeated, too large). ``token_error`` is true when a bearer token was given but refused."""

    def __init__(self, message: str, *, token_error: bool = False, status: int = 401) -> None:
        super().__init__(message)
        self.token_error = token_error
        self.status = status

    @property
    def www_authenticate(self) -> str:
        if not self.token_error:
            return 'Bearer realm="reports"'
        # a header value is ASCII: a refused id in another script is shown escaped, never a 500
        description = str(self).replace('"', "'").encode("ascii", "backslashreplace").decode()
        return f'Bearer realm="reports", error="invalid_token", error_description="{description}"'


class Authenticator(Protocol):
    def authenticate(self, headers: Mapping[str, str]) -> Caller:
        """The caller of a request with these headers; :class:`AuthError` when there is none."""
        ...


def check_identity_headers(raw: Iterable[tuple[bytes, bytes]]) -> None:
    """Refuse (400) a repeated identity header, or one over :data:`MAX_IDENTITY_BYTES`: never guess
    which of two ``X-User-Id`` headers is meant. ``raw`` is the ASGI header list."""
    seen: set[bytes] = set()
    for name, value in raw:
        lower = name.lower()
        if lower.decode("latin-1") not in IDENTITY_HEADERS:
            continue
        shown = lower.decode("latin-1").title()
        if lower in seen:
            raise AuthError(f"the {shown} header is repeated: send it once", status=400)
        if len(value) > MAX_IDENTITY_BYTES:
            raise AuthError(f"the {shown} header is over {MAX_IDENTITY_BYTES} bytes", status=400)
        seen.add(lower)


def parse_user_id(value: object, source: str) -> int:
    """A crm.users id from 1 to :data:`MAX_USER_ID`: an integer, or a string of ASCII digits."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise AuthError(f"{source} must be a positive integer user id")
    text = str(value)
    if not USER_ID_TEXT.fullmatch(text) or not 0 < int(text) <= MAX_USER_ID:
        raise AuthError(
            f"{source} must be a positive integer user id up to {MAX_USER_ID} (got {text[:40]!r})"
        )
    return int(text)


def parse_roles(value: object, source: str) -> tuple[str, ...]:
    """Application roles from a list or a comma-separated string (blanks dropped, duplicates once)."""
    if value is None:
        return ()
    if isinstance(value, str):
        items: list[object] = [part.strip() for part in value.split(",") if part.strip()]
    elif isinstance(value, list):
        items = value
    else:
        raise AuthError(f"{source} must be a list of role names or a comma-separated string")
    for item in items:
        if not isinstance(item, str) or not ROLE.fullmatch(item):
            shown = str(item)[:40]
            raise AuthError(f"{source} holds an invalid role name {shown!r} (expected [a-z][a-z0-9_]*)")
    return tuple(dict.fromkeys(str(item) for item in items))


class JwtAuthenticator:
    def __init__(self, key: Any, algorithms: list[str], settings: Settings) -> None:
        self._key = key
        self._algorithms = algorithms
        self._audience = settings.jwt_audience
        self._user_claim = settings.jwt_user_claim
        self._roles_claim = settings.jwt_roles_claim
        self._verified: dict[str, tuple[Caller, float]] = {}  # token -> (caller, its exp)
        self._verified_bytes = 0

    def authenticate(self, headers: Mapping[str, str]) -> Caller:
        scheme, _, token = (headers.get("authorization") or "").strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthError("a bearer token is required (Authorization: Bearer <token>)")
        known = self._verified.get(token)
        if known is not None and time.time() < known[1]:
            return known[0]
        caller, expires = self._verify(token.strip())
        if len(self._verified) >= VERIFIED_TOKENS or self._verified_bytes + len(token) > VERIFIED_TOKEN_BYTES:
            self._verified.clear()
            self._verified_bytes = 0
        self._verified[token] = (caller, expires)
        self._verified_bytes += len(token)
        return caller

    @property
    def remembered(self) -> tuple[int, int]:
        """(tokens, bytes of tokens) in the memo of verified tokens."""
        return len(self._verified), self._verified_bytes

    def _verify(self, token: str) -> tuple[Caller, float]:
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=self._algorithms,
                audience=self._audience,
                leeway=LEEWAY_S,
                options={"require": ["exp", self._user_claim], "verify_aud": self._audience is not None},
            )
        except jwt.PyJWTError as exc:
            raise AuthError(f"invalid bearer token: {exc}", token_error=True) from None
        try:
            user_id = parse_user_id(claims[self._user_claim], f"claim {self._user_claim}")
            roles = parse_roles(claims.get(self._roles_claim), f"claim {self._roles_claim}")
        except AuthError as exc:
            raise AuthError(f"invalid bearer token: {exc}", token_error=True) from None
        return Caller(user_id, roles), float(claims["exp"])


class GatewayHeadersAuthenticator:
    def authenticate(self, headers: Mapping[str, str]) -> Caller:
        user = headers.get("x-user-id")
        if user is None or not user.strip():
            raise AuthError("the X-User-Id header is required (REPORTS_AUTH=gateway-headers)")
        roles = parse_roles(headers.get("x-user-roles"), "X-User-Roles")
        return Caller(parse_user_id(user, "X-User-Id"), roles)


class InsecureDevAuthenticator:
    def __init__(self, caller: Caller) -> None:
        self._caller = caller

    def authenticate(self, headers: Mapping[str, str]) -> Caller:
        return self._caller


def is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _public_key(text: str) -> tuple[Any, list[str]]:
    pem = text.replace("\\n", "\n").strip()
    if not pem.startswith("-----BEGIN"):
        try:
            pem = Path(pem).expanduser().read_text()
        except OSError as exc:
            raise ConfigError(
                f"REPORTS_JWT_PUBLIC_KEY: neither a PEM public key nor a readable file ({exc.strerror})"
            ) from None
    try:
        key = load_pem_public_key(pem.encode())
    except ValueError:
        raise ConfigError("REPORTS_JWT_PUBLIC_KEY: not a PEM public key") from None
    if isinstance(key, rsa.RSAPublicKey):
        return key, ["RS256"]
    if isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name in _EC_ALGORITHMS:
        return key, [_EC_ALGORITHMS[key.curve.name]]
    raise ConfigError("REPORTS_JWT_PUBLIC_KEY: only RSA (RS256) and EC P-256 (ES256) keys are supported")


def make_authenticator(settings: Settings) -> Authenticator:
    """The authenticator of ``REPORTS_AUTH``; a one-line :class:`ConfigError` when it cannot work."""
    if settings.auth == "gateway-headers":
        return GatewayHeadersAuthenticator()
    if settings.auth == "insecure-dev":
        if not is_loopback(settings.host):
            raise ConfigError(
                f"REPORTS_AUTH=insecure-dev serves every request without identity and is refused on "
                f"REPORTS_HOST={settings.host}: use a loopback address (127.0.0.1, ::1, localhost)"
            )
        try:
            roles = parse_roles(settings.dev_roles, "REPORTS_DEV_ROLES")
        except AuthError as exc:
            raise ConfigError(str(exc)) from None
        log.warning(
            "REPORTS_AUTH=insecure-dev: NO AUTHENTICATION, every request runs as user %s with roles %s "
            "(development only)",
            settings.dev_user_id,
            ",".join(roles) or "(none)",
        )
        return InsecureDevAuthenticator(Caller(settings.dev_user_id, roles))
    secret, public_key = settings.jwt_secret, settings.jwt_public_key
    if secret is not None and public_key is not None:
        raise ConfigError("REPORTS_JWT_SECRET and REPORTS_JWT_PUBLIC_KEY are both set: set only one")
    if secret is not None:
        key = secret.get_secret_value()
        if len(key.encode()) < MIN_HS256_SECRET_BYTES:
            raise ConfigError(
                f"REPORTS_JWT_SECRET is {len(key.encode())} bytes: an HS256 key needs at least "
                f"{MIN_HS256_SECRET_BYTES} (openssl rand -base64 48 makes one)"
            )
        return JwtAuthenticator(key, ["HS256"], settings)
    if public_key is not None:
        key, algorithms = _public_key(public_key)
        return JwtAuthenticator(key, algorithms, settings)
    raise ConfigError(
        "REPORTS_AUTH=jwt needs REPORTS_JWT_SECRET (HS256) or REPORTS_JWT_PUBLIC_KEY (RS256/ES256); "
        "or set REPORTS_AUTH=gateway-headers"
    )
