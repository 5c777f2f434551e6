"""The `multisite` command line (cliff/osc-lib) and its `openstack multisite` plugin."""
