"""The configuration: the sample is current, and an operator's kingbird.conf loads unchanged."""

import filecmp
import os
import subprocess
import sys

import pytest
from keystonemiddleware.auth_token import _opts as authtoken_opts
from oslo_config import cfg
from oslo_log import log as oslo_log
from oslo_messaging import opts as messaging_opts
from oslo_policy import opts as policy_opts

from multisite.conf import global_limit, opts

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)


def regenerate(tool, generator_conf, tmp_path, sample):
    """Run a sample generator into tmp_path; fail with the fixing command if it differs."""
    out = tmp_path / os.path.basename(sample)
    config = os.path.join(ROOT, "etc", generator_conf, "multisite.conf")
    subprocess.run([os.path.join(BIN, tool), "--config-file", config,
                    "--output-file", str(out)], check=True, cwd=ROOT, capture_output=True)
    committed = os.path.join(ROOT, "etc", sample)
    assert filecmp.cmp(out, committed, shallow=False), (
        f"etc/{sample} is stale; regenerate it with: "
        f".venv/bin/{tool} --config-file etc/{generator_conf}/multisite.conf")


def test_config_sample_is_current(tmp_path):
    regenerate("oslo-config-generator", "oslo-config-generator", tmp_path,
               "multisite.conf.sample")


def test_policy_sample_is_current(tmp_path):
    regenerate("oslopolicy-sample-generator", "oslo-policy-generator", tmp_path,
               "policy.yaml.sample")


# /etc/kingbird/kingbird.conf as the Kingbird installation guide (OPNFV multisite
# docs) and spec section 6 write it; quota_ram and quota_key_pairs are left out.
KINGBIRD_CONF = """
[DEFAULT]
bind_host = 0.0.0.0
bind_port = 8118
api_workers = 2
auth_strategy = keystone
state_path = /var/lib/kingbird
api_extensions_path =
allow_bulk = True
allow_pagination = False
allow_sorting = False
pagination_max_limit = -1
use_default_quota_class = True
report_interval = 60
workers = 1
host = kingbird-node-1
transport_url = rabbit://stackrabbit:password@127.0.0.1:5672/
debug = True
use_syslog = False
log_file = /var/log/kingbird/kingbird.log

[kingbird_global_limit]
quota_instances = 10
quota_cores = 20
quota_metadata_items = 128
quota_floating_ips = 10
quota_fixed_ips = -1
quota_security_groups = 10
quota_network = 10
quota_subnet = 10
quota_port = 50
quota_router = 10
quota_floatingip = 50
quota_security_group = 10
quota_security_group_rule = 100
quota_volumes = 10
quota_snapshots = 10
quota_gigabytes = 1000
quota_backups = 10
quota_backup_gigabytes = 1000

[cache]
auth_uri = http://127.0.0.1:5000/v3
identity_uri = http://127.0.0.1:35357/
admin_tenant = admin
admin_password = password
admin_username = admin
admin_user_domain_name = Default
admin_project_domain_name = Default

[scheduler]
periodic_enable = True
periodic_interval = 900

[batch]
batch_size = 3

[locks]
lock_retry_times = 3
lock_retry_interval = 10

[pecan]
root = kingbird.api.controllers.root.RootController
modules = kingbird.api
debug = False
auth_enable = True

[upgrade_levels]
kb_engine = 1.0

[database]
connection = mysql+pymysql://kingbird:password@127.0.0.1/kingbird?charset=utf8
max_pool_size = 5

[oslo_policy]
policy_file = /etc/kingbird/policy.json

[oslo_messaging_rabbit]
rabbit_retry_interval = 1

[keystone_authtoken]
signing_dir = /var/cache/kingbird
cafile = /opt/stack/data/ca-bundle.pem
auth_uri = http://127.0.0.1:5000/v3
project_domain_name = Default
project_name = service
user_domain_name = Default
password = password
username = kingbird
auth_url = http://127.0.0.1:35357/v3
auth_type = password
region_name = RegionOne
"""


