"""Settings: defaults, .env file, and one-line errors naming the variable."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from reports_core.errors import ConfigError
from reports_core.settings import Settings, duration_ms, get_settings

ALL_VARS = [
    "REPORTS_DATABASE_URL",
    "CRM_DATABASE_URL",
    "REPORTS_CACHE_TTL",
    "REPORTS_HOST",
    "REPORTS_PORT",
    "REPORTS_TIMEZONE",
    "REPORTS_STATEMENT_TIMEOUT",
]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ALL_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()


def test_defaults_match_the_readme() -> None:
    s = get_settings()
    assert (s.cache_ttl, s.host, s.port, s.timezone, s.statement_timeout) == (
        60,
        "127.0.0.1",
        8087,
        "UTC",
        "30s",
    )
    assert s.database_url is None
    assert s.statement_timeout_ms == 30_000


def test_dotenv_is_read_and_environment_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "REPORTS_DATABASE_URL=postgresql://a@h:1/crm?search_path=reports\nREPORTS_PORT=9000\n"
        "CRM_DATABASE_URL=postgresql://ro@h:1/crm\n"
    )
    monkeypatch.setenv("REPORTS_PORT", "9100")
    s = get_settings()
    assert s.database_url == "postgresql://a@h:1/crm?search_path=reports"
    assert s.crm_database_url == "postgresql://ro@h:1/crm"
    assert s.port == 9100


def test_crm_url_defaults_to_reports_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REPORTS_DATABASE_URL", "postgresql://a@h:1/crm")
    assert get_settings().require_crm_database_url() == "postgresql://a@h:1/crm"


def test_missing_database_url_says_how_to_fix() -> None:
    with pytest.raises(ConfigError, match="REPORTS_DATABASE_URL is not set"):
        get_settings().require_database_url()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("REPORTS_PORT", "eighty"),
        ("REPORTS_PORT", "70000"),
        ("REPORTS_CACHE_TTL", "-1"),
        ("REPORTS_TIMEZONE", "Mars/Olympus_Mons"),
        ("REPORTS_STATEMENT_TIMEOUT", "soon"),
        ("REPORTS_DATABASE_URL", "mysql://x@y/z"),
    ],
)
def test_bad_value_is_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as info:
        get_settings()
    message = str(info.value)
    assert message.startswith(f"{name}: ")
    assert "\n" not in message
    assert repr(value) in message or value in message


def test_cli_reports_a_bad_setting_without_traceback(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "REPORTS_PORT": "eighty", "HOME": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-m", "reports_cli", "migrate", "status"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()]
    assert proc.stderr.startswith("error: REPORTS_PORT: ")
    assert "Traceback" not in proc.stderr + proc.stdout


@pytest.mark.parametrize(
    ("text", "ms"), [("30s", 30_000), ("500ms", 500), ("2min", 120_000), ("1h", 3_600_000), ("250", 250)]
)
def test_durations(text: str, ms: int) -> None:
    assert duration_ms(text) == ms


def test_settings_object_has_a_field_per_documented_variable() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    for name in ALL_VARS:
        assert f"`{name}`" in readme, f"{name} is not documented in README.md"
    assert set(Settings.model_fields) >= {
        "database_url",
        "crm_database_url",
        "cache_ttl",
        "host",
        "port",
        "timezone",
        "statement_timeout",
    }
