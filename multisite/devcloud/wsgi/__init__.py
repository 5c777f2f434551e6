"""gunicorn entry modules for the devcloud services.

They run inside the devcloud virtualenv (``$BASE/venv``), which does not have ``multisite``
installed: gunicorn gets this directory with ``--pythonpath`` and imports e.g. ``nova_app``.
Each one resets ``sys.argv`` first, because the services hand ``sys.argv`` to oslo.config and
would otherwise choke on gunicorn's own options (``-w 1 --threads 1 -b ...``).
"""
