"""API <-> engine messaging with oslo.messaging (rabbit, or fake:// in one process)."""

import oslo_messaging as messaging
from oslo_messaging import opts as messaging_opts

from multisite import context as ms_context

TOPIC = "multisite-engine"
VERSION = "1.0"

_TRANSPORTS = {}


def register_opts(conf):
    """Register [DEFAULT] transport_url & co. early, so they can be given defaults."""
    for group, opts in messaging_opts.list_opts():
        if group is None:
            conf.register_opts(opts)


def get_transport(conf):
    key = (conf.transport_url, id(conf))
    transport = _TRANSPORTS.get(key)
    if transport is None:
        transport = messaging.get_rpc_transport(conf)
        _TRANSPORTS[key] = transport
    return transport


def cleanup():
    for transport in _TRANSPORTS.values():
        transport.cleanup()
    _TRANSPORTS.clear()


class ContextSerializer(messaging.NoOpSerializer):
    """Sends identity only: no token or password ever travels on the bus."""

    def serialize_context(self, ctxt):
        return ctxt.to_rpc_dict()

    def deserialize_context(self, ctxt):
        return ms_context.RequestContext.from_rpc_dict(ctxt)
