"""One settings object, read once from the environment and an optional ``.env`` file.

Every setting is documented in README.md ("Configuration"). A bad value raises
:class:`ConfigError` with a one-line message naming the variable.
"""

from __future__ import annotations

import re
import zoneinfo
from functools import lru_cache
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from reports_core.errors import ConfigError

_DURATION = re.compile(r"^\s*(\d+)\s*(ms|s|min|h)?\s*$")
_UNIT_MS = {"ms": 1, "s": 1000, "min": 60_000, "h": 3_600_000, None: 1}


def duration_ms(value: str) -> int:
    """Parse a PostgreSQL-style duration (``30s``, ``500ms``, ``2min``, ``1h``; bare = ms)."""
    match = _DURATION.match(value)
    if not match:
        raise ValueError(f"must be a duration like 30s, 500ms, 2min or 1h (got {value!r})")
    return int(match.group(1)) * _UNIT_MS[match.group(2)]


class Settings(BaseSettings):
    """The service's configuration; field ``x`` is read from ``REPORTS_X`` unless aliased."""

    model_config = SettingsConfigDict(
        env_prefix="REPORTS_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
    )

    database_url: str | None = Field(default=None, description="Connection URL of the reports database")
    crm_database_url: str | None = Field(
        default=None,
        validation_alias="CRM_DATABASE_URL",
        description="Read-only connection to the crm and audit schemas (default: REPORTS_DATABASE_URL)",
    )
    cache_ttl: int = Field(default=60, ge=0, description="Seconds a cached report result is served")
    cache_max_entries: int = Field(default=1000, ge=0, description="Most responses in the API's cache")
    cache_max_bytes: int = Field(
        default=1_048_576, ge=0, description="Largest response body the API caches (bytes)"
    )
    cache_max_total_bytes: int = Field(
        default=67_108_864, ge=0, description="Most bytes of cached response bodies in all"
    )
    host: str = Field(default="127.0.0.1", min_length=1, description="Address reports-api listens on")
    port: int = Field(default=8087, ge=1, le=65535, description="Port reports-api listens on")
    timezone: str = Field(default="UTC", description="IANA time zone of day boundaries in every report")
    statement_timeout: str = Field(default="30s", description="Statement timeout of one report call")
    pool_size: int = Field(default=10, ge=1, le=1000, description="Database connections of reports-api")
    pool_timeout: str = Field(default="5s", description="Wait for a pooled connection before answering 503")
    max_rows: int = Field(default=10_000, ge=1, description="Largest JSON page (limit) of reports-api")
    pdf_max_rows: int = Field(default=5000, ge=1, description="Most rows in a PDF (beyond: truncated)")
    metrics_interval: str = Field(
        default="5s", description="Longest a /metrics scrape serves the same read of the summaries' state"
    )
    metrics_token: SecretStr | None = Field(
        default=None, description="Bearer token /metrics requires (unset: /metrics is open)"
    )
    csv_escape_formulas: bool = Field(
        default=True, description="Prefix CSV text cells starting with = + - @ tab or CR with a quote"
    )
    auth: Literal["jwt", "gateway-headers", "insecure-dev"] = Field(
        default="jwt", description="How reports-api learns who calls"
    )
    jwt_secret: SecretStr | None = Field(default=None, description="HS256 key of bearer tokens")
    jwt_public_key: str | None = Field(
        default=None, description="PEM public key (RS256/ES256) of bearer tokens"
    )
    jwt_audience: str | None = Field(default=None, description="Required aud claim of bearer tokens")
    jwt_user_claim: str = Field(default="sub", min_length=1, description="Claim holding the crm.users id")
    jwt_roles_claim: str = Field(
        default="roles", min_length=1, description="Claim holding the application roles"
    )
    dev_user_id: int = Field(default=1, ge=1, description="insecure-dev only: the user id of every request")
    dev_roles: str = Field(default="admin", description="insecure-dev only: the roles of every request")
    refresh_threshold: int = Field(
        default=10_000, ge=0, description="Pending changes of a view that start a scheduler refresh early"
    )
    refresh_min_interval: str = Field(
        default="30s", description="Shortest time between the starts of two threshold-triggered refreshes"
    )

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"must be an IANA time zone name such as UTC or Europe/Berlin (got {value!r})"
            ) from None
        return value

    @field_validator("statement_timeout", "pool_timeout", "refresh_min_interval", "metrics_interval")
    @classmethod
    def _valid_duration(cls, value: str) -> str:
        duration_ms(value)
        return value

    @field_validator("database_url", "crm_database_url")
    @classmethod
    def _postgres_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if "://" in value and not value.startswith(("postgresql://", "postgres://")):
            raise ValueError("must be a postgresql:// URL")
        return value

    @field_validator("jwt_public_key", "jwt_audience")
    @classmethod
    def _blank_is_unset(cls, value: str | None) -> str | None:
        return value if value and value.strip() else None

    @field_validator("jwt_secret", "metrics_token")
    @classmethod
    def _blank_secret_is_unset(cls, value: SecretStr | None) -> SecretStr | None:
        return value if value is not None and value.get_secret_value() else None

    @property
    def statement_timeout_ms(self) -> int:
        return duration_ms(self.statement_timeout)

    @property
    def pool_timeout_s(self) -> float:
        return duration_ms(self.pool_timeout) / 1000

    @property
    def metrics_interval_s(self) -> float:
        return duration_ms(self.metrics_interval) / 1000

    def require_database_url(self) -> str:
        """The reports database URL, or a ConfigError that says how to get one."""
        if not self.database_url:
            raise ConfigError(
                "REPORTS_DATABASE_URL is not set: export it (postgresql://user:pass@host:port/db"
                "?search_path=reports) or start a local cluster with `reports dev-db start`"
            )
        return self.database_url

    def require_crm_database_url(self) -> str:
        """The CRM sources URL: CRM_DATABASE_URL, else REPORTS_DATABASE_URL."""
        return self.crm_database_url or self.require_database_url()


def _env_name(field: str) -> str:
    info = Settings.model_fields[field]
    alias = info.validation_alias
    return alias if isinstance(alias, str) else f"REPORTS_{field.upper()}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Read the settings once; a bad value becomes a one-line ConfigError."""
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "?"
        name = _env_name(field) if field in Settings.model_fields else field
        message = str(first["msg"]).removeprefix("Value error, ")
        if "(got " not in message and "input" in first:
            message += f" (got {first['input']!r})"
        raise ConfigError(f"{name}: {message}") from None
