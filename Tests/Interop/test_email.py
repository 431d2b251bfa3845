"""Email channel: a real SMTP server on loopback (aiosmtpd) receives the notice as multipart mail.

Also the relay's paths: down and then up again (retried until it arrives), a temporary 4xx (retried), a
permanent 5xx (the delivery is dead at once, not retried), authentication (TAKEDOWN_SMTP_USER and
TAKEDOWN_SMTP_PASSWORD against a relay that requires it) and implicit TLS (`smtps://`) with a
certificate the gateway does not trust (refused: nothing is sent in clear or to an unverified peer).
"""

import datetime
import email
import email.policy
import ipaddress
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from joserfc import jws
from joserfc.jwk import KeySet

from conftest import Gateway, free_port, item, tag

SENDER = "notices@hotline.test"


class Inbox:
    """aiosmtpd handler that keeps every message it is given.

    `refuse_rcpt` / `refuse_data`: the reply to RCPT / DATA instead of accepting (e.g. "550 ..."), for the
    first `refusals` times (None: always)."""

    def __init__(self, refuse_rcpt: str | None = None, refuse_data: str | None = None, refusals: int | None = None):
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.refuse_rcpt = refuse_rcpt
        self.refuse_data = refuse_data
        self.refusals = refusals
        self.refused: list[str] = []  # the replies refused so far
        self.lock = threading.Lock()

    def _refuse(self, reply: str | None) -> str | None:
        with self.lock:
            if reply is None or (self.refusals is not None and len(self.refused) >= self.refusals):
                return None
            self.refused.append(reply)
            return reply

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 (aiosmtpd's name)
        refusal = self._refuse(self.refuse_rcpt)
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        refusal = self._refuse(self.refuse_data)
        if refusal:
            return refusal
        with self.lock:
            self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"

    def notice_ids(self) -> list[str]:
        with self.lock:
            raw = [content for _, _, content in self.messages]
        return [email.message_from_bytes(r, policy=email.policy.default)["X-Takedown-Notice-Id"] for r in raw]


def wait_for(predicate, seconds: float = 20.0, what: str = "mail") -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {seconds}s waiting for {what}")


def mail_env(url: str, **more: str) -> dict[str, str]:
    # conftest allows plain SMTP (TAKEDOWN_SMTP_PLAIN=1): these loopback relays offer no STARTTLS.
    return {"TAKEDOWN_SMTP_URL": url, "TAKEDOWN_SMTP_FROM": SENDER, "TAKEDOWN_ALLOW_PRIVATE_TARGETS": "1", **more}


def mail_partner(gateway: Gateway, domain: str, locale: str = "en", jurisdiction: str = "GB") -> dict:
    return gateway.post_json(
        "/v1/partners",
        {
            "name": f"Mail Hosting {tag()}",
            "kind": "hosting_provider",
            "contact_email": f"abuse@{domain}",
            "locale": locale,
            "jurisdiction": jurisdiction,
            "routing": {"domains": [domain]},
            "delivery": {"email": f"takedown@{domain}"},
        },
        gateway.admin_token,
    )


def issue(gateway: Gateway, domain: str) -> str:
    """One case with one item at `domain`; the id of its one notice."""
    case = gateway.submit_case(
        {"reference": f"MAIL-{tag()}", "category": {"uk_grade": "B"}, "media_type": "image",
         "items": [item(f"https://{domain}/{tag()}.jpg")]}
    )
    assert len(case["notices"]) == 1, case
    return case["notices"][0]["id"]


def delivery_of(gateway: Gateway, notice_id: str) -> dict:
    """The one email delivery of a notice, with its attempt log."""
    rows = gateway.get_json(f"/v1/deliveries?notice_id={notice_id}", gateway.admin_token)["deliveries"]
    assert [r["channel"] for r in rows] == ["email"], rows
    return gateway.get_json(f"/v1/deliveries/{rows[0]['id']}", gateway.admin_token)


def reserved_port() -> tuple[socket.socket, int]:
    """A loopback port held by a bound socket that does not listen: connections to it are refused, and
    no other process can take the port until the socket is closed."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock, sock.getsockname()[1]


def test_notice_email_is_multipart_with_a_verifiable_jws(gateway_factory):
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        gateway = gateway_factory(
            "mail",
            extra_env=mail_env(f"smtp://127.0.0.1:{port}"),
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
    """The relay is down when two notices are issued: each delivery fails, is tried again on schedule and,
    once the relay is up, each notice arrives exactly once and its delivery is recorded as succeeded."""
    reservation, port = reserved_port()  # refused until the relay starts on it
    inbox = Inbox()
    controller = None
    try:
        gateway = gateway_factory(
            "nomail",
            extra_env=mail_env(
                f"smtp://127.0.0.1:{port}",
                TAKEDOWN_WEBHOOK_TIMEOUT_SECONDS="2",
                TAKEDOWN_RETRY_SCHEDULE="0,1,1,1,1,1,1,1,1,1,1,1,1,1,1",
            ),
        )
        mail_partner(gateway, "down.example.com")
        notices = [issue(gateway, "down.example.com"), issue(gateway, "down.example.com")]

        def failed(notice_id: str) -> bool:
            row = delivery_of(gateway, notice_id)
            return row["state"] == "failed" and row["attempts"] >= 1

        wait_for(lambda: all(failed(n) for n in notices), what="both deliveries to fail")
        for notice_id in notices:
            row = delivery_of(gateway, notice_id)
            assert "SMTP" in row["last_error"], row
            assert row["attempt_log"][0].get("status_code") in (None, 0), row["attempt_log"]

        reservation.close()
        controller = Controller(inbox, hostname="127.0.0.1", port=port)
        controller.start()
        wait_for(lambda: sorted(inbox.notice_ids()) == sorted(notices), seconds=30, what="both notices by mail")
        wait_for(lambda: all(delivery_of(gateway, n)["state"] == "succeeded" for n in notices), what="succeeded")
        time.sleep(1.5)  # a copy sent again on the retry schedule would arrive by now
        assert sorted(inbox.notice_ids()) == sorted(notices), "a notice was mailed more than once"
        for notice_id in notices:
            row = delivery_of(gateway, notice_id)
            log = row["attempt_log"]
            assert len(log) >= 2 and row["attempts"] == len(log), row
            assert [a.get("status_code") for a in log[-1:]] == [250], log
            assert all(a.get("status_code") != 250 for a in log[:-1]), log
    finally:
        reservation.close()
        if controller is not None:
            controller.stop()


def test_temporary_refusal_is_retried_and_delivered(gateway_factory):
    """A 4xx answer (greylisting, `451`) is temporary: the delivery is tried again and the notice arrives."""
    inbox = Inbox(refuse_data="451 4.7.1 Greylisted, try again later", refusals=1)
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        gateway = gateway_factory(
            "greylist", extra_env=mail_env(f"smtp://127.0.0.1:{port}", TAKEDOWN_RETRY_SCHEDULE="0,1,1,1,1")
        )
        mail_partner(gateway, "grey.example.com")
        notice_id = issue(gateway, "grey.example.com")
        wait_for(lambda: inbox.notice_ids() == [notice_id], what="the notice after a 451")
        wait_for(lambda: delivery_of(gateway, notice_id)["state"] == "succeeded", what="succeeded")
        row = delivery_of(gateway, notice_id)
        assert [a.get("status_code") for a in row["attempt_log"]] == [451, 250], row
        assert inbox.refused == ["451 4.7.1 Greylisted, try again later"]
    finally:
        controller.stop()


@pytest.mark.parametrize(
    "stage, reply",
    [("rcpt", "550 5.1.1 <takedown@gone.example.com>: mailbox unavailable"), ("data", "554 5.7.1 Message rejected")],
    ids=["rcpt-550", "data-554"],
)
def test_permanent_refusal_ends_in_a_dead_delivery(gateway_factory, stage: str, reply: str):
    """A 5xx answer will not change on retry: the delivery is dead after one attempt, with the relay's
    code recorded, and the relay is not asked again."""
    inbox = Inbox(refuse_rcpt=reply if stage == "rcpt" else None, refuse_data=reply if stage == "data" else None)
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        gateway = gateway_factory(
            f"refused-{stage}", extra_env=mail_env(f"smtp://127.0.0.1:{port}", TAKEDOWN_RETRY_SCHEDULE="0,1,1,1,1")
        )
        mail_partner(gateway, "gone.example.com")
        notice_id = issue(gateway, "gone.example.com")
        wait_for(lambda: delivery_of(gateway, notice_id)["state"] not in ("pending", "in_flight"), what="an outcome")
        time.sleep(2.5)  # a retry (1 s on this schedule) would have come by now
        row = delivery_of(gateway, notice_id)
        code = int(reply[:3])
        assert row["state"] == "dead", row
        assert row["attempts"] == 1, row
        assert [a.get("status_code") for a in row["attempt_log"]] == [code], row["attempt_log"]
        assert str(code) in row["last_error"], row
        assert inbox.refused == [reply], inbox.refused
        assert inbox.messages == []
        dead = gateway.get_json("/v1/deliveries", gateway.admin_token, params={"state": "dead"})["deliveries"]
        assert [d["id"] for d in dead] == [row["id"]], dead
    finally:
        controller.stop()


class Authenticator:
    """Accepts exactly one user and password; records every attempt."""

    def __init__(self, user: str, password: str) -> None:
        self.user = user.encode()
        self.password = password.encode()
        self.attempts: list[tuple[str, bytes, bytes]] = []

    def __call__(self, server, session, envelope, mechanism, auth_data):
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        self.attempts.append((mechanism, auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.login == self.user and auth_data.password == self.password)


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # aiosmtpd's: a loopback test relay
def test_relay_that_requires_authentication_gets_the_configured_login(gateway_factory):
    """TAKEDOWN_SMTP_USER and TAKEDOWN_SMTP_PASSWORD are sent to a relay that refuses mail without them."""
    user, password = f"gateway-{tag()}", f"pw-{tag()}{tag()}"
    authenticator = Authenticator(user, password)
    inbox = Inbox()
    port = free_port()
    controller = Controller(
        inbox, hostname="127.0.0.1", port=port, authenticator=authenticator, auth_required=True,
        auth_require_tls=False,
    )
    controller.start()
    try:
        gateway = gateway_factory(
            "auth",
            extra_env=mail_env(
                f"smtp://127.0.0.1:{port}", TAKEDOWN_SMTP_USER=user, TAKEDOWN_SMTP_PASSWORD=password,
                TAKEDOWN_RETRY_SCHEDULE="0,1,1,1,1",
            ),
        )
        mail_partner(gateway, "auth.example.com")
        notice_id = issue(gateway, "auth.example.com")
        wait_for(lambda: inbox.notice_ids() == [notice_id], what="the notice through an authenticating relay")
        assert authenticator.attempts, "the relay delivered without any AUTH"
        assert {(login, secret) for _, login, secret in authenticator.attempts} == {(user.encode(), password.encode())}
        wait_for(lambda: delivery_of(gateway, notice_id)["state"] == "succeeded", what="succeeded")
        assert [a.get("status_code") for a in delivery_of(gateway, notice_id)["attempt_log"]] == [250]
    finally:
        controller.stop()


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost, signed by nobody anyone trusts, and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "takedown test relay")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "relay.pem", directory / "relay.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@contextmanager
def tls_relay(directory: Path) -> Iterator[tuple[Inbox, int, Path]]:
    """An aiosmtpd relay speaking implicit TLS on a free loopback port with a self-signed certificate:
    its inbox, its port and the certificate (the authority a gateway would have to trust)."""
    cert, key = self_signed(directory)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, ssl_context=context)
    controller.start()
    try:
        yield inbox, port, cert
    finally:
        controller.stop()


def test_smtps_relay_with_an_untrusted_certificate_gets_nothing(gateway_factory, tmp_path):
    """Implicit TLS (`smtps://`): a relay whose certificate no trusted authority signed is refused at the
    handshake. Nothing reaches it, and the delivery is kept for a retry (not sent in clear, not dead)."""
    with tls_relay(tmp_path) as (inbox, port, _):
        gateway = gateway_factory(
            "smtps", extra_env=mail_env(f"smtps://127.0.0.1:{port}", TAKEDOWN_RETRY_SCHEDULE="0,1,1,1,1,1,1,1,1,1")
        )
        mail_partner(gateway, "tls.example.com")
        notice_id = issue(gateway, "tls.example.com")
        wait_for(lambda: delivery_of(gateway, notice_id)["attempts"] >= 2, what="two attempts")
        row = delivery_of(gateway, notice_id)
        assert row["state"] in ("failed", "in_flight", "pending"), row
        assert "certificate" in row["last_error"].lower() or "ssl" in row["last_error"].lower(), row
        assert inbox.messages == []


def test_smtps_relay_under_a_private_authority_is_trusted_through_its_ca_file(gateway_factory, tmp_path):
    """`TAKEDOWN_SMTP_CA_FILE` names the authority of a relay under a private CA: the same relay that is
    refused above is trusted, the mail goes out over implicit TLS and arrives once."""
    with tls_relay(tmp_path) as (inbox, port, cert):
        gateway = gateway_factory(
            "smtps-ca", extra_env=mail_env(f"smtps://127.0.0.1:{port}", TAKEDOWN_SMTP_CA_FILE=str(cert))
        )
        mail_partner(gateway, "ca.example.com")
        notice_id = issue(gateway, "ca.example.com")
        wait_for(lambda: delivery_of(gateway, notice_id)["state"] == "succeeded", what="the mail delivered")
        assert len(inbox.messages) == 1
