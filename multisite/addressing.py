"""Canonical IP/CIDR/MAC forms, sortable address keys and routable-domain rules (pure)."""

import fnmatch
import ipaddress
import re
import socket

# Address kinds held in the index.
FIXED_IP = "fixed_ip"          # a port's fixed IP
ALLOWED_PAIR = "allowed_pair"  # a port's allowed-address-pair (an address or a CIDR)
FLOATING_IP = "floating_ip"    # a floating IP (public)
GATEWAY_IP = "gateway_ip"      # a router's external gateway IP (public)
PUBLIC_IP = "public_ip"        # any other port's fixed IP on an external network
SUBNET = "subnet"              # a subnet's CIDR
POOL = "pool"                  # a subnet's allocation pool, "start-end"
MAC = "mac"                    # a port's MAC address
KINDS = (FIXED_IP, ALLOWED_PAIR, FLOATING_IP, GATEWAY_IP, PUBLIC_IP, SUBNET, POOL, MAC)
PUBLIC_KINDS = frozenset((FLOATING_IP, GATEWAY_IP, PUBLIC_IP))
HOST_KINDS = frozenset((FIXED_IP, ALLOWED_PAIR))

# The domain of public addresses: an external range reused in two regions always collides.
PUBLIC_DOMAIN = "public"
GLOBAL_DOMAIN = "global"

_MAC = re.compile(r"^[0-9a-f]{2}([:-]?)[0-9a-f]{2}(\1[0-9a-f]{2}){4}$")
_CANONICAL_MAC = re.compile(r"[0-9a-f]{2}(?::[0-9a-f]{2}){5}\Z")
_INET, _INET6 = socket.AF_INET, socket.AF_INET6
_pton, _ntop = socket.inet_pton, socket.inet_ntop
# An IPv4 key: "4", then the 32-bit address as 32 hex digits (zero-padded like IPv6's).
_V4_HEAD = "4" + "0" * 24


def canonical_ip(text):
    """(canonical text, version) of an address; ValueError if it is not one.

    Fast path (an audit canonicalises a million addresses): a string that inet_pton
    reads as IPv4 and inet_ntop writes back unchanged is already canonical dotted-quad,
    which is exactly what `ipaddress` would answer. Everything else (IPv6, spaces,
    leading zeros, odd spellings) goes through `ipaddress`.
    """
    if type(text) is str:
        try:
            if _ntop(_INET, _pton(_INET, text)) == text:
                return text, 4
        except OSError:
            pass
    addr = ipaddress.ip_address(str(text).strip())
    return str(addr), addr.version


def canonical_cidr(text):
    """(canonical network text, version); host bits are cleared ("10.0.0.7/24" -> /24)."""
    net = ipaddress.ip_network(str(text).strip(), strict=False)
    return str(net), net.version


def canonical_mac(text):
    """Lower-case, colon-separated MAC; ValueError if it is not 6 octets."""
    if type(text) is str and _CANONICAL_MAC.match(text):
        return text
    value = str(text).strip().lower()
    match = _MAC.match(value)
    if not match:
        raise ValueError(f"not a MAC address: {text!r}")
    digits = value.replace(":", "").replace("-", "")
    return ":".join(digits[i:i + 2] for i in range(0, 12, 2))


def key_of(version, integer):
    """A fixed-width text key that sorts as the address does (IPv4 before IPv6)."""
    return f"{version}{integer:032x}"


def ip_key(text):
    """key_of() an address (any spelling `ipaddress` reads)."""
    if type(text) is str:
        # fast path for the canonical forms the index holds (no scope id, no spaces)
        # the packed address in hex is the key's digits (an audit keys a million of them)
        try:
            return _V4_HEAD + _pton(_INET, text).hex()
        except OSError:
            pass
        if "." not in text:
            try:
                return "6" + _pton(_INET6, text).hex()
            except OSError:
                pass
    addr = ipaddress.ip_address(text)
    return key_of(addr.version, int(addr))


def cidr_keys(text):
    """(first, last) keys of a CIDR: an address in it has first <= key <= last."""
    net = ipaddress.ip_network(text, strict=False)
    return (key_of(net.version, int(net.network_address)),
            key_of(net.version, int(net.broadcast_address)))


def enclosing_keys(first, prefixlen):
    """First keys of every network that contains the network (or address) whose first
    key is `first` and whose prefix length is `prefixlen`: one per shorter or equal
    prefix length. A subnet holding an address starts at one of them, so a lookup is a
    few index probes whatever the number of subnets."""
    version, value = first[0], int(first[1:], 16)
    bits = 32 if version == "4" else 128
    return sorted({f"{version}{value >> (bits - p) << (bits - p):032x}"
                   for p in range(prefixlen + 1)})


def pool_keys(text):
    start, _, end = text.partition("-")
    return ip_key(start), ip_key(end)


# -- routable domains ---------------------------------------------------------------------
SELECTORS = ("project", "network", "tag")


class DomainRule:
    """`name:selector=value`; network values are fnmatch patterns on the network name."""

    __slots__ = ("name", "selector", "value")

    def __init__(self, name, selector, value):
        self.name = name
        self.selector = selector
        self.value = value

    def matches(self, project_id, network_name, tags):
        if self.selector == "project":
            return project_id == self.value
        if self.selector == "network":
            return fnmatch.fnmatchcase(network_name or "", self.value)
        return self.value in tags

    def __repr__(self):
        return f"{self.name}:{self.selector}={self.value}"


def parse_rule(text):
    """A DomainRule from 'name:selector=value'; ValueError explains a bad one."""
    name, sep, rest = str(text).partition(":")
    selector, eq, value = rest.partition("=")
    name, selector, value = name.strip(), selector.strip(), value.strip()
    if not sep or not eq or not name or not value or selector not in SELECTORS:
        raise ValueError(f"routable domain {text!r}: expected NAME:SELECTOR=VALUE with "
                         f"SELECTOR one of {', '.join(SELECTORS)}")
    return DomainRule(name, selector, value)


def parse_rules(lines):
    return [parse_rule(line) for line in lines or ()]


def split_tags(tags):
    if not tags:
        return ()
    if isinstance(tags, str):
        return tuple(t for t in tags.split(",") if t)
    return tuple(tags)


def domain_of(rules, *, project_id, network_name="", tags=(), scope=""):
    """The routable domain of an address on a network (first rule that matches wins).

    Operator rules come first, then the address scope of the subnet's pool (grouped by
    scope name across regions), then the default: one domain per project.
    """
    tags = split_tags(tags)
    for rule in rules:
        if rule.matches(project_id, network_name, tags):
            return f"operator:{rule.name}"
    if scope:
        return f"scope:{scope}"
    return f"project:{project_id}"
