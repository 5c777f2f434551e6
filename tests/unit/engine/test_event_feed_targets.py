"""The event feed's listener binds every service's exchange, not only the default one."""

from oslo_config import cfg

from multisite.conf import notifications
from multisite.engine import event_feed


def test_every_exchange_with_every_topic():
    conf = cfg.ConfigOpts()
    notifications.register_opts(conf)
    conf([])
    pairs = {(exchange, key.partition(".")[0])
             for exchange, key in event_feed.bindings_of(conf.notifications)}
    # neutron, nova, glance, keystone and cinder-api publish on their own exchanges,
    # cinder-volume on the default 'openstack' one: the devcloud shows each of them
    assert {"nova", "neutron", "cinder", "glance", "keystone",
            "openstack"} <= {exchange for exchange, _ in pairs}
    assert {topic for _, topic in pairs} == {"notifications"}
    # every priority, as oslo.messaging's listeners bind (topic.priority)
    keys = {key for exchange, key in event_feed.bindings_of(conf.notifications)
            if exchange == "nova"}
    assert keys == {f"notifications.{p}" for p in ("audit", "debug", "info", "warn",
                                                     "error", "critical", "sample")}
    conf.set_override("topics", ["notifications", "versioned_notifications"],
                      group="notifications")
    conf.set_override("exchanges", ["nova"], group="notifications")
    assert sorted({(exchange, key.partition(".")[0]) for exchange, key
                   in event_feed.bindings_of(conf.notifications)}) == [
        ("nova", "notifications"), ("nova", "versioned_notifications")]
