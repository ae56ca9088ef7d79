"""Moamalat: the Lightbox parameters, the server notification verified exactly as ../shared/GATEWAYS.md says (its
vectors as fixed tests), refunds through its refund API (the local fake, tests/fake_gateways.py)."""

import hashlib
import hmac
import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from orders.models import Order
from payments.gateways import gateway_get
from payments.gateways.base import GatewayFailed, Outcome, SignatureInvalid
from payments.gateways.moamalat import secure_hash
from payments.models import GatewaySetting, Payment, Refund

pytestmark = pytest.mark.django_db

MOAMALAT = gateway_get("moamalat")
# the published test merchant
TEST_KEY = "39636630633731362D663963322D346362642D386531662D633963303432353936373431"
MID, TID = "10081014649", "99179395"
# GATEWAYS.md "Moamalat" 2: a real captured notification
CAPTURED_KEY = "39353638663431622D303136622D343235322D623330632D383361633838383965373965"
CAPTURED_MID, CAPTURED_TID = "10004188779", "49077229"
CAPTURED_HASH = "5C919EA5A619D33101AA761B8DFB332C8993C867CB8E5E567770185B71ED72E6"
LIGHTBOX_HASH = "997AACCF594E5CFDF06ABD8A966FC41CFBD8D28CAE696F5505452CC545C6AD37"
REFUND_HASH = "2E55E09303A0513F1B0208546A0B32914FA90F2E85FE5BE26A7C177B152A47FC"
NOON = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)  # TrxDateTime 202501011200 (TIME_ZONE is UTC)


def setting_for(store=None, *, mid=MID, tid=TID, secrets=None, mode="test") -> GatewaySetting:
    return GatewaySetting(store=store, gateway="moamalat", enabled=True,
                          options={"merchant_id": mid, "terminal_id": tid, "mode": mode},
                          secrets=json.dumps(secrets if secrets is not None else {"secure_key": TEST_KEY}))


def captured_setting(store=None, **secrets) -> GatewaySetting:
    return setting_for(store, mid=CAPTURED_MID, tid=CAPTURED_TID,
                       secrets=secrets or {"secure_key": TEST_KEY, "notification_key": CAPTURED_KEY})


def captured(**changes) -> dict:
    """The captured notification's signed fields (as strings, as Moamalat sends them) and what it adds."""
    return {"Amount": "1000", "Currency": "434", "DateTimeLocalTrxn": "20220903014410", "MerchantId": CAPTURED_MID,
            "TerminalId": CAPTURED_TID, "SecureHash": CAPTURED_HASH, "ActionCode": "00", "TxnType": "1",
            "SystemReference": "224601234567", "NetworkReference": "224609876543", "MerchantReference": "ORD-1001",
            "Message": "Approved", "Status": "Approved", "PayerAccount": "639499XXXXXX2740", **changes}


def signed(fields: dict, key: str = CAPTURED_KEY) -> dict:
    """``fields`` with a SecureHash computed here on its own (Amount, Currency, DateTimeLocalTrxn, MerchantId,
    TerminalId), as Moamalat signs."""
    message = "&".join(f"{name}={fields[name]}" for name in
                       ("Amount", "Currency", "DateTimeLocalTrxn", "MerchantId", "TerminalId"))
    return {**fields, "SecureHash": hmac.new(bytes.fromhex(key), message.encode(), hashlib.sha256).hexdigest().upper()}


def read(setting, fields: dict):
    return MOAMALAT.notification_read(setting=setting, body=json.dumps(fields).encode(), headers={})


@pytest.fixture
def at_noon(monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: NOON)


# --- Lightbox ------------------------------------------------------------------------------
def test_the_lightbox_hash_matches_the_vector():
    assert secure_hash(TEST_KEY, [("Amount", "10000"), ("DateTimeLocalTrxn", "202501011200"), ("MerchantId", MID),
                                  ("MerchantReference", "ORD-1001"), ("TerminalId", TID)]) == LIGHTBOX_HASH


def test_start_gives_the_lightbox_parameters_of_the_vector(store, at_noon):
    start = MOAMALAT.start(order=Order(store=store, number="ORD-1001"),
                           payment=Payment(amount=Decimal("10.000"), currency="LYD"), setting=setting_for(store))
    assert start.lightbox == {"MID": MID, "TID": TID, "AmountTrxn": 10000, "MerchantReference": "ORD-1001",
                              "TrxDateTime": "202501011200", "SecureHash": LIGHTBOX_HASH,
                              "script_url": "https://tnpg.moamalat.net:6006/js/lightbox.js"}
    assert start.action() == {"lightbox": start.lightbox} and start.reference == ""
    live = MOAMALAT.start(order=Order(store=store, number="ORD-1001"),
                          payment=Payment(amount=Decimal("10.000"), currency="LYD"),
                          setting=setting_for(store, mode="live"))
    assert live.lightbox["script_url"] == "https://npg.moamalat.net:6006/js/lightbox.js"


