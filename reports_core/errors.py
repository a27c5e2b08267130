"""Errors that the command line reports as one line and a non-zero exit."""

from __future__ import annotations


class ReportsError(Exception):
    """A failure with a message meant for the operator (no traceback is shown)."""

    exit_code = 1


class ConfigError(ReportsError):
    """A setting (environment variable or .env entry) has a bad value."""

    exit_code = 2
