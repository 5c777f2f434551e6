"""keystoneauth1 plugin `multisite_failover`: Keystone authentication and token validation over
an ordered list of Keystones, with a circuit breaker (for services' [keystone_authtoken])."""
