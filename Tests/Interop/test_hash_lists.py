"""Hash lists as a partner consumes them: signed manifests, byte-stable exports, the change feed.

Every test starts its own gateway (automatic publishing off, so versions are exactly the ones the test
publishes) and builds the same scenario: a list of md5, sha1, sha256 and PDQ filled by cases of grades
A and B (a grade C case stays out), by hand, then reclassified, deleted (with reasons) and restored. The
checks use only what a consumer has: the JWKS, joserfc/PyJWT, hashlib, gzip, csv and json.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import secrets
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from joserfc import jws
from joserfc.jwk import KeySet

from conftest import HTTP_TIMEOUT, Gateway, GatewayError, item, tag

# joserfc flags "EdDSA" as deprecated by RFC 9864; the design fixes the name (see test_jws.py).
pytestmark = pytest.mark.filterwarnings("ignore:.*EdDSA")

ALGORITHMS = ["EdDSA"]
HASH_TYPES = ["md5", "sha1", "sha256", "pdq"]
# What an entry of a list of all four types keeps of a file's hashes (PhotoDNA never goes on a list).
LISTED_FIELDS = ("md5", "sha1", "sha256", "pdq", "pdq_quality")
NO_AUTO_PUBLISH = {"TAKEDOWN_HASH_PUBLISH_INTERVAL_SECONDS": "0"}


# --- HTTP as a consumer sees it -------------------------------------------------------------------------


@dataclass
class Fetched:
    status: int
    headers: Any
    raw: bytes  # the bytes on the wire (compressed when Content-Encoding: gzip)
    body: bytes  # the bytes after undoing Content-Encoding

    @property
    def etag(self) -> str:
        return self.headers.get("ETag", "")


def fetch(
    gateway: Gateway,
    path: str,
    token: str,
    *,
    gzip_ok: bool = False,
    if_none_match: str | None = None,
    params: dict | None = None,
    expect: int | None = 200,
) -> Fetched:
    """GET with an explicit Accept-Encoding (requests would ask for gzip on its own), bytes untouched."""
    headers = {"Authorization": f"Bearer {token}", "Accept-Encoding": "gzip" if gzip_ok else "identity"}
    if if_none_match is not None:
        headers["If-None-Match"] = if_none_match
    response = gateway.http.get(gateway.url + path, headers=headers, params=params, stream=True, timeout=HTTP_TIMEOUT)
    try:
        raw = response.raw.read(decode_content=False)
    finally:
        response.close()
    encoding = response.headers.get("Content-Encoding", "identity").lower()
    assert encoding in {"identity", "gzip"}, f"{path}: unexpected Content-Encoding {encoding}"
    if encoding == "gzip":
        assert gzip_ok, f"{path}: gzip sent to a client that did not accept it"
        assert raw[:2] == b"\x1f\x8b", f"{path}: Content-Encoding gzip but the body is not gzip"
        body = gzip.decompress(raw)
    else:
        body = raw
    if expect is not None and response.status_code != expect:
        raise GatewayError(f"GET {path} {params or ''}: expected {expect}, got {response.status_code}\n{body[:2000]!r}")
    return Fetched(response.status_code, response.headers, raw, body)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def assert_strong_etag(etag: str, what: str) -> None:
    assert etag, f"{what}: no ETag"
    assert not etag.startswith("W/"), f"{what}: weak ETag {etag}"
    assert len(etag) > 2 and etag[0] == '"' and etag[-1] == '"' and '"' not in etag[1:-1], f"{what}: {etag!r}"


def ndjson(data: bytes) -> list[dict]:
    assert data == b"" or data.endswith(b"\n"), "NDJSON must end every line with a newline"
    return [json.loads(line) for line in data.decode("utf-8").splitlines()]


def export_params(export: dict) -> dict:
    params = {"format": export["format"]}
    if export.get("hash"):
        params["hash"] = export["hash"]
    return params


def export_label(export: dict) -> str:
    return export["format"] + (f"-{export['hash']}" if export.get("hash") else "")


# --- the manifest ---------------------------------------------------------------------------------------


def verify_manifest(raw: bytes, jwks: dict) -> tuple[bytes, dict]:
    """Checks a `{"jws", "manifest"}` body like a consumer would; returns the signed payload bytes and manifest."""
    document = json.loads(raw)
    assert set(document) == {"jws", "manifest"}, sorted(document)
    compact = document["jws"]

    signature = jws.deserialize_compact(compact, KeySet.import_key_set(jwks), algorithms=ALGORITHMS)
    header = signature.headers()
    assert header["alg"] == "EdDSA", header
    assert header.get("kid") in {k["kid"] for k in jwks["keys"]}, header
    payload = signature.payload
    assert isinstance(payload, bytes)

    # An independent second verification with PyJWT's JWS layer.
    import jwt as pyjwt

    key = pyjwt.PyJWKSet.from_dict(jwks)[header["kid"]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        assert pyjwt.PyJWS().decode(compact, key=key.key, algorithms=ALGORITHMS) == payload

    manifest = json.loads(payload)
    assert document["manifest"] == manifest, "the manifest shown beside the JWS is not the signed payload"
    assert payload in raw, "the manifest object is not the JWS payload byte for byte"
    return payload, manifest


# --- the scenario ---------------------------------------------------------------------------------------


def listed(hashes: dict) -> dict:
    kept = {k: hashes[k] for k in LISTED_FIELDS if hashes.get(k) is not None}
    if "pdq" not in kept:
        kept.pop("pdq_quality", None)
    return kept


def entry_key(hashes: dict) -> str:
    """The identity of a file on a list of all four types: its strongest hash."""
    for name in ("sha256", "sha1", "md5", "pdq"):
        if hashes.get(name):
            return f"{name}:{hashes[name]}"
    raise AssertionError(f"no hash in {hashes}")


def hand_hashes(*names: str, quality: int = 80) -> dict:
    sizes = {"md5": 16, "sha1": 20, "sha256": 32, "pdq": 32}
    hashes: dict[str, Any] = {name: secrets.token_hex(sizes[name]) for name in names}
    if "pdq" in hashes:
        hashes["pdq_quality"] = quality
    return hashes


@dataclass
class Scenario:
    gateway: Gateway
    partner: dict  # granted the list
    outsider: dict  # a hosting provider without a grant
    list_id: str
    name: str
    # what the consumer must end up with: entry id -> media type, hashes, classification
    live: dict[str, dict] = field(default_factory=dict)
    deleted: dict[str, str] = field(default_factory=dict)  # entry id -> reason
    reclassified: set[str] = field(default_factory=set)
    restored: set[str] = field(default_factory=set)
    grade_c: list[dict] = field(default_factory=list)  # hashes of the grade C case's items
    ids: dict[str, str] = field(default_factory=dict)  # entry key -> entry id

    @property
    def admin(self) -> str:
        return self.gateway.admin_token

    def path(self, suffix: str = "") -> str:
        return f"/v1/hash-lists/{self.list_id}{suffix}"

    def staff_feed(self) -> list[dict]:
        return ndjson(fetch(self.gateway, self.path("/changes"), self.admin, params={"limit": "10000"}).body)

    def publish(self, expect: int = 201) -> bytes:
        response = self.gateway.request("POST", self.path("/publish"), token=self.admin, expect=expect)
        return response.content

    def add_entries(self, entries: list[dict]) -> list[dict]:
        return self.gateway.post_json(self.path("/entries"), {"entries": entries}, self.admin)["entries"]

    def reclassify(self, entry_id: str, classification: dict) -> dict:
        return self.gateway.request(
            "PATCH", self.path(f"/entries/{entry_id}"), token=self.admin, body={"classification": classification}
        ).json()

    def delete(self, entry_id: str, reason: str) -> dict:
        return self.gateway.request(
            "DELETE", self.path(f"/entries/{entry_id}"), token=self.admin, params={"reason": reason}
        ).json()

    def note_deleted(self, entry_id: str, reason: str) -> None:
        self.live.pop(entry_id)
        self.deleted[entry_id] = reason


def build_scenario(gateway: Gateway) -> Scenario:
    partner = gateway.create_partner(
        name=f"Hash Consumer {tag()}", locale="en", jurisdiction="GB", domains=["hoster-hl.test"],
        ip_ranges=["192.0.2.0/26"],
    )
    outsider = gateway.create_partner(
        name=f"Hash Outsider {tag()}", locale="de", jurisdiction="DE", domains=["other-hl.test"],
        ip_ranges=["198.51.100.0/26"],
    )

    # Grade A before the list exists (the list is backfilled from it), B and C after (added as they come).
    case_a = {
        "reference": f"HL-A-{tag()}",
        "category": {"uk_grade": "A", "classification": "A1"},
        "media_type": "image",
        "items": [
            item(f"https://cdn.hoster-hl.test/a/{tag()}.jpg", ip="192.0.2.10"),
            item(f"https://cdn.hoster-hl.test/b/{tag()}.jpg"),
            item(f"https://files.hoster-hl.test/c/{tag()}.jpg"),
            item(f"https://files.hoster-hl.test/d/{tag()}.jpg", full=False),  # sha256 only
        ],
    }
    gateway.submit_case(case_a)

    name = f"interop-hashes-{tag()}"
    created = gateway.post_json(
        "/v1/hash-lists",
        {
            "name": name,
            "audience": "hosting_provider",
            "hash_types": ["pdq", "sha256", "md5", "sha1"],
            "include": {"uk_grades": ["B", "A"]},
            "partners": [partner["id"]],
        },
        gateway.admin_token,
    )
    assert created["id"].startswith("hl_"), created
    assert created["hash_types"] == HASH_TYPES, created
    assert created["include"] == {"uk_grades": ["A", "B"]}, created
    assert created["partners"] == [partner["id"]], created
    assert created["entry_count"] == 4, f"the list was not backfilled from the stored grade A case: {created}"
    scenario = Scenario(gateway, partner, outsider, created["id"], name)

    case_b = {
        "reference": f"HL-B-{tag()}",
        "category": {"uk_grade": "B"},
        "media_type": "video",
        "items": [
            item(f"https://media.hoster-hl.test/v/{tag()}.mp4"),
            item(f"https://media.hoster-hl.test/w/{tag()}.mp4"),
        ],
    }
    case_c = {
        "reference": f"HL-C-{tag()}",
        "category": {"uk_grade": "C"},
        "media_type": "image",
        "items": [item(f"https://cdn.hoster-hl.test/x/{tag()}.jpg"), item(f"https://cdn.hoster-hl.test/y/{tag()}.jpg")],
    }
    gateway.submit_case(case_b)
    gateway.submit_case(case_c)
    scenario.grade_c = [i["hashes"] for i in case_c["items"]]

    # Entry ids of case files are only known from the feed (staff read it too).
    by_key = {entry_key(line["hashes"]): line for line in scenario.staff_feed()}
    for case, media in ((case_a, "image"), (case_b, "video")):
        for case_item in case["items"]:
            key = entry_key(case_item["hashes"])
            assert key in by_key, f"a grade {case['category']['uk_grade']} case file is missing from the list"
            line = by_key[key]
            assert line["hashes"] == listed(case_item["hashes"]), line
            scenario.ids[key] = line["entry_id"]
            scenario.live[line["entry_id"]] = {
                "media_type": media, "hashes": listed(case_item["hashes"]), "classification": case["category"],
            }
    for hashes in scenario.grade_c:
        assert entry_key(hashes) not in by_key, "a grade C case file went onto a list that takes A and B only"

    # By hand: every type, MD5 only, and SHA-1 + PDQ.
    manual = [
        {"media_type": "image", "hashes": hand_hashes("md5", "sha1", "sha256", "pdq"),
         "classification": {"uk_grade": "A", "classification": "A2"}},
        {"media_type": "video", "hashes": hand_hashes("md5"), "classification": {"uk_grade": "B"}},
        {"media_type": "image", "hashes": hand_hashes("sha1", "pdq", quality=100), "classification": {"uk_grade": "A"}},
    ]
    added = scenario.add_entries(manual)
    assert len(added) == 3, added
    for sent, entry in zip(manual, added):
        assert entry["id"].startswith("hle_") and entry["status"] == "live", entry
        assert entry["hashes"] == sent["hashes"] and entry["classification"] == sent["classification"], entry
        scenario.ids[entry_key(sent["hashes"])] = entry["id"]
        scenario.live[entry["id"]] = {k: sent[k] for k in ("media_type", "hashes", "classification")}
    # a grade the list does not take is refused
    scenario.gateway.request(
        "POST", scenario.path("/entries"), token=scenario.admin, expect=422,
        body={"entries": [{"media_type": "image", "hashes": hand_hashes("md5"), "classification": {"uk_grade": "C"}}]},
    )

    a0, a1, a2, a3 = (scenario.ids[entry_key(i["hashes"])] for i in case_a["items"])
    b0, b1 = (scenario.ids[entry_key(i["hashes"])] for i in case_b["items"])
    full, md5_only, sha1_pdq = (entry["id"] for entry in added)

    # Reclassify within the list's grades: the entry stays, with the new classification.
    changed = scenario.reclassify(a0, {"uk_grade": "B", "classification": "B1"})
    assert changed["status"] == "live" and changed["classification"] == {"uk_grade": "B", "classification": "B1"}
    scenario.live[a0]["classification"] = {"uk_grade": "B", "classification": "B1"}
    scenario.reclassified.add(a0)
    # Reclassify to a grade the list does not take: it leaves as out_of_scope.
    gone = scenario.reclassify(sha1_pdq, {"uk_grade": "C"})
    assert gone["status"] == "deleted" and gone["deletion_reason"] == "out_of_scope", gone
    scenario.note_deleted(sha1_pdq, "out_of_scope")

    for entry_id, reason in ((a1, "duplicate"), (md5_only, "false_positive"), (b0, "legal")):
        deleted = scenario.delete(entry_id, reason)
        assert deleted["status"] == "deleted" and deleted["deletion_reason"] == reason, deleted
        scenario.note_deleted(entry_id, reason)
    # a deletion needs a reason
    scenario.gateway.request("DELETE", scenario.path(f"/entries/{a2}"), token=scenario.admin, expect=422)

    # Restore: staff put a deleted file back (same entry, new classification).
    restored_item = case_a["items"][1]
    back = scenario.add_entries(
        [{"media_type": "image", "hashes": listed(restored_item["hashes"]), "classification": {"uk_grade": "B"}}]
    )[0]
    assert back["id"] == a1 and back["status"] == "live", back
    scenario.deleted.pop(a1)
    scenario.live[a1] = {
        "media_type": "image", "hashes": listed(restored_item["hashes"]), "classification": {"uk_grade": "B"},
    }
    scenario.restored.add(a1)
    assert a3 in scenario.live and b1 in scenario.live and full in scenario.live

    shown = gateway.get_json(scenario.path(), scenario.admin)
    assert shown["entry_count"] == len(scenario.live) == 6, shown
    return scenario


@pytest.fixture
def scenario(store_env, gateway_factory) -> Scenario:
    return build_scenario(gateway_factory("hash-lists", extra_env={**NO_AUTO_PUBLISH, **store_env}))


# --- consumer helpers -----------------------------------------------------------------------------------


def replay_feed(s: Scenario, token: str, *, after: str | None = None, limit: int = 3,
                state: dict[str, dict] | None = None) -> tuple[dict[str, dict], list[dict], str]:
    """Follows the change feed page by page, applying upserts and deletes by entry_id."""
    state = dict(state or {})
    records: list[dict] = []
    cursor = after
    for _ in range(1000):
        params = {"limit": str(limit)}
        if cursor is not None:
            params["after"] = cursor
        page = fetch(s.gateway, s.path("/changes"), token, params=params)
        assert page.headers["Content-Type"].split(";")[0] == "application/x-ndjson", page.headers
        assert_strong_etag(page.etag, "feed page")
        lines = ndjson(page.body)
        assert len(lines) <= limit, (len(lines), limit)
        has_more = page.headers["Takedown-Has-More"]
        assert has_more in {"true", "false"}, has_more
        next_cursor = page.headers["Takedown-Next-Cursor"]
        assert next_cursor, page.headers
        seqs = [line["seq"] for line in lines]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), seqs
        if records and lines:
            assert lines[0]["seq"] > records[-1]["seq"], "the feed went backwards across a page"
        for line in lines:
            assert line["op"] in {"upsert", "delete"}, line
            if line["op"] == "upsert":
                assert "reason" not in line, line
                state[line["entry_id"]] = line
            else:
                assert line.get("reason"), f"a delete without its reason: {line}"
                state.pop(line["entry_id"], None)
        records.extend(lines)
        cursor = next_cursor
        if has_more == "false":
            assert "Link" not in page.headers, page.headers
            return state, records, cursor
        assert len(lines) == limit, "Takedown-Has-More: true on a short page"
        assert 'rel="next"' in page.headers.get("Link", ""), page.headers
    raise AssertionError("the feed never ended")


def download_all(s: Scenario, token: str, version: str, manifest: dict, *, gzip_ok: bool = False) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for export in manifest["exports"]:
        got = fetch(s.gateway, s.path(f"/versions/{version}/export"), token, params=export_params(export),
                    gzip_ok=gzip_ok)
        label = export_label(export)
        assert sha256_hex(got.body) == export["sha256"], f"{label}: SHA-256 differs from the manifest"
        assert len(got.body) == export["bytes"], f"{label}: {len(got.body)} bytes, manifest says {export['bytes']}"
        if gzip_ok:
            assert got.headers.get("Content-Encoding") == "gzip", f"{label}: not gzipped on request"
        else:
            assert "Content-Encoding" not in got.headers, got.headers
            assert int(got.headers["Content-Length"]) == export["bytes"], got.headers
        assert_strong_etag(got.etag, label)
        files[label] = got.body
    return files


def projection(line: dict) -> dict:
    return {k: line[k] for k in ("media_type", "hashes", "classification")}


# --- 1. the consumer ------------------------------------------------------------------------------------


def test_consumer_verifies_downloads_and_replays_the_feed(scenario: Scenario):
    s = scenario
    token = s.partner["token"]
    jwks = s.gateway.jwks()

    published = s.publish(expect=201)
    again = s.publish(expect=200)  # nothing changed: the same version
    assert again == published

    latest = fetch(s.gateway, s.path("/versions/latest/manifest"), token)
    assert latest.headers["Content-Type"].split(";")[0] == "application/json"
    assert latest.body == published
    payload, manifest = verify_manifest(latest.body, jwks)

    shown = s.gateway.get_json(s.path(), token)
    assert manifest["version"] == 1 and shown["latest_version"] == 1, (manifest, shown)
    assert manifest["list_id"] == s.list_id and manifest["name"] == s.name
    assert manifest["iss"] == s.gateway.url
    assert manifest["seq"] == shown["last_seq"]
    assert manifest["entry_count"] == len(s.live)
    assert manifest["previous_manifest_sha256"] is None
    assert manifest["tombstone_retention_days"] == shown["tombstone_retention_days"] == 90
    assert manifest["min_poll_seconds"] == shown["min_poll_seconds"]
    assert manifest["expires_at"] > manifest["created_at"]
    labels = sorted(export_label(e) for e in manifest["exports"])
    assert labels == sorted(["ndjson", "csv", "text-md5", "text-sha1", "text-sha256", "text-pdq", "vics"]), labels
    versions = s.gateway.get_json(s.path("/versions"), token)["versions"]
    assert [(v["version"], v["manifest_sha256"], v["entry_count"]) for v in versions] == [
        (1, sha256_hex(payload), len(s.live))
    ], versions
    assert fetch(s.gateway, s.path("/versions/1/manifest"), token).body == latest.body

    # Every export matches the manifest, the same bytes every time, gzip or not.
    first = download_all(s, token, "latest", manifest)
    assert download_all(s, token, "latest", manifest) == first, "a second download gave different bytes"
    assert download_all(s, token, "1", manifest, gzip_ok=True) == first, "the gzip download decompresses to other bytes"

    # The NDJSON export is exactly the live entries, with their current state.
    entries = ndjson(first["ndjson"])
    by_id = {line["entry_id"]: line for line in entries}
    assert len(by_id) == len(entries), "an entry appears twice in the export"
    assert {k: projection(v) for k, v in by_id.items()} == s.live
    assert all(line["op"] == "upsert" and "reason" not in line for line in entries), entries
    assert not set(by_id) & set(s.deleted), "a deleted entry is in the export"
    for entry_id in s.reclassified:
        assert by_id[entry_id]["classification"] == {"uk_grade": "B", "classification": "B1"}
    assert b"photodna" not in first["ndjson"], "PhotoDNA leaked onto the list"
    for hashes in s.grade_c:
        for name in HASH_TYPES:
            for label, data in first.items():
                assert hashes[name].encode() not in data, f"a grade C file's {name} is in the {label} export"

    # CSV and text files say the same.
    rows = list(csv.DictReader(io.StringIO(first["csv"].decode("utf-8"))))
    assert [r["entry_id"] for r in rows] == [line["entry_id"] for line in entries]
    for row in rows:
        line = by_id[row["entry_id"]]
        assert row["media_type"] == line["media_type"]
        for name in LISTED_FIELDS:
            assert row[name] == str(line["hashes"].get(name, "")), (name, row, line)
        assert row["uk_grade"] == line["classification"]["uk_grade"]
        assert row["classification"] == line["classification"].get("classification", "")
        assert row["updated_at"] == line["updated_at"]
    # text without a hash is the list's first type (md5)
    default_text = fetch(s.gateway, s.path("/versions/1/export"), token, params={"format": "text"}).body
    assert default_text == first["text-md5"]
    for name in HASH_TYPES:
        text = first[f"text-{name}"].decode("ascii")
        assert text.splitlines() == [line["hashes"][name] for line in entries if name in line["hashes"]], name

    # Replaying the whole feed in small pages gives exactly the export, deletions included.
    state, records, cursor = replay_feed(s, token, limit=3)
    assert state == by_id, "replaying the feed does not give the export's entries"
    assert records[-1]["seq"] == manifest["seq"] and cursor == manifest["feed_cursor"]
    deletes = {r["entry_id"]: r["reason"] for r in records if r["op"] == "delete"}
    assert {k: v for k, v in deletes.items() if k not in s.restored} == s.deleted, deletes
    for entry_id in s.restored:
        assert deletes[entry_id] == "duplicate"
        ops = [r["op"] for r in records if r["entry_id"] == entry_id]
        assert ops == ["upsert", "delete", "upsert"], ops
    assert state == replay_feed(s, token, limit=1000)[0], "page size changed the replay"

    # More changes, version 2: chained to version 1, which stays as it was.
    new = s.add_entries(
        [{"media_type": "image", "hashes": hand_hashes("md5", "sha256"), "classification": {"uk_grade": "A"}}]
    )[0]
    survivor = next(iter(sorted(set(s.live) - s.reclassified - s.restored)))
    s.delete(survivor, "out_of_scope")
    s.note_deleted(survivor, "out_of_scope")
    s.reclassify(new["id"], {"uk_grade": "B", "classification": "B2"})
    s.live[new["id"]] = {"media_type": "image", "hashes": new["hashes"],
                         "classification": {"uk_grade": "B", "classification": "B2"}}
    second_raw = s.publish(expect=201)
    second_payload, second = verify_manifest(second_raw, jwks)
    assert second["version"] == 2
    assert second["previous_manifest_sha256"] == sha256_hex(payload), "version 2 is not chained to version 1"
    assert second["previous_manifest_sha256"] == versions[0]["manifest_sha256"]
    assert second["entry_count"] == len(s.live)
    assert fetch(s.gateway, s.path("/versions/latest/manifest"), token).body == second_raw
    # a consumer revalidating "latest" with version 1's tag gets version 2, not a 304
    revalidated = fetch(s.gateway, s.path("/versions/latest/manifest"), token, if_none_match=latest.etag)
    assert revalidated.status == 200 and revalidated.body == second_raw and revalidated.etag != latest.etag
    assert fetch(s.gateway, s.path("/versions/1/manifest"), token).body == latest.body, "version 1's manifest changed"
    assert download_all(s, token, "1", manifest) == first, "version 1's exports changed after version 2"

    second_files = download_all(s, token, "2", second)
    second_entries = {line["entry_id"]: line for line in ndjson(second_files["ndjson"])}
    assert {k: projection(v) for k, v in second_entries.items()} == s.live
    assert survivor not in second_entries
    assert second_entries[new["id"]]["classification"] == {"uk_grade": "B", "classification": "B2"}
    # A consumer holding version 1 catches up from its feed_cursor to exactly version 2.
    caught_up, tail, _ = replay_feed(s, token, after=manifest["feed_cursor"], limit=2, state=by_id)
    assert caught_up == second_entries, "version 1 + the feed after its cursor is not version 2"
    assert [r["seq"] for r in tail] == list(range(manifest["seq"] + 1, second["seq"] + 1))


# --- 2. VICS --------------------------------------------------------------------------------------------


def test_vics_export_round_trips_with_ndjson(scenario: Scenario):
    s = scenario
    token = s.partner["token"]
    _, manifest = verify_manifest(s.publish(), s.gateway.jwks())
    files = download_all(s, token, "latest", manifest)

    got = fetch(s.gateway, s.path("/versions/latest/export"), token, params={"format": "vics"})
    assert got.headers["Content-Type"].split(";")[0] == "application/json"
    vics = json.loads(files["vics"])
    assert vics["@odata.context"].endswith("$metadata#Media"), vics["@odata.context"]
    assert isinstance(vics["value"], list) and vics["value"], vics

    entries = ndjson(files["ndjson"])
    media_ids = []
    for media in vics["value"]:
        assert type(media["MediaID"]) is int, media
        media_ids.append(media["MediaID"])
        assert isinstance(media["MD5"], str) and len(media["MD5"]) == 32, media
        if "SHA1" in media:
            assert len(media["SHA1"]) == 40, media
        assert type(media["Category"]) is int, media
        assert type(media["IsPrecategorized"]) is bool, media
        assert isinstance(media["AlternativeHashes"], list), media
        for alternative in media["AlternativeHashes"]:
            assert alternative["HashName"] in {"SHA256", "PDQ"}, alternative
            assert alternative["HashValue"] and alternative.get("MD5", media["MD5"]) == media["MD5"], alternative
    assert len(set(media_ids)) == len(media_ids), f"MediaID repeats: {media_ids}"

    def from_vics(media: dict) -> tuple:
        alternatives = {a["HashName"]: a["HashValue"] for a in media["AlternativeHashes"]}
        return (media["MD5"], media.get("SHA1"), alternatives.get("SHA256"), alternatives.get("PDQ"))

    def from_ndjson(line: dict) -> tuple:
        h = line["hashes"]
        return (h.get("md5"), h.get("sha1"), h.get("sha256"), h.get("pdq"))

    # MD5 is the VICS key: every entry with an MD5 is there, and nothing else.
    with_md5 = [line for line in entries if "md5" in line["hashes"]]
    assert len(with_md5) < len(entries), "the scenario should hold entries without MD5 too"
    assert sorted(map(from_vics, vics["value"])) == sorted(map(from_ndjson, with_md5))
    assert len(vics["value"]) == len(with_md5)

    # MediaID is the entry's number on the list; Tags carry the UK grade.
    by_md5 = {line["hashes"]["md5"]: line for line in with_md5}
    for media in vics["value"]:
        line = by_md5[media["MD5"]]
        staff_view = s.gateway.get_json(s.path(f"/entries/{line['entry_id']}"), s.admin)
        assert media["MediaID"] == staff_view["number"], (media, staff_view)
        assert f"uk_grade:{line['classification']['uk_grade']}" in media.get("Tags", ""), media


# --- 3. polling etiquette and the download log ----------------------------------------------------------


def wait_for_downloads(s: Scenario, count: int, timeout: float = 10.0) -> list[dict]:
    """The download log, read page by page (an export is logged once its last byte is sent)."""
    deadline = time.monotonic() + timeout
    while True:
        rows: list[dict] = []
        after = None
        for _ in range(100):
            params = {"limit": "2"}
            if after:
                params["after"] = after
            page = s.gateway.get_json(s.path("/downloads"), s.admin, params=params)
            rows.extend(page["downloads"])
            if not page["downloads"]:
                break
            after = page["next_cursor"]
        if len(rows) >= count or time.monotonic() > deadline:
            return rows
        time.sleep(0.2)


def test_etags_304_and_download_log(scenario: Scenario):
    s = scenario
    token = s.partner["token"]
    s.publish()
    expected: list[dict] = []  # what the download log must hold, in order

    manifest_page = fetch(s.gateway, s.path("/versions/latest/manifest"), token)
    assert_strong_etag(manifest_page.etag, "manifest")
    assert manifest_page.headers.get("Cache-Control"), manifest_page.headers
    expected.append({"format": "manifest", "hash": None, "bytes": len(manifest_page.raw), "gzip": False})
    manifest = json.loads(manifest_page.body)["manifest"]
    again = fetch(s.gateway, s.path("/versions/1/manifest"), token)
    assert again.etag == manifest_page.etag and again.body == manifest_page.body
    expected.append({"format": "manifest", "hash": None, "bytes": len(again.raw), "gzip": False})
    cached = fetch(s.gateway, s.path("/versions/latest/manifest"), token, if_none_match=manifest_page.etag, expect=304)
    assert cached.raw == b"" and cached.etag == manifest_page.etag, cached.headers
    # a list of tags, one of them current, is a match too
    fetch(s.gateway, s.path("/versions/latest/manifest"), token, if_none_match=f'"{"0" * 64}", {manifest_page.etag}',
          expect=304)

    for export in manifest["exports"]:
        params = export_params(export)
        label = export_label(export)
        plain = fetch(s.gateway, s.path("/versions/1/export"), token, params=params)
        zipped = fetch(s.gateway, s.path("/versions/1/export"), token, params=params, gzip_ok=True)
        for got in (plain, zipped):
            assert_strong_etag(got.etag, label)
            assert "accept-encoding" in got.headers.get("Vary", "").lower(), got.headers
        assert plain.etag != zipped.etag, f"{label}: the gzip and identity bodies share an ETag"
        assert plain.body == zipped.body
        for got, gzip_ok in ((plain, False), (zipped, True)):
            expected.append({"format": export["format"], "hash": export.get("hash"), "bytes": len(got.raw),
                             "gzip": gzip_ok})
        for got, gzip_ok in ((plain, False), (zipped, True)):
            not_modified = fetch(s.gateway, s.path("/versions/latest/export"), token, params=params, gzip_ok=gzip_ok,
                                 if_none_match=got.etag, expect=304)
            assert not_modified.raw == b"" and not_modified.etag == got.etag, (label, not_modified.headers)
        # the gzip tag does not validate the identity body (nor the other way round)
        crossed = [
            fetch(s.gateway, s.path("/versions/1/export"), token, params=params, if_none_match=zipped.etag),
            fetch(s.gateway, s.path("/versions/1/export"), token, params=params, gzip_ok=True,
                  if_none_match=plain.etag),
        ]
        for got, gzip_ok in zip(crossed, (False, True)):
            assert got.status == 200 and got.body == plain.body, label
            expected.append({"format": export["format"], "hash": export.get("hash"), "bytes": len(got.raw),
                             "gzip": gzip_ok})

    # The feed: a page's tag holds while nothing changes, and moves when the list does.
    head = fetch(s.gateway, s.path("/changes"), token, params={"limit": "1000"})
    assert_strong_etag(head.etag, "feed page")
    assert int(head.headers["Takedown-Min-Poll-Seconds"]) == manifest["min_poll_seconds"]
    tail_cursor = head.headers["Takedown-Next-Cursor"]
    tail = fetch(s.gateway, s.path("/changes"), token, params={"after": tail_cursor, "limit": "1000"})
    assert tail.body == b"" and tail.headers["Takedown-Has-More"] == "false" and tail.etag
    assert tail.headers["Takedown-Next-Cursor"] == tail_cursor
    for page, params in ((head, {"limit": "1000"}), (tail, {"after": tail_cursor, "limit": "1000"})):
        repeat = fetch(s.gateway, s.path("/changes"), token, params=params)
        assert repeat.etag == page.etag and repeat.body == page.body
        cached = fetch(s.gateway, s.path("/changes"), token, params=params, if_none_match=page.etag, expect=304)
        assert cached.raw == b"" and cached.etag == page.etag

    added = s.add_entries(
        [{"media_type": "image", "hashes": hand_hashes("sha256"), "classification": {"uk_grade": "A"}}]
    )[0]
    for page, params in ((head, {"limit": "1000"}), (tail, {"after": tail_cursor, "limit": "1000"})):
        fresh = fetch(s.gateway, s.path("/changes"), token, params=params, if_none_match=page.etag)
        assert fresh.status == 200 and fresh.etag != page.etag, "a changed list kept the feed page's ETag"
        assert ndjson(fresh.body)[-1]["entry_id"] == added["id"]

    # Every download (not the 304s) is in the log, with who, what and how much.
    rows = wait_for_downloads(s, len(expected))
    assert len(rows) == len(expected), (
        f"{len(rows)} downloads logged, {len(expected)} made:\n{json.dumps(rows, indent=1)}"
    )
    for row in rows:
        assert row["partner_id"] == s.partner["id"], row
        assert row["list_id"] == s.list_id and row["version"] == 1, row
    # (an export is logged after its last byte, so compare as a multiset, not in request order)
    logged = sorted((r["format"], r.get("hash") or "", r["gzip"], r["bytes"]) for r in rows)
    made = sorted((w["format"], w["hash"] or "", w["gzip"], w["bytes"]) for w in expected)
    assert logged == made, f"the download log differs from the downloads made:\n{logged}\n{made}"
    # staff downloads are logged without a partner; partners cannot read the log
    fetch(s.gateway, s.path("/versions/1/manifest"), s.admin)
    rows = wait_for_downloads(s, len(expected) + 1)
    assert rows[-1].get("partner_id") is None and rows[-1]["format"] == "manifest", rows[-1]
    assert s.gateway.request("GET", s.path("/downloads"), token=token, expect=None).status_code == 403


# --- 4. partner isolation -------------------------------------------------------------------------------


def test_partners_see_only_granted_lists(scenario: Scenario):
    s = scenario
    s.publish()
    outsider = s.outsider["token"]
    some_entry = next(iter(s.live))

    for path, params in (
        (s.path(), None),
        (s.path("/changes"), None),
        (s.path("/versions"), None),
        (s.path("/versions/latest/manifest"), None),
        (s.path("/versions/1/manifest"), None),
        (s.path("/versions/1/export"), {"format": "ndjson"}),
        (s.path("/versions/latest/export"), {"format": "text", "hash": "md5"}),
        (s.path("/feedback"), None),
    ):
        response = s.gateway.request("GET", path, token=outsider, params=params, expect=None)
        assert response.status_code == 404, f"GET {path} as a partner without a grant: {response.status_code}"
        assert s.name not in response.text, f"GET {path} leaks the list's name"
        # the same answer as for a list that does not exist: no existence oracle
        missing = s.gateway.request("GET", path.replace(s.list_id, "hl_" + "0" * 26), token=outsider, params=params,
                                    expect=None)
        assert missing.status_code == 404
        assert {k: v for k, v in response.json().items() if k in ("type", "title", "status")} == \
            {k: v for k, v in missing.json().items() if k in ("type", "title", "status")}
    response = s.gateway.request("POST", s.path(f"/entries/{some_entry}/feedback"), token=outsider,
                                 body={"verdict": "false_positive"}, expect=None)
    assert response.status_code == 404, response.text
    assert s.gateway.get_json("/v1/hash-lists", outsider)["hash_lists"] == []

    # The granted partner sees the list, without its grants.
    granted = s.partner["token"]
    listing = s.gateway.get_json("/v1/hash-lists", granted)["hash_lists"]
    assert [entry["id"] for entry in listing] == [s.list_id]
    assert all("partners" not in entry for entry in listing), listing
    shown = s.gateway.get_json(s.path(), granted)
    assert "partners" not in shown and shown["id"] == s.list_id, shown
    assert s.gateway.get_json(s.path(), s.admin)["partners"] == [s.partner["id"]]
    # and cannot curate it
    response = s.gateway.request("POST", s.path("/entries"), token=granted, expect=None,
                                 body={"entries": [{"media_type": "image", "hashes": hand_hashes("md5"),
                                                    "classification": {"uk_grade": "A"}}]})
    assert response.status_code == 403, response.text

    # Grants follow PATCH: the grant moves, and so does visibility.
    s.gateway.request("PATCH", s.path(), token=s.admin, body={"partners": [s.outsider["id"]]})
    assert s.gateway.request("GET", s.path("/versions/latest/manifest"), token=granted, expect=None).status_code == 404
    assert s.gateway.get_json("/v1/hash-lists", granted)["hash_lists"] == []
    assert [entry["id"] for entry in s.gateway.get_json("/v1/hash-lists", outsider)["hash_lists"]] == [s.list_id]

    # A law-enforcement list is never granted to a hosting provider.
    police = s.gateway.post_json("/v1/partners", {
        "name": f"Interop Police Unit {tag()}", "kind": "law_enforcement", "contact_email": "unit@police.example.com",
        "locale": "en", "jurisdiction": "GB",
    }, s.admin)
    law_enforcement = {"audience": "law_enforcement", "hash_types": ["md5", "sha256"], "include": {"uk_grades": ["A"]}}
    refused = s.gateway.request("POST", "/v1/hash-lists", token=s.admin, expect=422,
                                body={**law_enforcement, "name": f"le-{tag()}", "partners": [s.partner["id"]]})
    assert "partners[0]" in refused.text, refused.text
    le_list = s.gateway.post_json("/v1/hash-lists",
                                  {**law_enforcement, "name": f"le-{tag()}", "partners": [police["id"]]}, s.admin)
    s.gateway.request("PATCH", f"/v1/hash-lists/{le_list['id']}", token=s.admin, expect=422,
                      body={"partners": [police["id"], s.outsider["id"]]})
    assert s.gateway.get_json(f"/v1/hash-lists/{le_list['id']}", s.admin)["partners"] == [police["id"]]
    assert s.gateway.request("GET", f"/v1/hash-lists/{le_list['id']}", token=outsider, expect=None).status_code == 404
    # nor a hosting-provider list to law enforcement
    s.gateway.request("PATCH", s.path(), token=s.admin, expect=422, body={"partners": [police["id"]]})


# --- 5. feedback ----------------------------------------------------------------------------------------


def test_feedback_resolves_into_the_feed(scenario: Scenario):
    s = scenario
    token = s.partner["token"]
    first, second, third = sorted(s.live)[:3]

    made = {}
    for entry_id, verdict in ((first, "false_positive"), (second, "false_positive"), (third, "confirmed")):
        feedback = s.gateway.post_json(s.path(f"/entries/{entry_id}/feedback"),
                                       {"verdict": verdict, "comment": f"checked {tag()}"}, token)
        assert feedback["id"].startswith("hfb_") and feedback["status"] == "open", feedback
        assert feedback["partner_id"] == s.partner["id"] and feedback["entry_id"] == entry_id, feedback
        made[entry_id] = feedback
    s.gateway.request("POST", s.path(f"/entries/{first}/feedback"), token=token, body={"verdict": "maybe"}, expect=422)
    deleted_entry = next(iter(s.deleted))
    s.gateway.request("POST", s.path(f"/entries/{deleted_entry}/feedback"), token=token,
                      body={"verdict": "false_positive"}, expect=409)

    open_items = s.gateway.get_json(s.path("/feedback"), s.admin)["feedback"]
    assert {f["id"] for f in open_items} == {f["id"] for f in made.values()}
    mine = s.gateway.get_json(s.path("/feedback"), token)["feedback"]
    assert {f["id"] for f in mine} == {f["id"] for f in made.values()}
    # another granted partner sees only its own feedback
    s.gateway.request("PATCH", s.path(), token=s.admin, body={"partners": [s.partner["id"], s.outsider["id"]]})
    theirs = s.gateway.post_json(s.path(f"/entries/{third}/feedback"), {"verdict": "confirmed"}, s.outsider["token"])
    assert theirs["partner_id"] == s.outsider["id"]
    assert [f["id"] for f in s.gateway.get_json(s.path("/feedback"), s.outsider["token"],
                                                params={"status": "all"})["feedback"]] == [theirs["id"]]
    assert theirs["id"] not in {f["id"] for f in s.gateway.get_json(s.path("/feedback"), token,
                                                                     params={"status": "all"})["feedback"]}
    made_by_staff_view = {f["id"] for f in s.gateway.get_json(s.path("/feedback"), s.admin)["feedback"]}
    assert made_by_staff_view == {f["id"] for f in made.values()} | {theirs["id"]}
    s.gateway.request("POST", s.path(f"/feedback/{theirs['id']}/resolve"), token=s.admin, body={"action": "keep"})
    # a partner cannot resolve
    s.gateway.request("POST", s.path(f"/feedback/{made[first]['id']}/resolve"), token=token, expect=403,
                      body={"action": "keep"})
    # delete needs a reason
    s.gateway.request("POST", s.path(f"/feedback/{made[first]['id']}/resolve"), token=s.admin, expect=422,
                      body={"action": "delete"})

    _, _, cursor = replay_feed(s, token, limit=1000)
    resolved = s.gateway.request("POST", s.path(f"/feedback/{made[first]['id']}/resolve"), token=s.admin,
                                 body={"action": "delete", "reason": "false_positive",
                                       "note": "not the material"}).json()
    assert resolved["status"] == "deleted" and resolved.get("resolved_at"), resolved
    kept = s.gateway.request("POST", s.path(f"/feedback/{made[second]['id']}/resolve"), token=s.admin,
                             body={"action": "keep", "note": "confirmed by a second analyst"}).json()
    assert kept["status"] == "kept", kept
    s.gateway.request("POST", s.path(f"/feedback/{made[second]['id']}/resolve"), token=s.admin, expect=409,
                      body={"action": "keep"})

    # The partner's feed now carries the deletion, with its reason; the kept entry is untouched.
    state, records, _ = replay_feed(s, token, after=cursor, limit=2, state={})
    summary = [(r["op"], r["entry_id"], r.get("reason")) for r in records]
    assert summary == [("delete", first, "false_positive")], records
    assert s.gateway.get_json(s.path(f"/entries/{first}"), s.admin)["status"] == "deleted"
    assert s.gateway.get_json(s.path(f"/entries/{second}"), s.admin)["status"] == "live"

    def ids(status: str, who: str) -> set[str]:
        return {f["id"] for f in s.gateway.get_json(s.path("/feedback"), who, params={"status": status})["feedback"]}

    assert ids("open", s.admin) == {made[third]["id"]}
    assert ids("deleted", s.admin) == {made[first]["id"]}
    assert ids("kept", s.admin) == {made[second]["id"], theirs["id"]}
    assert ids("kept", token) == {made[second]["id"]}
    assert ids("all", token) == {f["id"] for f in made.values()}
    full_state, _, _ = replay_feed(s, token, limit=1000)
    assert first not in full_state and second in full_state and third in full_state


# --- 6. the command line --------------------------------------------------------------------------------


def test_cli_export_and_verify(scenario: Scenario, tmp_path: Path):
    s = scenario
    token = s.partner["token"]
    manifest_raw = s.publish()
    _, manifest = verify_manifest(manifest_raw, s.gateway.jwks())
    api_files = download_all(s, token, "latest", manifest)

    (tmp_path / "manifest.json").write_bytes(fetch(s.gateway, s.path("/versions/latest/manifest"), token).body)
    (tmp_path / "jwks.json").write_text(s.gateway.request("GET", "/.well-known/jwks.json").text, encoding="utf-8")

    # `takedown export` reads the same store while the server runs (SQLite WAL, or the PostgreSQL database).
    exported: list[Path] = []
    for index, export in enumerate(manifest["exports"]):
        out = tmp_path / f"cli-{export_label(export)}.out"
        args = ["export", "--list", s.name if index % 2 == 0 else s.list_id, "--format", export["format"],
                "--version", "latest" if index % 3 else "1", "--out", str(out), "--data-dir", str(s.gateway.data_dir)]
        if export.get("hash"):
            args[5:5] = ["--hash", export["hash"]]
        s.gateway.cli(*args)
        assert out.read_bytes() == api_files[export_label(export)], f"CLI {export_label(export)} differs from the API"
        exported.append(out)

    def verify(*files: Path, manifest_file: Path | None = None):
        args = ["verify", str(manifest_file or tmp_path / "manifest.json"), "--jwks", str(tmp_path / "jwks.json")]
        for path in files:
            args += ["--export", str(path)]
        return s.gateway.cli(*args, check=False)

    good = verify(*exported)
    assert good.returncode == 0, f"exit {good.returncode}\n{good.stdout}\n{good.stderr}"
    assert "valid signature" in good.stdout.lower(), good.stdout

    tampered = tmp_path / "tampered.ndjson"
    data = bytearray(api_files["ndjson"])
    index = data.index(b'"uk_grade":"') + len(b'"uk_grade":"')
    data[index] = ord("C") if data[index] != ord("C") else ord("A")  # same size, different bytes
    tampered.write_bytes(bytes(data))
    bad = verify(exported[0], tampered)
    assert bad.returncode == 1, f"a tampered export passed: exit {bad.returncode}\n{bad.stdout}\n{bad.stderr}"
    truncated = tmp_path / "truncated.csv"
    truncated.write_bytes(api_files["csv"][:-1])
    assert verify(truncated).returncode == 1

    # A manifest shown beside its JWS that is not the signed one fails too.
    document = json.loads((tmp_path / "manifest.json").read_bytes())
    document["manifest"]["entry_count"] += 1
    forged = tmp_path / "forged-manifest.json"
    forged.write_text(json.dumps(document), encoding="utf-8")
    assert verify(*exported, manifest_file=forged).returncode == 1


# --- 7. tombstone retention -----------------------------------------------------------------------------


def test_tombstone_retention_is_published(gateway_factory):
    """Compaction itself (410 past retention) needs a clock this suite cannot move; the Swift tests own it.

    Here: the setting reaches the list view and the signed manifest, fresh tombstones stay in the feed
    while the maintenance loop runs, and a retention under one day does not start.
    """
    gateway = gateway_factory(
        "retention",
        extra_env={**NO_AUTO_PUBLISH, "TAKEDOWN_HASH_TOMBSTONE_RETENTION_DAYS": "1",
                   "TAKEDOWN_HASH_MAINTENANCE_INTERVAL_SECONDS": "1", "TAKEDOWN_HASH_MIN_POLL_SECONDS": "60"},
    )
    s = build_scenario(gateway)
    token = s.partner["token"]
    shown = gateway.get_json(s.path(), token)
    assert shown["tombstone_retention_days"] == 1 and shown["min_poll_seconds"] == 60, shown
    _, manifest = verify_manifest(s.publish(), gateway.jwks())
    assert manifest["tombstone_retention_days"] == 1 and manifest["min_poll_seconds"] == 60, manifest

    time.sleep(2.5)  # a few maintenance passes: nothing is a day old yet, nothing may be compacted
    state, records, _ = replay_feed(s, token, limit=4)
    assert {r["entry_id"]: r["reason"] for r in records if r["op"] == "delete" and r["entry_id"] not in s.restored} \
        == s.deleted
    assert {k: projection(v) for k, v in state.items()} == s.live
    assert fetch(gateway, s.path("/changes"), token, params={"after": "cDE", "limit": "5"}).status == 200
    assert fetch(gateway, s.path("/changes"), token, params={"after": "not-a-cursor"}, expect=400).status == 400
    assert fetch(gateway, s.path("/versions/1/export"), token, params={"format": "ndjson"}).status == 200
    assert gateway.get_json("/v1/hash-lists", token)["hash_lists"][0]["tombstone_retention_days"] == 1

    too_short = gateway_factory("retention-zero", start=False,
                                extra_env={"TAKEDOWN_HASH_TOMBSTONE_RETENTION_DAYS": "0"})
    with pytest.raises(GatewayError):
        too_short.start()


# --- known problems -------------------------------------------------------------------------------------


def test_full_feed_page_etag_changes_when_more_changes_arrive(scenario: Scenario):
    """A full page at the end of the feed says Takedown-Has-More: false; after another change the same
    request says true, so its ETag must change (else a revalidating client gets 304 and keeps "false")."""
    s = scenario
    token = s.partner["token"]
    last_seq = s.gateway.get_json(s.path(), token)["last_seq"]
    params = {"limit": str(last_seq)}  # exactly the whole feed: a full page with nothing after it
    before = fetch(s.gateway, s.path("/changes"), token, params=params)
    assert len(ndjson(before.body)) == last_seq and before.headers["Takedown-Has-More"] == "false"

    s.add_entries([{"media_type": "image", "hashes": hand_hashes("sha256"), "classification": {"uk_grade": "A"}}])
    after = fetch(s.gateway, s.path("/changes"), token, params=params)
    assert after.body == before.body and after.headers["Takedown-Has-More"] == "true", after.headers
    revalidated = fetch(s.gateway, s.path("/changes"), token, params=params, if_none_match=before.etag, expect=None)
    assert after.etag != before.etag and revalidated.status == 200, (
        "SERVER BUG: the feed page's ETag ignores Takedown-Has-More: the same ETag "
        f"{before.etag} was served with Has-More false and then true, and If-None-Match gets "
        f"{revalidated.status} (the 304 carries no Takedown-Has-More either). "
        "Gateway.changes hashes id|after|limit|count|last|purgedThrough but not list.lastSeq/hasMore."
    )
