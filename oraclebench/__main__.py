"""``python -m oraclebench ...``: the ``oraclebench`` command, where it is not on PATH (a clone run with
``PYTHONPATH=.``, a venv not activated)."""

from oraclebench.cli import main

raise SystemExit(main())
