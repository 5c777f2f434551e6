"""Key agent options: [keyagent] (listen address, TLS files, the repositories it manages)."""

from oslo_config import cfg

keyagent_group = cfg.OptGroup("keyagent", title="multisite-keyagent (beside each Keystone)")
KEYAGENT_OPTS = [
    cfg.HostAddressOpt("bind_host", default="0.0.0.0",
                       help="Address the key agent listens on."),
    cfg.PortOpt("bind_port", default=8119, help="Port the key agent listens on (HTTPS)."),
    cfg.StrOpt("cert_file", help="PEM server certificate of this agent (required)."),
    cfg.StrOpt("key_file", help="PEM private key of cert_file (required)."),
    cfg.StrOpt("ca_file",
               help="PEM CA certificate(s) of the deployment: only clients presenting a "
                    "certificate signed by it may talk to the agent (required)."),
    cfg.StrOpt("fernet_repository", default="/etc/keystone/fernet-keys/",
               help="Keystone's [fernet_tokens] key_repository on this node."),
    cfg.StrOpt("credential_repository", default="/etc/keystone/credential-keys/",
               help="Keystone's [credential] key_repository on this node; empty to leave "
                    "credential keys alone."),
    cfg.StrOpt("owner",
               help="User (name or uid) that owns written key files; default: the agent's "
                    "own user. Keystone must be able to read them (mode 0600)."),
    cfg.StrOpt("group", help="Group (name or gid) of written key files; default: the "
                             "owner's primary group."),
    cfg.StrOpt("credential_migrate_command",
               help="Command that re-encrypts this Keystone's credentials with the primary "
                    "credential key, run when Multisite asks after a credential key rotation "
                    "(e.g. `keystone-manage --config-file /etc/keystone/keystone.conf "
                    "credential_migrate --keystone-user keystone --keystone-group keystone`). "
                    "Unset: the agent refuses (409) and credential "
                    "rotations wait. Run on one node only (the database is shared)."),
    cfg.IntOpt("credential_migrate_timeout", default=600, min=1,
               help="Seconds credential_migrate_command may take."),
    cfg.IntOpt("max_body", default=65536, min=1024,
               help="Largest request body accepted, in bytes."),
]


def register_opts(conf):
    conf.register_group(keyagent_group)
    conf.register_opts(KEYAGENT_OPTS, group=keyagent_group)


def list_opts():
    return [(keyagent_group, KEYAGENT_OPTS)]
