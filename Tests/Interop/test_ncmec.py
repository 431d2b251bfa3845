"""A hash list read by the real NCMEC client: `threatexchange`'s `NCMECHashAPI` (what Hasher-Matcher-Actioner
uses to subscribe to NCMEC), its base URL pointed at a list's NCMEC base URL on a local gateway.

The client signs in with the partner's id and token (HTTP Basic), reads `status` and `members`, follows the
pages of a window of more than 2,500 entries, then reads a later window after entries were deleted and
reclassified and sees the tombstones and the updates. Every page is also checked against
`Schemas/ncmec-hashsharing-v2.xsd` with Python's `xmlschema`. Wrong credentials are a 401, another
partner's list a 404. Affirmative and negative feedback submitted by the client become the list's
feedback for staff.
"""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path

import pytest
import requests
import xmlschema
from threatexchange.exchanges.clients.ncmec import hash_api

from conftest import GatewayFactory, tag

SCHEMA = xmlschema.XMLSchema(str(Path(__file__).resolve().parents[2] / "Schemas" / "ncmec-hashsharing-v2.xsd"))
ENTRIES = 2_600


@pytest.fixture(autouse=True)
def utc():
    """The client formats window times in local time with a `Z`: run it in UTC, as HMA's hosts do."""
    previous = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    yield
    if previous is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = previous
    time.tzset()


def client(gateway, list_id: str, user: str, password: str) -> hash_api.NCMECHashAPI:
    api = hash_api.NCMECHashAPI(user, password, hash_api.NCMECEnvironment.test_Industry)
    api._base_url = f"{gateway.url}/v1/hash-lists/{list_id}/ncmec"  # the one thing pointed elsewhere
    return api


def entry(classification: str | None = None) -> dict:
    body = {
        "media_type": "image",
        "hashes": {"md5": secrets.token_hex(16), "sha1": secrets.token_hex(20), "sha256": secrets.token_hex(32)},
        "classification": {"uk_grade": "A"},
    }
    if classification:
        body["classification"]["classification"] = classification
    return body


def read_window(api: hash_api.NCMECHashAPI, start: int, end: int) -> tuple[list, int]:
    updates, pages = [], 0
    for page in api.get_entries_iter(start_timestamp=start, end_timestamp=end):
        updates.extend(page.updates)
        pages += 1
        assert pages < 50, "the pages do not end"
    return updates, pages


