"""``python -m reports_cli`` runs the ``reports`` command line."""

from reports_cli.app import main

main()
