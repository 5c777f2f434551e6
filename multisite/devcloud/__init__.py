"""devcloud: real Keystone + multi-region OpenStack APIs on one machine, for integration tests.

See docs/devcloud.md. The command line is :mod:`multisite.devcloud.cli` (``multisite-devcloud``).
"""
