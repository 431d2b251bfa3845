"""Push delivery: notices POSTed to a provider's webhook, checked with the Standard Webhooks library.

A receiver (receiver.py) stands in for the hosting provider and verifies every request with the
PyPI `standardwebhooks` package, given the secret the gateway returned once; the notice inside is
verified as a JWS with joserfc (the helpers of test_jws.py) against the gateway's JWKS.
"""

from __future__ import annotations

import base64
import json
import secrets
import signal
import subprocess
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from conftest import Gateway, GatewayFactory, b64url_decode, item, tag
from receiver import FAIL_CLOSE, FAIL_STATUS, Receiver, Received
from test_jws import ALGORITHMS, cryptography_verify, joserfc_verify

pytestmark = pytest.mark.filterwarnings("ignore:.*EdDSA")

# Loopback webhooks must be allowed, and failed attempts retried after a second, not minutes.
WEBHOOK_ENV = {
    "TAKEDOWN_ALLOW_PRIVATE_TARGETS": "1",
    "TAKEDOWN_RETRY_SCHEDULE": "0,1,1,1,1",
    "TAKEDOWN_WEBHOOK_TIMEOUT_SECONDS": "5",
}
WAIT = 20.0  # seconds any single push may take to arrive, retries included
OVERLAP = timedelta(hours=24)  # how long a rotated-out secret keeps signing


# --- fixtures and helpers ---------------------------------------------------------------------------


class Receivers:
    """Receivers started by a test, stopped in its finalizer."""

    def __init__(self) -> None:
        self.started: list[Receiver] = []

    def __call__(self, **options: Any) -> Receiver:
        receiver = Receiver(**options).start()
        self.started.append(receiver)
        return receiver

    def close(self) -> None:
        for receiver in self.started:
            receiver.stop()


@pytest.fixture
def receivers():
    made = Receivers()
    try:
        yield made
    finally:
        made.close()


@pytest.fixture
def gateway(gateway_factory: GatewayFactory) -> Gateway:
    return gateway_factory("webhooks", extra_env=WEBHOOK_ENV)


def webhook_partner(gateway: Gateway, url: str, key: str = "hook") -> tuple[dict, str]:
    """A hosting provider that takes pushes at `url`; returns it (with its secret) and its domain."""
    domain = f"{key}-{tag()}.test"
    partner = gateway.create_partner(
        name=f"Webhook Hosting {key} {tag()}", locale="en", jurisdiction="GB", domains=[domain], webhook_url=url
    )
    assert partner["delivery"]["webhook_url"] == url, partner
    secret = partner.get("webhook_secret")
    assert isinstance(secret, str) and secret.startswith("whsec_"), f"no webhook_secret in the answer: {partner}"
    assert len(base64_decode_secret(secret)) >= 24, secret
    shown = gateway.get_json(f"/v1/partners/{partner['id']}", gateway.admin_token)
    assert "webhook_secret" not in shown, "the webhook secret is shown again after creation"
    assert secret not in json.dumps(shown)
    return partner, domain


def base64_decode_secret(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix("whsec_"))


def issue(gateway: Gateway, *domains: str) -> dict[str, str]:
    """One case with an item per domain; returns {domain: notice id}."""
    body = {
        "reference": f"WEBHOOK-{tag()}",
        "category": {"uk_grade": "B"},
        "media_type": "image",
        "items": [item(f"https://cdn.{domain}/{tag()}.jpg", full=False) for domain in domains],
    }
    response = gateway.submit_case(body)
    assert not response["unrouted"], response
    by_url = {n["items"][0]: n["id"] for n in response["notices"]}
    return {domain: next(i for url, i in by_url.items() if f"//cdn.{domain}/" in url) for domain in domains}


def wait_for(receiver: Receiver, predicate, what: str, timeout: float = WAIT) -> None:
    if not receiver.wait_for(predicate, timeout):
        arrived = [(r.path, r.webhook_id, r.event_type, r.notice_id, r.answer, r.errors) for r in receiver.snapshot()]
        pytest.fail(f"timed out after {timeout}s waiting for {what}; arrived: {arrived}")


def records_for(receiver: Receiver, notice_id: str, event_type: str | None = None) -> list[Received]:
    return [
        r
        for r in receiver.snapshot()
        if r.notice_id == notice_id and (event_type is None or r.event_type == event_type)
    ]


