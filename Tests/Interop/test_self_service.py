"""A provider looks after itself with its own token, end to end against the built binary.

Tokens made and revoked, the webhook secret rotated, the contact email changed, endpoint health and
deliveries read, and the webhook moved: the new URL is used only after a signed `webhook.test` event to
it is accepted by an endpoint that checks it with the PyPI `standardwebhooks` package (not code of this
project). An endpoint that cannot verify the event answers 400, and the webhook stays where it was.
"""

from __future__ import annotations

import time

import pytest

from conftest import Gateway, GatewayFactory
from test_webhooks import WAIT, WEBHOOK_ENV, Receivers, arrived, issue, receivers, webhook_partner  # noqa: F401

pytestmark = pytest.mark.filterwarnings("ignore:.*EdDSA")


@pytest.fixture
def gateway(gateway_factory: GatewayFactory) -> Gateway:
    return gateway_factory("self-service", extra_env=WEBHOOK_ENV)


def strict(receivers: Receivers, *secrets: str):
    """An endpoint that answers 204 only to a request standardwebhooks verifies with a secret it holds."""
    return receivers(secrets=list(secrets), fail_first=lambda record: not record.ok, fail_status=400)


def test_a_provider_runs_self_service_end_to_end(gateway: Gateway, receivers: Receivers):
    first = strict(receivers)
    partner, domain = webhook_partner(gateway, first.url("/hooks/first"), "self")
    first.trust(partner["webhook_secret"])
    token, pid = partner["token"], partner["id"]

    # Tokens: a second one for a bot; the first revoked by the bot; the bot cannot revoke itself.
    bot = gateway.post_json(f"/v1/partners/{pid}/tokens", {"name": "ticket bot"}, token)
    listed = gateway.get_json("/v1/tokens", token)["tokens"]
    assert {t["id"] for t in listed} >= {bot["id"]} and all(t["partner_id"] == pid for t in listed), listed
    first_token = next(t["id"] for t in listed if t["id"] != bot["id"])
    gateway.request("DELETE", f"/v1/tokens/{first_token}", token=bot["token"], expect=204)
    gateway.request("GET", "/v1/notices", token=token, expect=401)
    gateway.request("DELETE", f"/v1/tokens/{bot['id']}", token=bot["token"], expect=409)
    token = bot["token"]

    # The secret rotated: the old one signs on for the overlap; the endpoint learns the new one.
    rotated = gateway.post_json(f"/v1/partners/{pid}/webhook-secret", None, token)
    assert rotated["webhook_secret"].startswith("whsec_"), rotated
    first.trust(rotated["webhook_secret"])

    # A new endpoint that holds no secret of ours cannot verify the test: the webhook stays.
    second = strict(receivers)
    refused = gateway.request("POST", f"/v1/partners/{pid}/webhook", token=token,
                              body={"webhook_url": second.url("/hooks/second")}, expect=422)
    assert [p["name"] for p in refused.json()["invalid_params"]] == ["webhook_url"], refused.text
    [test] = second.snapshot()
    assert test.event_type == "webhook.test" and not test.ok and test.answer == 400, (test.body, test.errors)
    assert gateway.get_json(f"/v1/partners/{pid}", token)["delivery"]["webhook_url"] == first.url("/hooks/first")

    # Given the current secret, it verifies the signed test; only then is the webhook moved.
    second.trust(rotated["webhook_secret"])
    moved = gateway.request("POST", f"/v1/partners/{pid}/webhook", token=token,
                            body={"webhook_url": second.url("/hooks/second")}, expect=200).json()
    assert moved["delivery"]["webhook_url"] == second.url("/hooks/second") and moved["test_status"] == 204, moved
    accepted = second.snapshot()[-1]
    assert accepted.ok and accepted.event_type == "webhook.test", accepted.errors
    assert accepted.body["data"] == {"partner_id": pid, "webhook_url": second.url("/hooks/second")}, accepted.body

    notices = issue(gateway, domain)
    arrived(second, notices[domain])
    assert not first.notice_ids("notice.issued"), "a notice went to the webhook left behind"
    assert all(r.ok for r in second.snapshot()[1:]), [r.errors for r in second.snapshot()]

    # Contact, endpoint health and the deliveries with their attempts, all with the partner's own token.
    contact = gateway.request("PATCH", f"/v1/partners/{pid}", token=token,
                              body={"contact_email": "desk@self.test"}, expect=200).json()
    assert contact["contact_email"] == "desk@self.test", contact
    gateway.request("PATCH", f"/v1/partners/{pid}", token=token, body={"name": "x"}, expect=403)
    endpoints = gateway.get_json(f"/v1/partners/{pid}/endpoints", token)["endpoints"]
    assert [e["endpoint"] for e in endpoints] == [second.url("/hooks/second")], endpoints
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        [delivery] = gateway.get_json("/v1/deliveries", token)["deliveries"]
        if delivery["state"] == "succeeded":
            break
        time.sleep(0.2)
    detail = gateway.get_json(f"/v1/deliveries/{delivery['id']}", token)
    assert detail["state"] == "succeeded" and detail["attempt_log"][0]["status_code"] == 204, detail

    # Every change is in the audit trail, under the partner's name; no secret in it.
    trail = gateway.get_json("/v1/audit", gateway.admin_token, params={"actor": f"partner:{pid}", "limit": "100"})
    actions = [e["action"] for e in trail["entries"]]
    assert actions == [
        "POST /v1/partners/{partner_id}/tokens", "DELETE /v1/tokens/{token_id}",
        "POST /v1/partners/{partner_id}/webhook-secret", "POST /v1/partners/{partner_id}/webhook",
        "PATCH /v1/partners/{partner_id}",
    ], actions
    assert "whsec_" not in str(trail) and "tdk_" not in str(trail)
