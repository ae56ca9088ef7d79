import ipaddress

import pytest

from .receiver import start_receiver


@pytest.fixture
def receiver():
    receiver, server = start_receiver()
    yield receiver
    server.shutdown()
    server.server_close()


@pytest.fixture
def allow_private(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True
    return settings


@pytest.fixture
def public_dns(monkeypatch):
    """Makes every host name resolve to a public address (tests never touch real DNS)."""
    answers: dict[str, list[str]] = {}

    def fake(host, port):
        try:
            ipaddress.ip_address(host)
            return [(2, 1, 6, "", (host, port))]
        except ValueError:
            pass
        return [(2, 1, 6, "", (address, port)) for address in answers.get(host, ["93.184.216.34"])]

    monkeypatch.setattr("notifications.webhooks._getaddrinfo", fake)
    return answers