def arrived(receiver: Receiver, notice_id: str, event_type: str = "notice.issued", count: int = 1) -> None:
    wait_for(
        receiver,
        lambda r: len(records_for(r, notice_id, event_type)) >= count,
        f"{count} {event_type} push(es) of {notice_id}",
    )


def deliveries_of(gateway: Gateway, notice_id: str) -> list[dict]:
    page = gateway.get_json("/v1/deliveries", gateway.admin_token, params={"notice_id": notice_id})
    assert set(page) >= {"deliveries", "next_cursor"}, page
    return page["deliveries"]


def settled_delivery(gateway: Gateway, notice_id: str, event_type: str = "notice.issued", timeout: float = WAIT) -> dict:
    """The notice's delivery of `event_type` once it succeeded (the outcome is recorded after the answer)."""
    deadline = time.monotonic() + timeout
    while True:
        found = [d for d in deliveries_of(gateway, notice_id) if d["event_type"] == event_type]
        assert len(found) == 1, f"expected one {event_type} delivery for {notice_id}: {found}"
        if found[0]["state"] == "succeeded":
            return gateway.get_json(f"/v1/deliveries/{found[0]['id']}", gateway.admin_token)
        if time.monotonic() > deadline:
            pytest.fail(f"delivery of {notice_id} not succeeded after {timeout}s: {found[0]}")
        time.sleep(0.1)


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def check_envelope(record: Received, *, event_type: str, notice_id: str, partner_id: str) -> dict:
    """The Standard Webhooks envelope and the notice summary inside it."""
    body = record.body
    assert isinstance(body, dict), record.raw[:500]
    assert record.webhook_id and record.webhook_id.startswith("msg_"), record.headers
    assert body["id"] == record.webhook_id, "the webhook-id header differs from the body's id"
    assert body["type"] == event_type, body["type"]
    assert abs(int(record.timestamp) - time.time()) < 120, f"webhook-timestamp {record.timestamp} is not now"
    assert abs(parse_time(body["created_at"]).timestamp() - time.time()) < 600, body["created_at"]
    assert record.headers.get("content-type", "").split(";")[0].strip() == "application/json", record.headers
    data = body["data"]
    assert data["id"] == notice_id, (data["id"], notice_id)
    assert data["partner_id"] == partner_id, data
    for key in ("document", "jws", "status", "issued_at", "deadline_at", "items", "sequence"):
        assert key in data, f"data.{key} missing: {sorted(data)}"
    assert isinstance(data["items"], list) and data["items"], data["items"]
    assert isinstance(data["sequence"], int), data["sequence"]
    assert parse_time(data["issued_at"]) < parse_time(data["deadline_at"]), data
    return data


def check_notice_jws(gateway: Gateway, data: dict, notice_id: str, partner_id: str, jwks: dict) -> None:
    """data.jws verifies with joserfc (and by hand), names the notice and partner, and signs data.document."""
    compact = data["jws"]
    signature = joserfc_verify(compact, jwks)
    assert signature.headers()["alg"] in ALGORITHMS, signature.headers()
    cryptography_verify(compact, jwks)
    claims = json.loads(b64url_decode(compact.split(".")[1]))
    assert claims["jti"] == notice_id and claims["aud"] == partner_id, claims
    assert claims["iss"] == gateway.url, claims
    assert claims == data["document"], "data.document is not the signed payload of data.jws"
    assert gateway.notice_jws(notice_id, gateway.admin_token) == compact, "the pushed JWS differs from the served one"


def rotate(gateway: Gateway, partner_id: str) -> dict:
    before = datetime.now(timezone.utc)
    rotated = gateway.post_json(f"/v1/partners/{partner_id}/webhook-secret", None, gateway.admin_token)
    assert set(rotated) >= {"partner_id", "webhook_secret", "previous_valid_until"}, rotated
    assert rotated["partner_id"] == partner_id, rotated
    assert rotated["webhook_secret"].startswith("whsec_"), rotated
    until = parse_time(rotated["previous_valid_until"])
    assert before + OVERLAP - timedelta(minutes=5) <= until <= before + OVERLAP + timedelta(minutes=5), rotated
    return rotated


# --- the tests --------------------------------------------------------------------------------------


