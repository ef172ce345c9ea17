"""The server URL policy (ALLOWED_IMMICH_HOSTS) as plain functions."""

from __future__ import annotations

import ipaddress

import pytest

from service.immich.url_policy import (
    UrlPolicy,
    UrlRefused,
    check_server_url,
    normalize_server_url,
    system_resolver,
)

DEFAULT = UrlPolicy.parse("private,external")


def fixed(*addresses):
    return lambda host, port: list(addresses)


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://192.168.1.100/",
        "gopher://192.168.1.100:70/",
        "http://user:pass@192.168.1.100:2283",
        "http://user@192.168.1.100:2283",
        "http://",
        "192.168.1.100:2283",
        "http://192.168.1.100:2283/?x=1",
        "http://192.168.1.100:99999",
        "http://192.168.1.100:2283\r\nX-Injected: 1",
    ],
)
def test_malformed_or_foreign_urls_are_refused(url):
    with pytest.raises(UrlRefused):
        check_server_url(url, DEFAULT, system_resolver)


@pytest.mark.parametrize(
    "address",
    [
        "0.0.0.0",
        "0.1.2.3",
        "169.254.169.254",
        "::ffff:169.254.169.254",
        "100.100.100.200",
        "168.63.129.16",
        "fe80::1",
        "::",
        "224.0.0.1",
        "255.255.255.255",
        "240.0.0.1",
        "64:ff9b::a9fe:a9fe",  # NAT64 form of 169.254.169.254
        "fd00:ec2::254",
    ],
)
def test_always_refused_whatever_the_list_says(address):
    for policy in (DEFAULT, UrlPolicy.parse("*"), UrlPolicy.parse("loopback,private,external,0.0.0.0/0")):
        assert not policy.address_allowed(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "url", ["http://169.254.169.254/", "http://[::ffff:169.254.169.254]/", "http://100.100.100.200/",
            "http://0.0.0.0:2283", "http://[::ffff:127.0.0.1]:2283"],
)
def test_literal_addresses_in_urls_are_checked(url):
    with pytest.raises(UrlRefused, match="This server's address"):
        check_server_url(url, DEFAULT, system_resolver)


def test_loopback_only_when_allowed():
    for text in ("127.0.0.1", "::1", "::ffff:127.0.0.1", "127.8.9.10"):
        address = ipaddress.ip_address(text)
        assert not DEFAULT.address_allowed(address)
        assert UrlPolicy.parse("loopback").address_allowed(address)


def test_private_lan_is_accepted_by_default_and_refused_under_external():
    url = "http://192.168.1.100:2283/"
    assert check_server_url(url, DEFAULT, system_resolver).url == "http://192.168.1.100:2283"
    with pytest.raises(UrlRefused, match="not allowed here; ask the operator"):
        check_server_url(url, UrlPolicy.parse("external"), system_resolver)


def test_cidr_entry_narrows_private():
    narrow = UrlPolicy.parse("192.168.1.0/24")
    assert narrow.address_allowed(ipaddress.ip_address("192.168.1.100"))
    assert not narrow.address_allowed(ipaddress.ip_address("192.168.2.1"))
    assert not narrow.address_allowed(ipaddress.ip_address("10.0.0.1"))
    assert not narrow.address_allowed(ipaddress.ip_address("8.8.8.8"))


def test_external_means_global_unicast():
    external = UrlPolicy.parse("external")
    assert external.address_allowed(ipaddress.ip_address("8.8.8.8"))
    assert external.address_allowed(ipaddress.ip_address("2001:4860:4860::8888"))
    for text in ("10.0.0.1", "172.16.0.1", "fc00::1", "127.0.0.1", "100.64.0.1", "192.0.2.1"):
        assert not external.address_allowed(ipaddress.ip_address(text)), text


def test_host_name_entries_with_wildcards():
    policy = UrlPolicy.parse("*.home.example")
    allowed = check_server_url("https://immich.home.example", policy, fixed("10.1.2.3"))
    assert allowed.host == "immich.home.example"
    with pytest.raises(UrlRefused):
        check_server_url("https://immich.elsewhere.example", policy, fixed("10.1.2.3"))
    with pytest.raises(UrlRefused):  # metadata stays refused even for a listed host
        check_server_url("https://immich.home.example", policy, fixed("169.254.169.254"))


