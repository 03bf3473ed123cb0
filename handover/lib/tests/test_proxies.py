"""The client's address behind trusted proxies (``HANDOVER_TRUSTED_PROXIES``): read from
``X-Forwarded-For`` from the right, past the trusted proxies; a header from anywhere else, or
written left of the client by the client itself, changes nothing."""

import ipaddress
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from handover.evidence.models import Event, EventType
from handover.lib.env import env_networks
from handover.lib.proxies import client_address
from handover.testing.actors import PASSWORD
from handover.testing.steps import ok, place

NGINX = ipaddress.ip_network("127.0.0.1/32")
INNER = (NGINX, ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("::1/128"))


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        ("127.0.0.1", "", "127.0.0.1"),  # nothing forwarded: the proxy's own request
        ("127.0.0.1", "203.0.113.9", "203.0.113.9"),  # nginx with $proxy_add_x_forwarded_for
        ("127.0.0.1", " 203.0.113.9 ", "203.0.113.9"),
        ("127.0.0.1", "198.51.100.1, 203.0.113.9", "203.0.113.9"),  # the left one is the client's
        ("127.0.0.1", "203.0.113.9, 10.1.2.3", "203.0.113.9"),  # two proxies, both trusted
        ("127.0.0.1", "10.9.9.9, 10.1.2.3", "10.9.9.9"),  # every hop trusted: the left-most
        ("127.0.0.1", "2001:db8::7", "2001:db8::7"),
        ("127.0.0.1", "2001:DB8:0::7", "2001:db8::7"),  # written as Python writes it
        ("::1", "203.0.113.9", "203.0.113.9"),
        ("127.0.0.1", "not-an-address", "127.0.0.1"),  # a proxy written wrong: its own address
        ("127.0.0.1", "203.0.113.9, junk", "127.0.0.1"),
        ("127.0.0.1", "junk, 203.0.113.9", "203.0.113.9"),  # junk left of the client: ignored
        ("127.0.0.1", "203.0.113.9:443", "127.0.0.1"),  # a port is no address
        ("127.0.0.1", "203.0.113.9, junk, 10.1.2.3", "10.1.2.3"),
        ("203.0.113.50", "198.51.100.1", "203.0.113.50"),  # not through a trusted proxy
        ("10.1.2.3", "1.2.3.4", "1.2.3.4"),
        ("", "198.51.100.1", ""),  # no connection address: nothing to trust
        ("garbage", "198.51.100.1", "garbage"),
    ],
)
def test_the_client_is_read_from_the_right_past_the_trusted_proxies(peer, forwarded, client):
    assert client_address(peer, forwarded, INNER) == client


def test_without_trusted_proxies_the_header_is_never_read():
    assert client_address("127.0.0.1", "203.0.113.9", ()) == "127.0.0.1"


addresses = st.ip_addresses().map(str)
hops = st.lists(st.ip_addresses(network="10.0.0.0/8").map(str), max_size=4)


@given(spoofed=st.text(), client=addresses, proxies=hops)
def test_whatever_the_client_writes_left_of_itself_the_client_is_found(spoofed, client, proxies):
    if ipaddress.ip_address(client) in INNER[1] or client in ("127.0.0.1", "::1"):
        return  # a client inside the trusted networks is one of the proxies
    header = ", ".join([spoofed, client, *proxies])
    assert client_address("127.0.0.1", header, INNER) == client


@given(peer=st.text(), forwarded=st.text())
def test_any_header_from_anywhere_gives_an_address_it_was_given(peer, forwarded):
    found = client_address(peer, forwarded, INNER)
    given_addresses = {
        str(ipaddress.ip_address(e.strip())) for e in forwarded.split(",") if _is_ip(e)
    }
    assert found == peer or found in given_addresses


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text.strip())
    except ValueError:
        return False
    return True


def test_the_setting_takes_addresses_and_networks_and_refuses_anything_else(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    monkeypatch.setenv("HANDOVER_TRUSTED_PROXIES", " 127.0.0.1, 10.0.0.0/8 ,::1,")
    assert env_networks("HANDOVER_TRUSTED_PROXIES") == INNER
    monkeypatch.delenv("HANDOVER_TRUSTED_PROXIES")
    assert env_networks("HANDOVER_TRUSTED_PROXIES") == ()
    for wrong in ("localhost", "10.0.0.1/8", "127.0.0.1;10.0.0.1", "*"):
        monkeypatch.setenv("HANDOVER_TRUSTED_PROXIES", wrong)
        with pytest.raises(ImproperlyConfigured, match="HANDOVER_TRUSTED_PROXIES"):
            env_networks("HANDOVER_TRUSTED_PROXIES")


# --- through the app: what counts and what is recorded ----------------------------------------


def sign_in(client, username: str, password: str, *, via: str, forwarded: str = ""):
    body = json.dumps({"username": username, "password": password})
    extra = {"REMOTE_ADDR": via}
    if forwarded:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return client.post("/api/v1/auth/token", body, content_type="application/json", **extra)


@pytest.mark.django_db
def test_behind_nginx_each_client_has_its_own_sign_in_count(client, buyer, settings):
    settings.HANDOVER_TRUSTED_PROXIES = (NGINX,)
    settings.HANDOVER_LOGIN_ADDRESS_LIMIT = 3
    for n in range(4):
        sign_in(client, f"nobody-{n}", "x", via="127.0.0.1", forwarded="203.0.113.7")
    refused = sign_in(client, buyer.username, PASSWORD, via="127.0.0.1", forwarded="203.0.113.7")
    assert refused.status_code == 429 and refused.json()["error"] == "address_locked_out"

    # Another client behind the same nginx signs in; one that writes the locked address into
    # the header itself is still counted at its own.
    other = sign_in(client, buyer.username, PASSWORD, via="127.0.0.1", forwarded="198.51.100.2")
    spoof = sign_in(
        client, buyer.username, PASSWORD, via="127.0.0.1", forwarded="203.0.113.7, 198.51.100.3"
    )
    assert (other.status_code, spoof.status_code) == (200, 200)


@pytest.mark.django_db
def test_a_header_sent_straight_to_the_app_is_not_believed(client, buyer, settings):
    settings.HANDOVER_TRUSTED_PROXIES = (NGINX,)
    settings.HANDOVER_LOGIN_ADDRESS_LIMIT = 3
    for n in range(4):
        sign_in(client, f"nobody-{n}", "x", via="203.0.113.7", forwarded=f"198.51.100.{n}")
    refused = sign_in(client, buyer.username, PASSWORD, via="203.0.113.7", forwarded="192.0.2.1")
    assert refused.status_code == 429 and refused.json()["error"] == "address_locked_out"


@pytest.mark.django_db
def test_the_record_keeps_the_clients_address_not_the_proxys(buyer_api, offer, settings):
    settings.HANDOVER_TRUSTED_PROXIES = (NGINX,)
    order_id = place(buyer_api, offer)["id"]
    environ = {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "192.0.2.1, 198.51.100.23"}
    buyer_api.client.defaults.update(environ)
    try:
        ok(buyer_api.act(order_id, "pay"))
    finally:
        for name in environ:
            buyer_api.client.defaults.pop(name)

    started = Event.objects.select_related("sealed").get(
        order_id=order_id, type=EventType.PAYMENT_STARTED
    )
    assert started.sealed.values["address"] == "198.51.100.23"