def test_pushes_verify_with_standardwebhooks_and_carry_the_signed_notice(gateway: Gateway, receivers: Receivers):
    receiver = receivers()
    first, first_domain = webhook_partner(gateway, receiver.url("/hooks/first"), "first")
    second, second_domain = webhook_partner(gateway, receiver.url("/hooks/second"), "second")
    receiver.trust({first["id"]: first["webhook_secret"], second["id"]: second["webhook_secret"]})

    notices = issue(gateway, first_domain, second_domain)
    notices_2 = issue(gateway, first_domain)
    expected = {notices[first_domain]: first, notices[second_domain]: second, notices_2[first_domain]: first}
    assert len(expected) == 3
    wait_for(receiver, lambda r: r.notice_ids() >= set(expected), f"pushes of {sorted(expected)}")

    jwks = gateway.jwks()
    records = receiver.snapshot()
    assert len(records) == 3, f"expected one push per notice, got {[(r.notice_id, r.webhook_id) for r in records]}"
    assert len({r.webhook_id for r in records}) == 3, "two notices share a webhook-id"
    for record in records:
        partner = expected[record.notice_id]
        other = second if partner is first else first
        assert record.path == f"/hooks/{'first' if partner is first else 'second'}", record.path
        # the receiver's standardwebhooks check, with the secret returned when the partner was created
        assert record.verified[partner["id"]], f"standardwebhooks refused the push: {record.errors[partner['id']]}"
        assert not record.verified[other["id"]], "another partner's secret verifies the push"
        assert len(record.signatures) == 1 and record.signatures[0].startswith("v1,"), record.signature
        assert record.verify_with(partner["webhook_secret"]) == record.body
        data = check_envelope(record, event_type="notice.issued", notice_id=record.notice_id, partner_id=partner["id"])
        assert data["status"] in {"issued", "delivered"}, data["status"]
        assert "reason" not in data or data["reason"] is None, data.get("reason")
        check_notice_jws(gateway, data, record.notice_id, partner["id"], jwks)
        view = gateway.get_json(f"/v1/notices/{record.notice_id}", gateway.admin_token)
        assert data["items"] == view["items"], (data["items"], view["items"])

        # a changed body, id or timestamp no longer verifies
        webhook = Webhook(partner["webhook_secret"])
        forged = record.raw.replace(record.notice_id.encode(), b"ntc_" + b"0" * 26, 1)
        with pytest.raises(WebhookVerificationError):
            webhook.verify(forged, record.headers)
        with pytest.raises(WebhookVerificationError):
            webhook.verify(record.raw, {**record.headers, "webhook-id": "msg_" + "1" * 26})
        with pytest.raises(WebhookVerificationError):
            webhook.verify(record.raw, {**record.headers, "webhook-timestamp": str(int(record.timestamp) - 1)})

        # the operator API names the same event
        delivery = settled_delivery(gateway, record.notice_id)
        assert delivery["event_id"] == record.webhook_id, delivery
        assert delivery["partner_id"] == partner["id"] and delivery["channel"] == "webhook", delivery
        assert delivery["endpoint"] == receiver.url(record.path), delivery
        assert delivery["attempts"] == 1 and delivery["last_status"] == 204, delivery
        assert [a["status_code"] for a in delivery["attempt_log"]] == [204], delivery["attempt_log"]


def test_rotated_secret_signs_beside_the_old_one(gateway: Gateway, receivers: Receivers):
    receiver = receivers()
    partner, domain = webhook_partner(gateway, receiver.url("/hooks/rotating"), "rotating")
    old = partner["webhook_secret"]
    receiver.trust({"old": old})

    before = issue(gateway, domain)[domain]
    arrived(receiver, before)
    (first,) = records_for(receiver, before)
    assert first.verified["old"] and len(first.signatures) == 1, (first.signature, first.errors)

    rotated = rotate(gateway, partner["id"])
    new = rotated["webhook_secret"]
    assert new != old
    # One receiver that only knows the old secret, one that only knows the new one (each label is
    # checked alone, with its own standardwebhooks.Webhook), and one that knows neither.
    stranger = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    receiver.trust({"new": new, "stranger": stranger})

    after = [issue(gateway, domain)[domain] for _ in range(2)]
    for notice_id in after:
        arrived(receiver, notice_id)
        (record,) = records_for(receiver, notice_id)
        assert len(record.signatures) == 2, f"expected two signatures during the overlap: {record.signature!r}"
        assert all(s.startswith("v1,") for s in record.signatures), record.signature
        assert record.verified["old"], f"a receiver holding only the old secret refused it: {record.errors.get('old')}"
        assert record.verified["new"], f"a receiver holding only the new secret refused it: {record.errors.get('new')}"
        assert not record.verified["stranger"], "a random secret verifies the push"
        # each signature on its own: one is the old secret's, the other the new one's
        matches = []
        for signature in record.signatures:
            alone = {**record.headers, "webhook-signature": signature}
            matches.append(
                {label for label, secret in (("old", old), ("new", new)) if verifies(secret, record.raw, alone)}
            )
        assert sorted(map(sorted, matches)) == [["new"], ["old"]], matches
        check_envelope(record, event_type="notice.issued", notice_id=notice_id, partner_id=partner["id"])

    # A second rotation: the newest secret joins, the first one keeps signing until its overlap ends.
    newest = rotate(gateway, partner["id"])["webhook_secret"]
    assert newest not in (old, new)
    receiver.trust({"newest": newest})
    last = issue(gateway, domain)[domain]
    arrived(receiver, last)
    (record,) = records_for(receiver, last)
    assert len(record.signatures) == 3, f"expected the three live secrets to sign: {record.signature!r}"
    assert record.verified["newest"] and record.verified["new"] and record.verified["old"], record.errors
    assert not record.verified["stranger"]