def test_the_transaction_time_is_the_stores_local_time(store_factory, at_noon):
    tripoli = store_factory(slug="tripoli", currency="LYD", timezone="Africa/Tripoli")  # UTC+2
    start = MOAMALAT.start(order=Order(store=tripoli, number="ORD-1001"),
                           payment=Payment(amount=Decimal("10.000"), currency="LYD"), setting=setting_for(tripoli))
    assert start.lightbox["TrxDateTime"] == "202501011400"
    assert start.lightbox["SecureHash"] == secure_hash(TEST_KEY, [
        ("Amount", "10000"), ("DateTimeLocalTrxn", "202501011400"), ("MerchantId", MID),
        ("MerchantReference", "ORD-1001"), ("TerminalId", TID)])


@pytest.mark.parametrize("setting, currency, message", [
    (setting_for(), "USD", "LYD only"),
    (setting_for(mid=""), "LYD", "not configured"),
    (setting_for(secrets={}), "LYD", "not configured"),
    (setting_for(secrets={"secure_key": "not-hex-at-all"}), "LYD", "not hex"),
])
def test_start_refuses_what_moamalat_cannot_take(store, setting, currency, message):
    setting.store = store
    with pytest.raises(GatewayFailed, match=message) as failed:
        MOAMALAT.start(order=Order(store=store, number="N-1"), payment=Payment(amount=Decimal(5), currency=currency),
                       setting=setting)
    assert "not-hex-at-all" not in str(failed.value)


# --- the notification ------------------------------------------------------------------------------
def test_the_captured_notification_verifies_with_the_separate_notification_key(store):
    note = read(captured_setting(store), captured())
    assert (note.outcome, note.event_id, note.order_number, note.reference) == (
        Outcome.PAID, "224601234567:1", "ORD-1001", "224601234567")
    assert (note.amount, note.currency, note.card_fingerprint) == (Decimal("1.000"), "LYD", "639499XXXXXX2740")


def test_the_notification_key_defaults_to_the_secure_key(store):
    assert read(captured_setting(store, secure_key=CAPTURED_KEY), captured()).outcome == Outcome.PAID
    with pytest.raises(SignatureInvalid):  # the secure key is not the one when a notification key is set
        read(captured_setting(store, secure_key=CAPTURED_KEY, notification_key=TEST_KEY), captured())


def test_numbers_are_read_as_written_and_the_hash_in_any_case(store):
    body = json.dumps(captured(SecureHash=CAPTURED_HASH.lower())).replace('"Amount": "1000"', '"Amount": 1000')
    assert '"Amount": 1000' in body
    note = MOAMALAT.notification_read(setting=captured_setting(store), body=body.encode(), headers={})
    assert (note.outcome, note.amount) == (Outcome.PAID, Decimal("1.000"))


@pytest.mark.parametrize("changes", [
    {"Amount": "100000"}, {"Currency": "840"}, {"DateTimeLocalTrxn": "20220903014411"},
    {"SecureHash": CAPTURED_HASH[:-1] + "7"}, {"SecureHash": ""}, {"SecureHash": None},
], ids=["amount", "currency", "time", "one-digit", "empty", "null"])
def test_a_forged_notification_is_refused(store, changes):
    with pytest.raises(SignatureInvalid):
        read(captured_setting(store), captured(**changes))


def test_a_notification_for_another_terminal_is_refused_even_if_signed(store):
    other = signed(captured(TerminalId="11111111"))
    with pytest.raises(SignatureInvalid, match="another merchant or terminal"):
        read(captured_setting(store), other)


@pytest.mark.parametrize("body", [b"not json", b"[]", json.dumps({"Amount": "1"}).encode(),
                                  json.dumps(captured(SystemReference="")).encode()])
def test_what_is_not_a_moamalat_notification_is_refused(store, body):
    with pytest.raises(SignatureInvalid):
        MOAMALAT.notification_read(setting=captured_setting(store), body=body, headers={})


def test_a_store_without_keys_verifies_nothing(store):
    with pytest.raises(SignatureInvalid, match="not configured"):
        read(setting_for(store, mid=CAPTURED_MID, tid=CAPTURED_TID, secrets={}), captured())