@pytest.mark.parametrize("bad", ["169.254.169.254", "127.0.0.1", "0.0.0.0", "::ffff:169.254.169.254"])
def test_host_name_resolving_to_a_refused_address_is_refused(bad):
    with pytest.raises(UrlRefused, match="This server's address"):
        check_server_url("http://photos.example.net:2283", DEFAULT, fixed(bad))
    # One bad address among good ones is enough to refuse.
    with pytest.raises(UrlRefused):
        check_server_url("http://photos.example.net:2283", DEFAULT, fixed("192.168.1.5", bad))


def test_unresolvable_host_is_refused():
    with pytest.raises(UrlRefused, match="did not resolve"):
        check_server_url("http://photos.invalid", DEFAULT, fixed())


@pytest.mark.parametrize("form", ["http://2130706433/", "http://0177.0.0.1/", "http://0x7f.1/", "http://127.1/"])
def test_numeric_ipv4_forms_resolve_to_loopback_and_are_refused(form):
    with pytest.raises(UrlRefused):
        check_server_url(form, DEFAULT, system_resolver)


def test_normalisation_trims_and_drops_trailing_slashes():
    assert normalize_server_url("  http://192.168.1.100:2283///  ").url == "http://192.168.1.100:2283"
    assert normalize_server_url("https://photos.example.com/immich/").url == "https://photos.example.com/immich"
    assert normalize_server_url("https://photos.example.com").port == 443


@pytest.mark.parametrize("entry", ["bogus entry", "10.0.0.0/33", "ex@mple"])
def test_unknown_policy_entries_are_errors(entry):
    with pytest.raises(ValueError, match="ALLOWED_IMMICH_HOSTS"):
        UrlPolicy.parse(entry)


@pytest.mark.parametrize("address", ["::a9fe:a9fe", "::ffff:0:a9fe:a9fe", "::169.254.169.254",
                                     "::ffff:0:169.254.169.254"])
def test_ipv4_compatible_and_translated_forms_are_checked_as_the_ipv4_address(address):
    for policy in (DEFAULT, UrlPolicy.parse("*")):
        assert not policy.address_allowed(ipaddress.ip_address(address))
    with pytest.raises(UrlRefused, match="can never be used"):
        check_server_url(f"http://[{address}]:2283", DEFAULT, system_resolver)


@pytest.mark.parametrize("address", ["::127.0.0.1", "::ffff:0:127.0.0.1", "::ffff:0:10.1.2.3", "::10.1.2.3"])
def test_wrapped_loopback_and_private_addresses_follow_their_ipv4_rules(address):
    ip = ipaddress.ip_address(address)
    wrapped = ipaddress.ip_address(address.rsplit(":", 1)[1])
    for text in ("private,external", "external", "loopback", "private"):
        policy = UrlPolicy.parse(text)
        assert policy.address_allowed(ip) == policy.address_allowed(wrapped), (text, address)
    with pytest.raises(UrlRefused, match="not allowed here"):
        check_server_url(f"http://[{address}]:2283", UrlPolicy.parse("external"), system_resolver)


def test_ipv6_loopback_and_unspecified_are_not_taken_for_ipv4():
    assert UrlPolicy.parse("loopback").address_allowed(ipaddress.ip_address("::1"))
    assert not UrlPolicy.parse("*").address_allowed(ipaddress.ip_address("::"))


@pytest.mark.parametrize("url", ["ftp://192.168.1.100/", "http://u:p@192.168.1.100", "http://",
                                 "http://192.168.1.100/?x=1", "http://a b", "http://169.254.169.254",
                                 "http://192.168.1.100"])
def test_refusals_name_no_setting_and_no_field(url):
    policy = UrlPolicy.parse("external")
    with pytest.raises(UrlRefused) as refused:
        check_server_url(url, policy, system_resolver)
    assert "ALLOWED_IMMICH_HOSTS" not in refused.value.message and "serverUrl" not in refused.value.message
