import pytest
from django.core import mail

from config.emails import email_render, email_send
from notifications.events import event_describe

ORDER = {
    "id": 7, "number": "A-1007", "status": "processing", "previous_status": "pending", "payment_status": "paid",
    "email": "buyer@example.com", "customer_name": "Sam <Buyer>", "subtotal": "35.00", "shipping": "5.00",
    "total": "40.00", "currency": "USD", "note": "Shipped with DHL",
    "lines": [{"sku": "TS-M", "name": "T-shirt & co", "quantity": 2, "unit_price": "17.50", "total": "35.00"}],
}
STORE = {"store_name": "Alpha & Omega", "store_slug": "alpha"}

CASES = {
    "order_confirmation": (
        {**STORE, "event_type": "order.created", "data": ORDER},
        ["A-1007", "40.00 USD", "T-shirt", "/orders/A-1007"],
    ),
    "order_status_changed": (
        {**STORE, "event_type": "order.status_changed", "data": ORDER},
        ["A-1007", "processing", "pending", "Shipped with DHL"],
    ),
    "order_new": (
        {**STORE, "event_type": "order.created", "data": ORDER},
        ["A-1007", "buyer@example.com", "40.00 USD", "TS-M"],
    ),
    "low_stock": (
        {**STORE, "event_type": "inventory.low_stock",
         "data": {"variant_id": 3, "sku": "TS-M", "name": "T-shirt M", "available": 2, "threshold": 5}},
        ["T-shirt M", "TS-M", "2", "5"],
    ),
    "webhook_disabled": (
        {**STORE, "event_type": "webhook.endpoint_disabled",
         "data": {"endpoint_id": 1, "url": "https://hooks.example.com/in", "failure_count": 5}},
        ["https://hooks.example.com/in", "5", "re-enable"],
    ),
    "security_summary": (
        {**STORE, "day": "2026-12-06", "total": 3,
         "kinds": [{"kind": "login_failed", "label": "Login failed", "count": 2},
                   {"kind": "lockout", "label": "Account locked", "count": 1}]},
        ["2026-12-06", "Login failed", "Account locked", "/stores/alpha/security-events"],
    ),
    "store_event": (
        {**STORE, "event_type": "order.paid", "data": ORDER,
         "title": event_describe("order.paid", ORDER)[0], "body": event_describe("order.paid", ORDER)[1]},
        ["Order #A-1007 paid", "40.00 USD"],
    ),
}


@pytest.mark.parametrize("template", sorted(CASES))
def test_templates_render_both_parts(template):
    context, expected = CASES[template]
    subject, text, html = email_render(template=template, context=context)
    assert "\n" not in subject and subject.strip()
    assert "Alpha & Omega" in subject  # subjects are plain text: not HTML-escaped
    assert "A-1007" in subject or template in {"low_stock", "webhook_disabled", "security_summary"}
    for snippet in expected:
        assert snippet in text, (snippet, text)
        assert snippet in html.replace("&amp;", "&"), (snippet, html)
    assert html.lstrip().lower().startswith("<!doctype html>")
    assert "{{" not in text and "{%" not in html


def test_text_is_not_html_escaped_but_html_is():
    _, text, html = email_render(template="order_confirmation", context=CASES["order_confirmation"][0])
    assert "Sam <Buyer>" in text and "T-shirt & co" in text
    assert "Sam &lt;Buyer&gt;" in html and "<Buyer>" not in html


def test_sends_multipart(settings):
    context, _ = CASES["order_new"]
    email_send(template="order_new", to=["owner@example.com"], context=context)
    message = mail.outbox[0]
    assert message.to == ["owner@example.com"] and "A-1007" in message.subject
    assert message.alternatives[0][1] == "text/html"


def test_every_email_template_renders_text_html_and_subject():
    from pathlib import Path

    from django.conf import settings

    folder = Path(settings.BASE_DIR) / "templates" / "emails"
    names = sorted({path.name.split(".")[0].removesuffix("_subject") for path in folder.iterdir()} - {"base"})
    assert {"verify_email", "password_reset", "invitation", *CASES} <= set(names)
    account = {**STORE, "name": "Sam", "link": "https://shop.example/x", "token": "t0k3n", "role": "staff",
               "inviter": "Owner", "expires_at": "2026-12-01", "subject": "Winter sale", "body": "20% off"}
    for name in names:
        context = CASES[name][0] if name in CASES else account
        subject, text, html = email_render(template=name, context=context)
        assert subject.strip() and text.strip(), name
        assert html.lstrip().lower().startswith("<!doctype html>"), name


@pytest.mark.parametrize("inviter, sentence", [("Olga", "Olga invites you to join Alpha & Omega as staff."),
                                               ("", "You are invited to join Alpha & Omega as staff.")])
def test_invitation_reads_well_with_and_without_an_inviter(inviter, sentence):
    context = {**STORE, "role": "staff", "token": "t0k3n", "inviter": inviter, "expires_at": "2026-12-01 10:00 UTC"}
    subject, text, html = email_render(template="invitation", context=context)
    assert "Alpha & Omega" in subject and "&amp;" not in subject  # a subject is plain text
    assert sentence in text
    assert sentence.replace(" as staff.", "") in " ".join(html.replace("&amp;", "&").replace("<strong>", "")
                                                           .replace("</strong>", "").split())
    assert "/invites/t0k3n" in text and "/invites/t0k3n" in html and "2026-12-01 10:00 UTC" in text


@pytest.mark.parametrize("template, subject_words", [("verify_email", "Confirm"), ("password_reset", "Reset")])
def test_account_emails_carry_their_link(template, subject_words):
    link = "https://shop.example/verify?uid=MQ&token=abc-123"
    subject, text, html = email_render(template=template, context={"name": "Sam", "link": link})
    assert subject_words in subject
    assert link in text and "Hello Sam" in text
    assert 'href="https://shop.example/verify?uid=MQ&amp;token=abc-123"' in html


@pytest.mark.parametrize("error", ["SMTPServerDisconnected", "ConnectionRefusedError", "TimeoutError", "gaierror"])
def test_the_email_task_retries_on_transient_errors(error):
    import builtins
    import smtplib
    import socket

    from config.emails import email_send_task

    kind = getattr(smtplib, error, None) or getattr(socket, error, None) or getattr(builtins, error)
    assert issubclass(kind, email_send_task.autoretry_for)
    assert email_send_task.max_retries >= 3 and email_send_task.retry_backoff and email_send_task.retry_jitter
