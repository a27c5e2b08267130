"""The core of ``reports`` that both faces use: settings, errors, the connection, migrations, the
refresh call, the report catalog, parameters and export formats.

``reports_cli`` (the CLI) and ``reports_http`` (the API) depend on it and not on each other; the one
exception is the CLI's entry point that starts the API (``reports_cli.app`` imports
``reports_http.server``).
"""