@pytest.fixture
def kingbird_conf(tmp_path):
    """A private ConfigOpts with every option Multisite registers, parsed from kingbird.conf."""
    path = tmp_path / "kingbird.conf"
    path.write_text(KINGBIRD_CONF)
    conf = cfg.ConfigOpts()
    for group, group_opts in opts.list_opts():
        conf.register_opts(group_opts, group=None if group == "DEFAULT" else group)
    for group, group_opts in authtoken_opts.list_opts():
        conf.register_opts(group_opts, group=group)
    for group, group_opts in messaging_opts.list_opts() + policy_opts.list_opts():
        conf.register_opts(group_opts, group=group)
    oslo_log.register_options(conf)
    conf(["--config-file", str(path)], project="multisite", default_config_files=[])
    return conf


EXPECTED = {
    None: {
        "bind_host": "0.0.0.0", "bind_port": 8118, "api_workers": 2,
        "auth_strategy": "keystone", "state_path": "/var/lib/kingbird",
        "api_extensions_path": "", "allow_bulk": True, "allow_pagination": False,
        "allow_sorting": False, "pagination_max_limit": "-1",
        "use_default_quota_class": True, "report_interval": 60, "workers": 1,
        "host": "kingbird-node-1",
        "transport_url": "rabbit://stackrabbit:password@127.0.0.1:5672/",
        "debug": True, "use_syslog": False, "log_file": "/var/log/kingbird/kingbird.log",
    },
    "cache": {
        "auth_uri": "http://127.0.0.1:5000/v3", "identity_uri": "http://127.0.0.1:35357/",
        "admin_tenant": "admin", "admin_password": "password", "admin_username": "admin",
        "admin_user_domain_name": "Default", "admin_project_domain_name": "Default",
    },
    "scheduler": {"periodic_enable": True, "periodic_interval": 900},
    "batch": {"batch_size": 3},
    "locks": {"lock_retry_times": 3, "lock_retry_interval": 10},
    "pecan": {"root": "kingbird.api.controllers.root.RootController",
              "modules": ["kingbird.api"], "debug": False, "auth_enable": True},
    "upgrade_levels": {"kb_engine": "1.0"},
    "database": {
        "connection": "mysql+pymysql://kingbird:password@127.0.0.1/kingbird?charset=utf8",
        "max_pool_size": 5},
    "oslo_policy": {"policy_file": "/etc/kingbird/policy.json"},
    "oslo_messaging_rabbit": {"rabbit_retry_interval": 1},
    # keystonemiddleware >= 10 dropped the `auth_uri` alias: Kingbird's value is
    # ignored (only the WWW-Authenticate hint uses it); docs/api.md says to rename it.
    "keystone_authtoken": {"www_authenticate_uri": None,
                           "auth_type": "password", "region_name": "RegionOne",
                           "cafile": "/opt/stack/data/ca-bundle.pem"},
}


@pytest.mark.parametrize("group", list(EXPECTED), ids=lambda g: g or "DEFAULT")
def test_kingbird_conf_values_are_read(kingbird_conf, group):
    section = kingbird_conf if group is None else kingbird_conf[group]
    assert {name: section[name] for name in EXPECTED[group]} == EXPECTED[group]


def test_kingbird_global_limits_with_code_defaults_for_absent_keys(kingbird_conf):
    limits = {name: kingbird_conf.kingbird_global_limit[f"quota_{name}"]
              for name in global_limit.DEFAULT_LIMITS}
    # ram and key_pairs are absent: Kingbird's code values, not its docs' 512 / 10.
    assert limits["ram"] == 51200
    assert limits["key_pairs"] == 100
    assert limits == global_limit.DEFAULT_LIMITS


def test_kingbird_conf_starts_a_service_command(tmp_path):
    """The real entry point parses the file (only the database URL points elsewhere)."""
    conf = tmp_path / "kingbird.conf"
    conf.write_text(KINGBIRD_CONF.replace(
        "mysql+pymysql://kingbird:password@127.0.0.1/kingbird?charset=utf8",
        f"sqlite:///{tmp_path / 'kb.sqlite'}"))
    done = subprocess.run([os.path.join(BIN, "multisite-manage"), "--config-file", str(conf),
                           "--log-file", str(tmp_path / "manage.log"), "db_version"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "None (no schema)"
