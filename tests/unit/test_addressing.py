"""Canonical forms and keys (multisite.addressing): the fast paths answer what
`ipaddress` answers, and refuse what it refuses."""

import ipaddress

import pytest

from multisite import addressing as ad

SPELLINGS = ["10.0.0.7", "0.0.0.0", "255.255.255.255", " 10.0.0.7 ", "2001:db8::1",
             "2001:0DB8:0:0::1", "::ffff:10.0.0.1", "::1.2.3.4", "fe80::1", "::", "::1"]
REFUSED = ["010.0.0.7", "10.0.0", "10.0.0.256", "0x1.1.1.1", "1.2.3.04", "",
           "2001:db8::12345", "1:2:3:4:5:6:7:8:9", "::01.2.3.4", "10.0.0.7/24", "fa:16:3e:00:00:01"]


@pytest.mark.parametrize("text", SPELLINGS)
def test_canonical_ip_and_key_match_ipaddress(text):
    addr = ipaddress.ip_address(text.strip())
    assert ad.canonical_ip(text) == (str(addr), addr.version)
    assert ad.ip_key(text.strip()) == ad.key_of(addr.version, int(addr))


@pytest.mark.parametrize("text", REFUSED)
def test_canonical_ip_and_key_refuse_what_ipaddress_refuses(text):
    with pytest.raises(ValueError):
        ipaddress.ip_address(text)
    with pytest.raises(ValueError):
        ad.canonical_ip(text)
    with pytest.raises(ValueError):
        ad.ip_key(text)


@pytest.mark.parametrize(("text", "canonical"), [
    ("fa:16:3e:00:00:01", "fa:16:3e:00:00:01"), ("FA:16:3E:00:00:01", "fa:16:3e:00:00:01"),
    ("fa-16-3e-00-00-01", "fa:16:3e:00:00:01"), ("fa163e000001", "fa:16:3e:00:00:01"),
    (" fa:16:3e:00:00:01 ", "fa:16:3e:00:00:01")])
def test_canonical_mac(text, canonical):
    assert ad.canonical_mac(text) == canonical


@pytest.mark.parametrize("text", ["fa:16:3e:00:00", "fa:16:3e:00:00:01:02",
                                  "fa:16:3e:00:00:0g", "fa:16-3e:00:00:01"])
def test_canonical_mac_refuses(text):
    with pytest.raises(ValueError):
        ad.canonical_mac(text)


@pytest.mark.parametrize(("cidr", "prefixlen"), [
    ("10.1.2.5/32", 32), ("10.1.2.0/24", 24), ("0.0.0.0/0", 0),
    ("2001:db8::5/128", 128), ("2001:db8:0:1::/64", 64)])
def test_enclosing_keys_are_the_starts_of_every_containing_network(cidr, prefixlen):
    net = ipaddress.ip_network(cidr)
    first, _ = ad.cidr_keys(cidr)
    expected = sorted({ad.cidr_keys(str(net.supernet(new_prefix=p)))[0]
                       for p in range(prefixlen + 1)})
    assert ad.enclosing_keys(first, prefixlen) == expected
