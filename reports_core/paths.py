"""Where the project's SQL files live."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def sql_dir() -> Path:
    """The ``sql/`` folder (``REPORTS_SQL_DIR`` overrides it, for tests of the runner)."""
    return Path(os.environ.get("REPORTS_SQL_DIR", PROJECT_ROOT / "sql")).resolve()