@pytest.mark.parametrize("changes, outcome, event_id", [
    ({"ActionCode": "05", "Message": "Do not honour"}, Outcome.FAILED, "224601234567:1"),
    ({"TxnType": "2", "SystemReference": "R-2"}, Outcome.REFUNDED, "R-2:2"),
    ({"TxnType": "3", "SystemReference": "V-3"}, Outcome.REFUNDED, "V-3:3"),
    ({"TxnType": "2", "ActionCode": "51", "Message": "Do not honour"}, Outcome.FAILED, "224601234567:2"),
    ({"TxnType": "4"}, Outcome.IGNORED, "224601234567:4"),
])
def test_what_each_transaction_type_means(store, changes, outcome, event_id):
    note = read(captured_setting(store), captured(**changes))
    assert (note.outcome, note.event_id) == (outcome, event_id)
    if outcome == Outcome.FAILED:
        assert note.message == "Do not honour"
        # a declined refund names the refund: not the payment's failure
        assert note.refund_reference == ("224601234567" if changes.get("TxnType") == "2" else "")
    if outcome == Outcome.REFUNDED:
        assert (note.refund_reference, note.refund_amount) == (changes["SystemReference"], Decimal("1.000"))


def test_moamalat_is_answered_as_it_expects():
    assert MOAMALAT.notification_answer() == ({"Message": "Success", "Success": True}, 200)


# --- refunds ------------------------------------------------------------------------------
def paid_payment(store, reference="224601234567") -> Payment:
    return Payment(store=store, gateway="moamalat", status="paid", amount=Decimal("10.000"), currency="LYD",
                   reference=reference)


def test_the_refund_hash_matches_the_vector():
    assert secure_hash(TEST_KEY, [("DateTimeLocalTrxn", "202501011200"), ("MerchantId", MID),
                                  ("TerminalId", TID)]) == REFUND_HASH


def test_a_refund_goes_through_the_refund_api_signed_as_the_vector(store, fake_gateways, at_noon):
    fake_gateways.moamalat_terminal(MID, TID, TEST_KEY)
    fake_gateways.moamalat_transaction("224601234567", 10000)

    result = MOAMALAT.refund(payment=paid_payment(store), refund=Refund(amount=Decimal("2.500")),
                             setting=setting_for(store))

    assert result.succeeded and result.reference, result
    [sent] = fake_gateways.requests
    assert (sent.method, sent.path) == ("POST", "/moamalat/RefundTransaction")
    assert sent.json() == {"TerminalId": TID, "MerchantId": MID, "DateTimeLocalTrxn": "202501011200",
                           "SecureHash": REFUND_HASH, "AmountTrxn": 2500, "SystemReference": "224601234567"}
    assert MOAMALAT.refund(payment=paid_payment(store), refund=Refund(amount=Decimal("7.500")),
                           setting=setting_for(store)).succeeded
    beyond = MOAMALAT.refund(payment=paid_payment(store), refund=Refund(amount=Decimal("0.001")),
                             setting=setting_for(store))
    assert (beyond.succeeded, beyond.message) == (False, "Refund amount exceeds the transaction amount")


def test_a_refund_moamalat_refuses_is_a_declined_result(store, fake_gateways):
    fake_gateways.moamalat_terminal(MID, TID, CAPTURED_KEY)  # Moamalat holds another key: the hash is wrong
    fake_gateways.moamalat_transaction("224601234567", 10000)
    result = MOAMALAT.refund(payment=paid_payment(store), refund=Refund(amount=Decimal(1)), setting=setting_for(store))
    assert (result.succeeded, result.message) == (False, "Invalid Secure Hash")


@pytest.mark.parametrize("answer", [(500, b'{"Message": "error"}'), (200, b"<html></html>")])
def test_a_refund_moamalat_cannot_answer_fails(store, fake_gateways, answer):
    fake_gateways.answer_next(*answer)
    with pytest.raises(GatewayFailed, match="portal"):
        MOAMALAT.refund(payment=paid_payment(store), refund=Refund(amount=Decimal(1)), setting=setting_for(store))


def test_a_refund_that_times_out_fails(store, fake_gateways, settings):
    settings.PAYMENT_GATEWAY_TIMEOUT_SECONDS = 0.3
    fake_gateways.delay_next(1.0)
    with pytest.raises(GatewayFailed, match="could not be reached"):
        MOAMALAT.refund(payment=paid_payment(store), refund=Refund(amount=Decimal(1)), setting=setting_for(store))


def test_a_refund_needs_a_confirmed_payment_and_the_keys(store, fake_gateways):
    with pytest.raises(GatewayFailed, match="not confirmed"):
        MOAMALAT.refund(payment=paid_payment(store, reference=""), refund=Refund(amount=Decimal(1)),
                        setting=setting_for(store))
    with pytest.raises(GatewayFailed, match="not configured"):
        MOAMALAT.refund(payment=paid_payment(store), refund=Refund(amount=Decimal(1)),
                        setting=setting_for(store, secrets={}))
    assert fake_gateways.requests == []


def test_the_refund_api_is_moamalats_by_mode_unless_a_base_is_set(settings):
    settings.MOAMALAT_API_BASE = ""
    assert MOAMALAT.api_base(setting_for()) == "https://tnpg.moamalat.net/cube/paylink.svc/api"
    assert MOAMALAT.api_base(setting_for(mode="live")) == "https://npg.moamalat.net/cube/paylink.svc/api"