def test_threatexchange_reads_a_list_through_windows_and_pages(gateway_factory: GatewayFactory):
    gateway = gateway_factory("ncmec", extra_env={"TAKEDOWN_HASH_PUBLISH_INTERVAL_SECONDS": "0"})
    admin = gateway.admin_token
    domain = f"ncmec-{tag()}.test"
    partner = gateway.create_partner(name=f"HMA Hosting {tag()}", locale="en", jurisdiction="GB", domains=[domain])
    other = gateway.create_partner(name="Other Hosting", locale="en", jurisdiction="GB", domains=[f"o-{domain}"])
    listed = gateway.post_json(
        "/v1/hash-lists",
        {
            "name": "NCMEC dialect",
            "audience": "hosting_provider",
            "hash_types": ["md5", "sha1", "sha256"],
            "include": {"uk_grades": ["A"]},
            "partners": [partner["id"]],
        },
        admin,
    )
    list_id = listed["id"]

    begin = int(time.time()) - 1
    added: list[dict] = []
    for offset in range(0, ENTRIES, 1_000):
        batch = [entry("A1") for _ in range(min(1_000, ENTRIES - offset))]
        added += gateway.post_json(f"/v1/hash-lists/{list_id}/entries", {"entries": batch}, admin)["entries"]
    end = int(time.time()) + 1

    api = client(gateway, list_id, partner["id"], partner["token"])
    status = api.status()
    assert status.esp_name == partner["name"]
    members = api.members()
    assert len(members) == 1 and members[0].esp_name == "Example Hotline"

    updates, pages = read_window(api, begin, end)
    assert pages == 3, pages  # 1,000 + 1,000 + 600, linked by <paging><next>
    assert [u.id for u in updates] == [e["id"] for e in added]
    first = updates[0]
    assert not first.deleted and first.entry_type == hash_api.NCMECEntryType.image
    assert first.member_id == members[0].esp_id and first.classification == "A1"
    assert first.fingerprints == {k: added[0]["hashes"][k] for k in ("md5", "sha1", "sha256")}

    # A later window: three deleted, two reclassified. The client sees exactly those five changes.
    later = int(time.time()) + 1
    while time.time() < later:
        time.sleep(0.05)
    for gone in added[:3]:
        gateway.request("DELETE", f"/v1/hash-lists/{list_id}/entries/{gone['id']}?reason=false_positive", token=admin)
    for changed in added[3:5]:
        gateway.request(
            "PATCH",
            f"/v1/hash-lists/{list_id}/entries/{changed['id']}",
            token=admin,
            body={"classification": {"uk_grade": "A", "classification": "A2"}},
            expect=200,
        )
    window, pages = read_window(api, later, int(time.time()) + 1)
    assert pages == 1
    assert [(u.id, u.deleted) for u in window] == [(e["id"], i < 3) for i, e in enumerate(added[:5])]
    assert all(u.fingerprints == {} for u in window[:3])
    assert [u.classification for u in window[3:]] == ["A2", "A2"]

    # Every page the gateway wrote is valid against the schema, by a validator it did not write.
    auth = (partner["id"], partner["token"])
    base = f"{gateway.url}/v1/hash-lists/{list_id}/ncmec"
    window_from = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(later))
    window_to = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(later + 3600))
    for path in (
        "/v2/status",
        "/v2/members",
        "/v2/entries?from=1970-01-01T00:00:00Z&size=7",
        f"/v2/entries?from={window_from}&to={window_to}",  # the later window: tombstones with their reason, and updates
        "/v2/feedback/PDQ/reasons",
    ):
        response = requests.get(base + path, auth=auth, timeout=30)
        assert response.status_code == 200, (path, response.text[:300])
        SCHEMA.validate(response.content)
        if path.startswith(f"/v2/entries?from={window_from}"):
            assert response.text.count("<reason>false_positive</reason>") == 3, response.text[:1000]

    # Wrong credentials: 401 with a Basic challenge; another partner's list: 404.
    for user, password in ((partner["id"], "tdk_wrong"), (other["id"], partner["token"])):
        with pytest.raises(requests.HTTPError) as refused:
            client(gateway, list_id, user, password).status()
        assert refused.value.response.status_code == 401
        assert refused.value.response.headers["WWW-Authenticate"].startswith("Basic")
    with pytest.raises(requests.HTTPError) as hidden:
        client(gateway, list_id, other["id"], other["token"]).status()
    assert hidden.value.response.status_code == 404

    # Feedback as the client submits it: an upvote on one entry's MD5, a downvote (the client picks the one
    # reason offered by itself) on another's SHA1. Staff see both in the list's feedback, as the partner's.
    member = members[0].esp_id
    api.submit_feedback(member, added[10]["id"], hash_api.FingerprintType.md5, hash_api.FeedbackType.upvote)
    api.submit_feedback(member, added[11]["id"], hash_api.FingerprintType.sha1, hash_api.FeedbackType.downvote)
    assert list(api.feedback_reasons(hash_api.FingerprintType.pdq).values()) == [
        "Not what the list says it is (false positive)"
    ]
    feedback = gateway.get_json(f"/v1/hash-lists/{list_id}/feedback?status=all", admin)["feedback"]
    assert [(f["entry_id"], f["verdict"], f["partner_id"]) for f in feedback] == [
        (added[10]["id"], "confirmed", partner["id"]),
        (added[11]["id"], "false_positive", partner["id"]),
    ], feedback
    # A deleted entry takes none; another member's number is not found.
    with pytest.raises(requests.HTTPError) as deleted:
        api.submit_feedback(member, added[0]["id"], hash_api.FingerprintType.md5, hash_api.FeedbackType.upvote)
    assert deleted.value.response.status_code == 409
    with pytest.raises(requests.HTTPError) as stranger:
        api.submit_feedback(member + 1, added[12]["id"], hash_api.FingerprintType.md5, hash_api.FeedbackType.upvote)
    assert stranger.value.response.status_code == 404
    assert len(gateway.get_json(f"/v1/hash-lists/{list_id}/feedback?status=all", admin)["feedback"]) == 2

    # Each page read is in the list's download log.
    log = gateway.get_json(f"/v1/hash-lists/{list_id}/downloads?limit=1000", admin)["downloads"]
    assert sum(1 for row in log if row["format"] == "ncmec" and row["partner_id"] == partner["id"]) >= 5
