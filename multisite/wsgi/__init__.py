"""WSGI entry points for running Multisite's HTTP services under an external server."""
