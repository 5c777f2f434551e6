"""An Open vSwitch agent without Open vSwitch: it only reports its state to Neutron over RPC.

Run by the devcloud's full profile in the service venv:
``python ovs_agent_standin.py --config-file neutron.conf --config-file ovs_agent.ini``
(the second file sets ``[DEFAULT] host`` to the compute host and ``[standin] physnets``).

It sends what neutron-openvswitch-agent sends every ``[agent] report_interval`` seconds
(binary, host, agent type, bridge mappings, tunnel types) through Neutron's own
``PluginReportStateAPI`` to the region's neutron-rpc-server, so Neutron registers a live agent on
the compute host and ML2's openvswitch mechanism driver binds ports there. No bridge, flow or
packet exists: the data plane is absent, the control plane is the real one.
"""

import signal
import sys
import time

from neutron.agent import rpc as agent_rpc
from neutron.api.rpc.callbacks import resources
from neutron.common import config as common_config
from neutron.conf.agent import common as agent_conf
from neutron_lib import context as n_context
from neutron_lib import rpc as n_rpc
from neutron_lib.agent import topics
from oslo_config import cfg

OPTS = [
    cfg.ListOpt("physnets", default=["physnet1"], help="physical networks it has bridges for"),
]


def main() -> int:
    agent_conf.register_agent_state_opts_helper(cfg.CONF)
    cfg.CONF.register_opts(OPTS, "standin")
    common_config.register_common_config_options()
    common_config.init(sys.argv[1:])
    common_config.setup_logging()
    n_rpc.init(cfg.CONF)
    state_rpc = agent_rpc.PluginReportStateAPI(topics.REPORTS)
    context = n_context.get_admin_context_without_session()
    state = {
        "binary": "neutron-openvswitch-agent",
        "host": cfg.CONF.host,
        "topic": "N/A",
        "agent_type": "Open vSwitch agent",
        "start_flag": True,
        "resource_versions": resources.LOCAL_RESOURCE_VERSIONS,
        "configurations": {
            "bridge_mappings": {net: f"br-{net}" for net in cfg.CONF.standin.physnets},
            "tunnel_types": ["vxlan"],
            "tunneling_ip": "127.0.0.1",
            "integration_bridge": "br-int",
            "datapath_type": "system",
            "ovs_hybrid_plug": False,
            "l2_population": False,
            "arp_responder_enabled": False,
            "enable_distributed_routing": False,
            "extensions": [],
            "devices": 0,
            "devcloud_standin": True,
        },
    }
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    interval = max(1, int(cfg.CONF.AGENT.report_interval))
    print(f"ovs agent stand-in for host {cfg.CONF.host}: reporting every {interval} s", flush=True)
    while not stop:
        try:
            state_rpc.report_state(context, state, True)
            state.pop("resource_versions", None)
            state["start_flag"] = False
        except Exception as exc:  # noqa: BLE001 - keep reporting, like the real agent
            print(f"report_state failed: {exc}", flush=True)
        for _ in range(interval * 10):
            if stop:
                break
            time.sleep(0.1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
