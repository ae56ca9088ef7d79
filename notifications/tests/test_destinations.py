"""The outgoing-webhook guard: every IANA special-purpose range is refused, written out here on its own so a
range dropped from the guard's table (or an interpreter that judges an address differently) fails a test."""

import ipaddress

import pytest

from notifications.webhooks import SPECIAL_PURPOSE_NETWORKS, UnsafeDestination, address_is_public, destination_resolve

# IANA IPv4 and IPv6 Special-Purpose Address Registries, multicast, the reserved 240/4, site-local.
REFUSED = [
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.0.0.0/24",
    "192.0.2.0/24", "192.31.196.0/24", "192.52.193.0/24", "192.88.99.0/24", "192.168.0.0/16", "192.175.48.0/24",
    "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
    "::/128", "::1/128", "::ffff:0:0/96", "64:ff9b::/96", "64:ff9b:1::/48", "100::/64", "100:0:0:1::/64",
    "2001::/23", "2001:db8::/32", "2002::/16", "2620:4f:8000::/48", "3fff::/20", "5f00::/16", "fc00::/7",
    "fe80::/10", "fec0::/10", "ff00::/8",
]


def test_the_guard_table_is_the_registry():
    assert sorted(network for network, _ in SPECIAL_PURPOSE_NETWORKS) == sorted(REFUSED)


@pytest.mark.parametrize("network", REFUSED)
def test_every_address_of_a_special_purpose_range_is_refused(network):
    block = ipaddress.ip_network(network)
    middle = block.network_address + block.num_addresses // 2
    for address in (block.network_address, middle, block.broadcast_address):
        assert not address_is_public(str(address)), address


@pytest.mark.parametrize("address", [
    "192.0.0.192",                  # the cloud metadata address the probe reached
    "169.254.169.254", "255.255.255.255",
    "::ffff:8.8.8.8",               # IPv4-mapped: refused whole, even around a public address
    "64:ff9b::808:808",             # NAT64 of 8.8.8.8
    "2002:808:808::1",              # 6to4 of 8.8.8.8
    "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo
    "::808:808",                    # IPv4-compatible (deprecated), outside 2000::/3
    "4000::1", "1000::1", "fe00::1",  # IETF-reserved IPv6, outside 2000::/3
    "fe80::1%eth0",                 # a scope id does not hide a link-local address
])
def test_addresses_that_reach_somewhere_special_are_refused(address):
    assert not address_is_public(address)


@pytest.mark.parametrize("address", [
    "8.8.8.8", "93.184.216.34", "2606:4700:4700::1111",
    # the first public neighbours of the ranges
    "100.63.255.255", "100.128.0.0", "192.0.1.0", "192.88.98.255", "192.88.100.0", "198.17.255.255", "198.20.0.0",
    "2001:200::1", "3fff:1000::1",
])
def test_public_addresses_are_allowed(address):
    assert address_is_public(address)


@pytest.mark.parametrize("address", ["192.0.0.192", "100.64.0.1", "198.18.0.1", "2001:2::1", "3fff::1"])
def test_a_host_resolving_into_a_special_range_is_refused(address, settings, public_dns):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False
    public_dns["hooks.example.test"] = [address]
    with pytest.raises(UnsafeDestination):
        destination_resolve("https://hooks.example.test/in")