def verifies(secret: str, raw: bytes, headers: dict[str, str]) -> bool:
    try:
        Webhook(secret).verify(raw, headers)
        return True
    except WebhookVerificationError:
        return False


def test_rotation_needs_an_admin_or_the_partner_and_a_webhook(gateway: Gateway, receivers: Receivers):
    receiver = receivers()
    partner, _ = webhook_partner(gateway, receiver.url("/hooks/guarded"), "guarded")
    other, _ = webhook_partner(gateway, receiver.url("/hooks/other"), "other")
    plain = gateway.create_partner(name=f"No Webhook {tag()}", locale="en", jurisdiction="GB", domains=[f"plain-{tag()}.test"])
    assert "webhook_secret" not in plain, "a partner without a webhook_url was given a webhook secret"
    path = f"/v1/partners/{partner['id']}/webhook-secret"
    for token, status in ((other["token"], 404), (gateway.create_analyst_token("rotation-analyst"), 403)):
        response = gateway.request("POST", path, token=token, expect=None)
        assert response.status_code == status, (response.status_code, response.text[:500])
        assert "whsec_" not in response.text
    gateway.request("POST", path, expect=401)
    own = gateway.request("POST", path, token=partner["token"], expect=201).json()
    assert own["webhook_secret"].startswith("whsec_"), own
    response = gateway.request("POST", f"/v1/partners/{plain['id']}/webhook-secret", token=gateway.admin_token, expect=None)
    assert response.status_code == 409, (response.status_code, response.text[:500])


def test_new_webhook_url_gets_a_new_secret_and_the_old_one_stops(gateway: Gateway, receivers: Receivers):
    receiver = receivers()
    partner, domain = webhook_partner(gateway, receiver.url("/hooks/before"), "moving")
    old = partner["webhook_secret"]
    changed = gateway.request(
        "PATCH",
        f"/v1/partners/{partner['id']}",
        token=gateway.admin_token,
        body={"delivery": {"webhook_url": receiver.url("/hooks/after")}},
    ).json()
    new = changed.get("webhook_secret")
    assert isinstance(new, str) and new.startswith("whsec_") and new != old, changed
    assert changed["delivery"]["webhook_url"] == receiver.url("/hooks/after"), changed
    receiver.trust({"old": old, "new": new})

    notice_id = issue(gateway, domain)[domain]
    arrived(receiver, notice_id)
    (record,) = records_for(receiver, notice_id)
    assert record.path == "/hooks/after", record.path
    assert record.verified["new"], record.errors
    assert not record.verified["old"], "the secret of the replaced webhook_url still signs"
    assert len(record.signatures) == 1, record.signature

    # the same URL again is no change: no new secret
    same = gateway.request(
        "PATCH",
        f"/v1/partners/{partner['id']}",
        token=gateway.admin_token,
        body={"delivery": {"webhook_url": receiver.url("/hooks/after")}},
    ).json()
    assert "webhook_secret" not in same, same


