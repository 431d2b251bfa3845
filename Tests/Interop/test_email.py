"""Email channel: a real SMTP server on loopback (aiosmtpd) receives the notice as multipart mail."""

import email
import email.policy
import json
import time

from aiosmtpd.controller import Controller
from joserfc import jws
from joserfc.jwk import KeySet

from conftest import free_port, item


class Inbox:
    """aiosmtpd handler that keeps every message it is given."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"


def wait_for(predicate, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting for mail")


def test_notice_email_is_multipart_with_a_verifiable_jws(gateway_factory):
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        gateway = gateway_factory(
            "mail",
            extra_env={
                "TAKEDOWN_SMTP_URL": f"smtp://127.0.0.1:{port}",
                "TAKEDOWN_SMTP_FROM": "notices@hotline.test",
                "TAKEDOWN_ALLOW_PRIVATE_TARGETS": "1",
            },
        )
        partner = gateway.post_json(
            "/v1/partners",
            {
                "name": "Mail Hosting",
                "kind": "hosting_provider",
                "contact_email": "abuse@mail.example.com",
                "locale": "fr",
                "jurisdiction": "FR",
                "routing": {"domains": ["mail.example.com"]},
                "delivery": {"email": "takedown@mail.example.com"},
            },
            gateway.admin_token,
        )
        case = gateway.submit_case(
            {
                "reference": "MAIL-1",
                "category": {"uk_grade": "A", "classification": "A2"},
                "media_type": "video",
                "items": [item("https://mail.example.com/v.mp4")],
            }
        )
        notice_id = case["notices"][0]["id"]
        wait_for(lambda: len(inbox.messages) >= 1)

        mail_from, recipients, raw = inbox.messages[0]
        assert mail_from == "notices@hotline.test"
        assert recipients == ["takedown@mail.example.com"]
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert message["To"] == "takedown@mail.example.com"
        assert notice_id in message["Subject"]
        assert message["X-Takedown-Notice-Id"] == notice_id
        assert message.get_content_type() == "multipart/mixed"

        deliveries = gateway.get_json(f"/v1/deliveries?notice_id={notice_id}", gateway.admin_token)["deliveries"]
        assert [d["channel"] for d in deliveries] == ["email"]
        assert message["Message-ID"] == f"<{deliveries[0]['id']}@hotline.test>"

        parts = [part for part in message.iter_parts()]
        assert [p.get_content_type() for p in parts] == ["text/plain", "application/json", "application/jose"]
        text = parts[0].get_content()
        assert text.startswith(f"NOTIFICATION DE RETRAIT {notice_id}")  # the recipient's language
        assert "https://mail.example.com/v.mp4" in text
        document = json.loads(parts[1].get_content())
        assert document["id"] == notice_id and document["aud"] == partner["id"]
        compact = parts[2].get_content()
        compact = compact.decode() if isinstance(compact, bytes) else compact
        keys = KeySet.import_key_set(gateway.jwks())
        verified = jws.deserialize_compact(compact.strip(), keys, algorithms=["EdDSA"])
        assert json.loads(verified.payload) == document

        # The delivery is recorded as sent, with the relay's answer.
        detail = gateway.get_json(f"/v1/deliveries/{deliveries[0]['id']}", gateway.admin_token)
        wait_for(lambda: gateway.get_json(f"/v1/deliveries/{deliveries[0]['id']}", gateway.admin_token)["state"] == "succeeded")
        detail = gateway.get_json(f"/v1/deliveries/{deliveries[0]['id']}", gateway.admin_token)
        assert detail["attempt_log"][0]["status_code"] == 250
    finally:
        controller.stop()


def test_unreachable_relay_is_retried_not_lost(gateway_factory):
    port = free_port()  # nothing listens here
    gateway = gateway_factory(
        "nomail",
        extra_env={
            "TAKEDOWN_SMTP_URL": f"smtp://127.0.0.1:{port}",
            "TAKEDOWN_SMTP_FROM": "notices@hotline.test",
            "TAKEDOWN_ALLOW_PRIVATE_TARGETS": "1",
            "TAKEDOWN_WEBHOOK_TIMEOUT_SECONDS": "2",
        },
    )
    gateway.post_json(
        "/v1/partners",
        {
            "name": "Mail Hosting",
            "kind": "hosting_provider",
            "contact_email": "abuse@down.example.com",
            "jurisdiction": "GB",
            "routing": {"domains": ["down.example.com"]},
            "delivery": {"email": "takedown@down.example.com"},
        },
        gateway.admin_token,
    )
    case = gateway.submit_case(
        {"reference": "MAIL-2", "category": {"uk_grade": "B"}, "media_type": "image", "items": [item("https://down.example.com/a")]}
    )
    notice_id = case["notices"][0]["id"]

    def failed_once():
        rows = gateway.get_json(f"/v1/deliveries?notice_id={notice_id}", gateway.admin_token)["deliveries"]
        return rows and rows[0]["state"] == "failed"

    wait_for(failed_once)
    row = gateway.get_json(f"/v1/deliveries?notice_id={notice_id}", gateway.admin_token)["deliveries"][0]
    assert row["attempts"] == 1
    assert "SMTP" in row["last_error"]
