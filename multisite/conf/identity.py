"""Multi-region identity options: [identity] (Keystone nodes, key rotation, key agents)."""

from oslo_config import cfg

identity_group = cfg.OptGroup("identity", title="Fernet keys of every region's Keystone")
IDENTITY_OPTS = [
    cfg.MultiStrOpt("node", default=[],
                    help="A Keystone node whose key repositories Multisite manages, as "
                         "NAME|REGION|KEYSTONE_URL|AGENT_URL, e.g. "
                         "'ks-r1|RegionOne|http://10.0.0.5:5000/v3|https://10.0.0.5:8119'. "
                         "Repeat the option for each node. The first is the reference whose "
                         "keys are adopted when Multisite starts managing a deployment."),
    cfg.IntOpt("fernet_rotation_interval", default=0, min=0,
               help="Seconds between two automatic Fernet key rotations; 0 rotates only on "
                    "request (POST /v2/identity/key-rotations). With Keystone's default "
                    "token lifetime of 3600 s and max_active_keys = 3, keep it >= 3600."),
    cfg.IntOpt("max_active_keys", default=3, min=3,
               help="Keys kept after a rotation (staged + primary + secondaries); must equal "
                    "Keystone's [fernet_tokens] max_active_keys. A token stays valid for "
                    "(max_active_keys - 2) rotation intervals after it was issued."),
    cfg.StrOpt("agent_cert_file", help="PEM client certificate Multisite presents to the "
                                       "key agents (signed by the deployment CA)."),
    cfg.StrOpt("agent_key_file", help="PEM private key of agent_cert_file."),
    cfg.StrOpt("agent_ca_file", help="PEM CA that signed the key agents' certificates."),
    cfg.FloatOpt("agent_timeout", default=10.0, min=0.1,
                 help="Seconds for one call to a key agent."),
    cfg.FloatOpt("retry_delay", default=10.0, min=0.1,
                 help="Seconds a rotation waits before retrying nodes that did not confirm."),
    cfg.IntOpt("credential_rotation_interval", default=0, min=0,
               help="Seconds between two automatic rotations of the Keystones' credential "
                    "encryption keys ([credential] key_repository); 0 rotates them only on "
                    "request. Each rotation ends with Keystone's credential_migrate, run by "
                    "one node's key agent ([keyagent] credential_migrate_command): see "
                    "docs/identity.md."),
    cfg.FloatOpt("credential_migrate_timeout", default=660.0, min=1.0,
                 help="Seconds Multisite waits for a key agent's credential migration "
                      "(Keystone's credential_migrate: every credential read and rewritten); "
                      "keep it above the agents' [keyagent] credential_migrate_timeout."),
    cfg.IntOpt("audit_interval", default=300, min=1,
               help="Seconds between two audits of the nodes' key repositories (hashes "
                    "recorded, drift repaired, scheduled rotations started)."),
    cfg.IntOpt("lease", default=60, min=5,
               help="Seconds a rotation stays with the engine running it without a "
                    "renewal; a dead engine's rotation is resumed by another after this."),
    cfg.FloatOpt("scan_interval", default=5.0, min=0.1,
                 help="Seconds between two scans for rotations to run."),
    cfg.FloatOpt("verify_timeout", default=30.0, min=0.1,
                 help="Seconds for one token issue or validation call when verifying a "
                      "rotation (a password check can take seconds on a busy Keystone)."),
    cfg.StrOpt("verify_username",
               help="User whose tokens verify each rotation (issued at every Keystone, "
                    "validated at every other); default: [cache] admin_username."),
    cfg.StrOpt("verify_password", secret=True,
               help="Password of verify_username; default: [cache] admin_password."),
    cfg.StrOpt("verify_project_name",
               help="Project of verify_username; default: [cache] admin_tenant."),
    cfg.StrOpt("verify_domain_name", default="Default",
               help="Domain of verify_username and of its project."),
]


def register_opts(conf):
    conf.register_group(identity_group)
    conf.register_opts(IDENTITY_OPTS, group=identity_group)


def list_opts():
    return [(identity_group, IDENTITY_OPTS)]