@pytest.mark.parametrize("fail_mode", [FAIL_STATUS, FAIL_CLOSE])
def test_retries_keep_the_webhook_id(gateway: Gateway, receivers: Receivers, fail_mode: str):
    # 400 is retried on the schedule (1 s here); 5xx and 429 would wait at least a minute by design.
    receiver = receivers(fail_first=True, fail_mode=fail_mode, fail_status=400)
    partner, domain = webhook_partner(gateway, receiver.url("/hooks/flaky"), "flaky")
    receiver.trust({"secret": partner["webhook_secret"]})

    notice_ids = [issue(gateway, domain)[domain] for _ in range(2)]
    for notice_id in notice_ids:
        arrived(receiver, notice_id, count=2)
        records = records_for(receiver, notice_id)
        assert len(records) == 2, [(r.webhook_id, r.answer) for r in records]
        failed, retried = records
        assert failed.answer == (400 if fail_mode == FAIL_STATUS else FAIL_CLOSE), failed.answer
        assert failed.webhook_id == retried.webhook_id == retried.body["id"], (failed.webhook_id, retried.webhook_id)
        assert failed.raw == retried.raw, "a retry sent another body"
        assert failed.verified["secret"] and retried.verified["secret"], (failed.errors, retried.errors)
        assert retried.arrived - failed.arrived >= 0.7, "the retry came before the 1 s (±20 %) schedule"

        delivery = settled_delivery(gateway, notice_id)
        assert delivery["event_id"] == failed.webhook_id, delivery
        assert delivery["attempts"] == 2 and delivery["last_status"] == 204, delivery
        log = delivery["attempt_log"]
        assert [a["number"] for a in log] == [1, 2], log
        if fail_mode == FAIL_STATUS:
            assert log[0]["status_code"] == 400, log[0]
            assert "scripted failure" in (log[0].get("response_excerpt") or ""), log[0]
        else:
            assert log[0].get("status_code") is None, log[0]
        assert log[0].get("error"), f"the failed attempt records no error: {log[0]}"
        assert log[1]["status_code"] == 204 and not log[1].get("error"), log[1]
        assert parse_time(log[0]["at"]) < parse_time(log[1]["at"]), log
        assert all(isinstance(a["latency_ms"], int) and a["latency_ms"] >= 0 for a in log), log
    time.sleep(1.5)  # nothing further arrives once a push succeeded
    assert len(receiver.snapshot()) == 4, [(r.webhook_id, r.answer) for r in receiver.snapshot()]


def test_withdrawal_is_pushed(gateway: Gateway, receivers: Receivers):
    receiver = receivers()
    partner, domain = webhook_partner(gateway, receiver.url("/hooks/withdrawals"), "withdrawals")
    receiver.trust({"secret": partner["webhook_secret"]})
    notice_id = issue(gateway, domain)[domain]
    arrived(receiver, notice_id)
    (issued,) = records_for(receiver, notice_id, "notice.issued")

    reason = f"Issued in error ({tag()})"
    gateway.request("POST", f"/v1/notices/{notice_id}/withdraw", token=gateway.admin_token, body={"reason": reason})
    arrived(receiver, notice_id, "notice.withdrawn")
    (withdrawn,) = records_for(receiver, notice_id, "notice.withdrawn")
    assert withdrawn.verified["secret"], withdrawn.errors
    assert withdrawn.webhook_id != issued.webhook_id, "the withdrawal reuses the issue event's webhook-id"
    data = check_envelope(withdrawn, event_type="notice.withdrawn", notice_id=notice_id, partner_id=partner["id"])
    assert data["status"] == "withdrawn", data["status"]
    assert data["reason"] == reason, data.get("reason")
    check_notice_jws(gateway, data, notice_id, partner["id"], gateway.jwks())

    delivery = settled_delivery(gateway, notice_id, "notice.withdrawn")
    assert delivery["event_id"] == withdrawn.webhook_id, delivery
    assert sorted(d["event_type"] for d in deliveries_of(gateway, notice_id)) == ["notice.issued", "notice.withdrawn"]


def test_sigterm_stops_a_gateway_with_the_outbox_running(gateway: Gateway, receivers: Receivers):
    """`takedown serve` must finish on SIGTERM (graceful shutdown) with its outbox worker running."""
    receiver = receivers()
    partner, domain = webhook_partner(gateway, receiver.url("/hooks/stop"), "stop")
    notice_id = issue(gateway, domain)[domain]
    arrived(receiver, notice_id)
    proc = gateway.proc
    proc.send_signal(signal.SIGTERM)
    try:
        rc = proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        gateway.kill()
        pytest.fail("takedown serve did not exit within 10 s of SIGTERM (graceful shutdown hangs)")
    assert rc == 0, f"exit status {rc} after SIGTERM"
