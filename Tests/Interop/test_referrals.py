"""Referrals between hotlines, gateway to gateway: three gateways on loopback (hotlines in GB, DE and FR),
a DNS server (dnslib) and an IP-to-ASN table. A case at GB goes to GB's provider by domain, to DE and FR as
signed referrals by the hosting country of the resolved address, and stays unrouted where no one covers
the country. DE accepts, its provider removes, and GB sees the removal with its time through DE's signed
status updates; FR's stays pending. Referrals that are forged, unsigned by a published key, from an
unregistered sender, replayed to another gateway or repeated are refused or change nothing, and the
sender sees a refusal as a failed delivery. joserfc (not this project's code) verifies the referral."""

from __future__ import annotations

import base64
import json
import threading
import time
from contextlib import ExitStack
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from dnslib import QTYPE, RCODE, RR, A
from dnslib.server import BaseResolver, DNSServer
from joserfc import jws
from joserfc.jwk import KeySet

from conftest import (
    SCHEMAS_DIR,
    Gateway,
    assert_valid,
    b64url_encode,
    fresh_database,
    free_port,
    item,
    jws_parts,
    load_registry,
    make_validator,
    tag,
    tamper_payload,
)

# FR's range is not in the table: its country comes from RDAP.
TABLE = """# synthetic IP-to-ASN table (documentation ranges)
198.51.100.0/24\tAS64510\tDE\tEXAMPLE-DE
192.0.2.0/24\tAS64999\tNL\tNOBODY-NL
"""


def network(start: str, end: str, name: str, country: str, abuse: str | None) -> dict:
    """An RIR's answer for an IP network, its abuse contact nested under the registrant as RIPE does."""
    abuse_entity = [] if abuse is None else [{"objectClassName": "entity", "handle": "AR1-TEST", "roles": ["abuse"],
                                              "vcardArray": ["vcard", [["version", {}, "text", "4.0"], ["fn", {}, "text", "Abuse"],
                                                                       ["email", {"pref": "1"}, "text", abuse]]]}]
    return {"rdapConformance": ["rdap_level_0", "nro_rdap_profile_0"], "objectClassName": "ip network",
            "handle": f"{start} - {end}", "startAddress": start, "endAddress": end, "ipVersion": "v4", "name": name,
            "country": country, "entities": [{"objectClassName": "entity", "handle": "ORG-1", "roles": ["registrant"],
                                              "vcardArray": ["vcard", [["version", {}, "text", "4.0"], ["fn", {}, "text", name]]],
                                              "entities": abuse_entity}]}


RDAP_ANSWERS: dict[str, tuple[int, bytes]] = {
    "/ip/203.0.113.9": (200, json.dumps(network("203.0.113.0", "203.0.113.255", "EXAMPLE-FR-NET", "FR", "abuse@example-fr.test")).encode()),
    "/ip/192.0.2.9": (200, json.dumps(network("192.0.2.0", "192.0.2.255", "NOBODY-NL-NET", "NL", "abuse@nobody-nl.test")).encode()),
    # Hostile or broken answers: each leaves its item unrouted, with the problem in its trace.
    "/ip/192.0.2.66": (200, b"[" * 100000),
    "/ip/192.0.2.67": (200, b"{\"objectClassName\": \"ip network\", \"name\": \"" + b"x" * 600000 + b"\"}"),
    "/ip/192.0.2.68": (500, b"<html>oops</html>"),
    "/ip/192.0.2.69": (200, b"not json at all"),
}


class RDAPHandler(BaseHTTPRequestHandler):
    asked: dict[str, int] = {}

    def do_GET(self) -> None:  # noqa: N802
        RDAPHandler.asked[self.path] = RDAPHandler.asked.get(self.path, 0) + 1
        if self.path == "/ip/192.0.2.70":
            time.sleep(8)  # past the time limit
        status, body = RDAP_ANSWERS.get(self.path, (404, json.dumps({"errorCode": 404, "title": "Not Found"}).encode()))
        self.send_response(status)
        self.send_header("Content-Type", "application/rdap+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except OSError:
            pass

    def log_message(self, format, *args):  # noqa: A002
        pass


@pytest.fixture
def rdap_port():
    server = ThreadingHTTPServer(("127.0.0.1", 0), RDAPHandler)
    RDAPHandler.asked = {}
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()

ZONE = {"de-host.test": "198.51.100.7", "fr-host.test": "203.0.113.9", "nl-host.test": "192.0.2.9",
        **{f"hostile-{n}.test": f"192.0.2.{n}" for n in range(66, 71)}}


class Zone(BaseResolver):
    def resolve(self, request, handler):
        reply = request.reply()
        name = str(request.q.qname).rstrip(".").lower()
        if name not in ZONE:
            reply.header.rcode = RCODE.NXDOMAIN
        elif request.q.qtype == QTYPE.A:
            reply.add_answer(RR(name, QTYPE.A, rdata=A(ZONE[name]), ttl=300))
        return reply


@pytest.fixture
def dns_port():
    port = free_port()
    server = DNSServer(Zone(), address="127.0.0.1", port=port)
    server.start_thread()
    try:
        yield port
    finally:
        server.stop()


def same_time(a: str, b: str) -> bool:
    return datetime.fromisoformat(a.replace("Z", "+00:00")) == datetime.fromisoformat(b.replace("Z", "+00:00"))


def wait_for(what: str, probe, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}; last seen: {last!r}")


class Hotlines:
    """Three gateways, each knowing the other two as peer hotlines."""

    def __init__(self, root: Path, store: str, dns_port: int, rdap_port: int, stack: ExitStack):
        self.gateways: dict[str, Gateway] = {}
        for country in ("GB", "DE", "FR"):
            env = {
                "TAKEDOWN_ALLOW_PRIVATE_TARGETS": "1",
                "TAKEDOWN_DNS_SERVER": f"127.0.0.1:{dns_port}",
                "TAKEDOWN_DNS_TIMEOUT_SECONDS": "1",
                "TAKEDOWN_REFERRAL_REPORT_SECONDS": "0.5",
                "TAKEDOWN_RDAP_URL": f"http://127.0.0.1:{rdap_port}",
                "TAKEDOWN_RDAP_TIMEOUT_SECONDS": "2",
                "TAKEDOWN_ISSUER_COUNTRY": country,
            }
            if store == "postgres":
                env["TAKEDOWN_DATABASE_URL"] = stack.enter_context(fresh_database(f"takedown_ref_{country.lower()}"))
            gateway = Gateway(root / country, name=country.lower(), extra_env=env)
            port = free_port()
            gateway.extra_env["TAKEDOWN_PUBLIC_URL"] = f"http://127.0.0.1:{port}"
            gateway.start(port=port)
            stack.callback(gateway.stop)
            table = root / f"asn-{country}.tsv"
            table.write_text(TABLE, encoding="utf-8")
            gateway.cli("asn", "import", str(table))
            self.gateways[country] = gateway
        self.peers: dict[tuple[str, str], dict] = {}

    def register(self, at: str, peer: str, *, trusted: bool = False, jwks: dict | None = None) -> dict:
        """Registers `peer` as a hotline at `at`; its keys are fetched from its gateway unless given."""
        gateway = self.gateways[at]
        gateway_body: dict = {"base_url": self.gateways[peer].url, "trusted": trusted}
        if jwks is not None:
            gateway_body["jwks"] = jwks
        partner = gateway.post_json(
            "/v1/partners",
            {
                "name": f"Hotline {peer} {tag()}",
                "kind": "hotline",
                "contact_email": f"analysts@hotline-{peer.lower()}.test",
                "locale": "en",
                "jurisdiction": peer,
                "routing": {"countries": [peer]},
                "delivery": {"gateway": gateway_body},
            },
            gateway.admin_token,
        )
        self.peers[(at, peer)] = partner
        return partner


@pytest.fixture(params=["sqlite", "postgres"])
def hotlines(request, tmp_path: Path, dns_port, rdap_port):
    if request.param == "postgres":
        import os

        if not os.environ.get("TAKEDOWN_TEST_DATABASE_URL"):
            pytest.skip("TAKEDOWN_TEST_DATABASE_URL is not set")
    with ExitStack() as stack:
        yield Hotlines(tmp_path, request.param, dns_port, rdap_port, stack)


def referrals(gateway: Gateway, direction: str, **params) -> list[dict]:
    return gateway.get_json("/v1/referrals", gateway.admin_token, params={"direction": direction, **params})["referrals"]


def post_peer(gateway: Gateway, path: str, compact: str) -> requests.Response:
    return gateway.http.post(
        gateway.url + path, data=compact.encode(), headers={"Content-Type": "application/jose"}, timeout=10
    )


def test_gb_refers_to_de_and_fr_and_sees_de_removal(hotlines: Hotlines):
    gb, de, fr = (hotlines.gateways[c] for c in ("GB", "DE", "FR"))
    gb_provider = gb.create_partner(name=f"GB host {tag()}", locale="en", jurisdiction="GB", domains=["gb-host.test"])
    de_at_gb = hotlines.register("GB", "DE")
    fr_at_gb = hotlines.register("GB", "FR")
    hotlines.register("DE", "GB")
    hotlines.register("FR", "GB")
    de_provider = de.post_json(
        "/v1/partners",
        {"name": f"DE host {tag()}", "kind": "hosting_provider", "contact_email": "abuse@de-host.test", "locale": "de",
         "jurisdiction": "DE", "routing": {"ip_ranges": ["198.51.100.0/24"]}},
        de.admin_token,
    )
    # The keys were fetched from the peers' JWKS and pinned.
    assert {k["kid"] for k in de_at_gb["delivery"]["gateway"]["keys"]} == {k["kid"] for k in de.jwks()["keys"]}

    urls = ["https://www.gb-host.test/a.jpg", "https://de-host.test/b.jpg", "https://fr-host.test/c.jpg",
            "https://nl-host.test/d.jpg"]
    receipt = gb.submit_case({"reference": f"REF-{tag()}", "category": {"uk_grade": "A", "classification": "A1"},
                              "media_type": "image", "items": [item(u) for u in urls]})
    routed = {n["partner_id"]: n["items"] for n in receipt["notices"]}
    assert routed == {gb_provider["id"]: [urls[0]], de_at_gb["id"]: [urls[1]], fr_at_gb["id"]: [urls[2]]}, routed
    [unrouted] = receipt["unrouted"]
    assert unrouted["url"] == urls[3] and unrouted["reason"] == "no_matching_partner"
    assert unrouted["proposal"]["abuse_email"] == "abuse@nobody-nl.test" and unrouted["proposal"]["ip_range"] == "192.0.2.0/24"
    assert unrouted["proposal"]["country"] == "NL" and unrouted["proposal"]["name"] == "NOBODY-NL-NET"
    traces = [i["trace"] for i in gb.get_json(f"/v1/cases/{receipt['id']}", gb.admin_token)["items"]]
    assert [t["basis"] for t in traces] == ["domain", "hosting_country", "rdap_country", "none"]
    assert traces[2]["rdap"]["network"]["country"] == "FR" and traces[2].get("asn") is None
    assert traces[3]["country"] == "NL" and traces[3]["rdap"]["problems"] == ["domain: not found"]
    # Cached: the same hosts again ask RDAP nothing new.
    before = dict(RDAPHandler.asked)
    gb.submit_case({"reference": f"REF-{tag()}", "category": {"uk_grade": "B"}, "media_type": "image",
                    "items": [item(urls[2]), item(urls[3])]})
    assert RDAPHandler.asked == before, (before, RDAPHandler.asked)

    # The analyst accepts the proposal in one call: an email-only provider for the network, and its notice.
    accepted_proposal = gb.post_json(f"/v1/cases/{receipt['id']}/proposals/accept", {"url": urls[3]}, gb.admin_token)
    assert accepted_proposal["partner"]["delivery"] == {"email": "abuse@nobody-nl.test"}
    assert accepted_proposal["partner"]["routing"]["ip_ranges"] == ["192.0.2.0/24"]
    assert accepted_proposal["partner_token"].startswith("tdk_") and accepted_proposal["notice_id"].startswith("ntc_")
    gb.request("POST", f"/v1/cases/{receipt['id']}/proposals/accept", token=gb.admin_token, body={"url": urls[3]}, expect=409)

    # DE receives the signed referral; it verifies with joserfc against GB's published keys.
    incoming = wait_for("DE's referral", lambda: referrals(de, "in", status="received"))
    assert len(incoming) == 1
    shown = de.get_json(f"/v1/referrals/{incoming[0]['id']}", de.admin_token)
    verified = jws.deserialize_compact(shown["jws"], KeySet.import_key_set(gb.jwks()), algorithms=["EdDSA"])
    claims = json.loads(verified.payload)
    schema = SCHEMAS_DIR / "referral.schema.json"
    assert_valid(make_validator(schema, load_registry([schema])), claims, "the referral")
    assert claims["type"] == "referral" and claims["aud"] == de.url and claims["iss"] == gb.url
    assert claims["items"][0]["url"] == urls[1] and claims["items"][0]["trace"]["country"] == "DE"
    assert claims["items"][0]["trace"]["addresses"] == ["198.51.100.7"]
    fr_in = wait_for("FR's referral", lambda: referrals(fr, "in"))[0]
    fr_claims = jws_parts(fr.get_json(f"/v1/referrals/{fr_in['id']}", fr.admin_token)["jws"])[1]
    assert fr_claims["items"][0]["trace"]["basis"] == "rdap_country" and fr_claims["items"][0]["trace"]["country"] == "FR"
    assert claims["category"]["uk_grade"] == "A" and claims["items"][0]["hashes"]["sha256"]
    assert wait_for("FR's referral", lambda: referrals(fr, "in"))[0]["state"] == "received"

    # DE's analyst accepts: DE routes the URL to its own provider (resolved address) and notices it.
    accepted = de.post_json(f"/v1/referrals/{incoming[0]['id']}/accept", {}, de.admin_token, expect=200)
    assert accepted["state"] == "accepted" and accepted["case_id"]
    de_case = de.get_json(f"/v1/cases/{accepted['case_id']}", de.admin_token)
    assert de_case["items"][0]["trace"]["basis"] == "resolved_address"
    notice_id = de_case["items"][0]["notice_id"]
    time.sleep(1.2)  # a removal time in whole seconds, after the notice was issued
    removed_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time()))
    de.post_json(f"/v1/notices/{notice_id}/acknowledge", {}, de_provider["token"], expect=200)
    de.post_json(f"/v1/notices/{notice_id}/removal", {"action": "removed", "removed_at": removed_at},
                 de_provider["token"], expect=200)

    # GB sees DE's removal, with its time, and FR still pending.
    def de_removed():
        out = {r["peer_id"]: r for r in referrals(gb, "out")}
        return out if out.get(de_at_gb["id"], {}).get("remote_status") == "removed" else None

    out = wait_for("DE's removal at GB", de_removed)
    assert out[de_at_gb["id"]]["status"] == "removed"
    assert same_time(out[de_at_gb["id"]]["items"][0]["removed_at"], removed_at)
    events = [u["event"] for u in out[de_at_gb["id"]]["updates"]]
    assert events[0] == "referral_accepted" and events[-1] == "referral_removed", events
    assert out[fr_at_gb["id"]]["remote_status"] == "sent" and out[fr_at_gb["id"]]["status"] in ("issued", "delivered")
    # Removal figures count the referred item under the peer hotline.
    stats = gb.get_json("/v1/stats/removal", gb.admin_token, params={"group_by": "partner"})
    assert de_at_gb["id"] in json.dumps(stats)

    # Each update applied once: no state twice, and never more than DE sent.
    sent = de.get_json(f"/v1/referrals/{incoming[0]['id']}", de.admin_token)["updates_sent"]
    assert len(events) == len(set(events)) and len(events) <= sent, (events, sent)


def test_forged_unknown_replayed_and_repeated_referrals(hotlines: Hotlines):
    gb, de, fr = (hotlines.gateways[c] for c in ("GB", "DE", "FR"))
    de_at_gb = hotlines.register("GB", "DE")
    gb_at_de = hotlines.register("DE", "GB")
    # FR pinned a key GB never published: GB's referral to FR is refused, and GB sees a failed delivery.
    stranger = Ed25519PrivateKey.generate()
    raw = stranger.public_key().public_bytes_raw()
    hotlines.register("GB", "FR")
    hotlines.register("FR", "GB", jwks={"keys": [{"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(raw), "kid": "not-gbs"}]})

    receipt = gb.submit_case({"reference": f"SEC-{tag()}", "category": {"uk_grade": "B"}, "media_type": "image",
                              "items": [item("https://de-host.test/x.jpg"), item("https://fr-host.test/y.jpg")]})
    assert len(receipt["notices"]) == 2
    [incoming] = wait_for("DE's referral", lambda: referrals(de, "in", status="received"))
    compact = de.get_json(f"/v1/referrals/{incoming['id']}", de.admin_token)["jws"]

    fr_notice = next(n["id"] for n in receipt["notices"] if n["partner_id"] != de_at_gb["id"])

    def dead_at_gb():
        rows = gb.get_json("/v1/deliveries", gb.admin_token, params={"notice_id": fr_notice})["deliveries"]
        # Refused, it is a failed delivery, retried on the schedule (the peer may refresh its pinned keys).
        return rows if rows and rows[0]["state"] in ("failed", "dead") else None

    [dead] = wait_for("GB's refused referral to FR", dead_at_gb)
    assert dead["last_status"] == 401 and dead["channel"] == "referral", dead
    refused_at_fr = referrals(fr, "in", status="refused")
    assert refused_at_fr and "not one" in refused_at_fr[0]["reason"], refused_at_fr

    # A repeated delivery of the same referral changes nothing.
    again = post_peer(de, "/v1/referrals", compact)
    assert again.status_code == 200 and again.json()["id"] == incoming["id"], again.text
    assert len(referrals(de, "in", status="received")) == 1

    # The same referral posted to FR (another gateway) is a replay: its aud is DE.
    # FR knows GB, with the wrong key pinned: refused either way, and never recorded as received.
    replayed = post_peer(fr, "/v1/referrals", compact)
    assert replayed.status_code in (401, 403), replayed.text
    assert referrals(fr, "in", status="received") == []

    # A tampered payload (another URL) no longer verifies.
    forged = post_peer(de, "/v1/referrals", tamper_payload(compact, jti="ntc_forged0000000000000000000000"))
    assert forged.status_code == 401 and forged.json()["type"].endswith("signature-refused"), forged.text

    # Signed by a key GB never published, under GB's name.
    header = {"alg": "EdDSA", "kid": "made-up", "typ": "JWT"}
    _, payload, _ = jws_parts(compact)
    signing_input = b64url_encode(json.dumps(header).encode()) + "." + b64url_encode(json.dumps(payload).encode())
    unknown_key = signing_input + "." + b64url_encode(stranger.sign(signing_input.encode()))
    refused = post_peer(de, "/v1/referrals", unknown_key)
    assert refused.status_code == 401 and "made-up" in refused.json()["detail"], refused.text

    # From a gateway nobody registered.
    stranger_payload = {**payload, "iss": "http://127.0.0.1:9", "jti": "ntc_stranger000000000000000000000"}
    signing_input = b64url_encode(json.dumps({"alg": "EdDSA", "kid": "s", "typ": "JWT"}).encode()) + "." + b64url_encode(
        json.dumps(stranger_payload).encode())
    unregistered = post_peer(de, "/v1/referrals", signing_input + "." + b64url_encode(stranger.sign(signing_input.encode())))
    assert unregistered.status_code == 403, unregistered.text

    # Garbage, huge and repeated bodies: refused, and the gateway stays up.
    for body in ["", "not a jws", "a.b.c", "." * 5000, base64.b64encode(b"x" * 10000).decode()]:
        assert post_peer(de, "/v1/referrals", body).status_code in (400, 401, 403, 413, 422)
        assert post_peer(de, "/v1/referral-updates", body).status_code in (400, 401, 403, 413, 422)
    assert de.request("GET", "/readyz").status_code == 200

    refused_rows = referrals(de, "in", status="refused")
    reasons = " | ".join(r["reason"] for r in refused_rows)
    assert "signature" in reasons and "made-up" in reasons and "not a peer hotline" in reasons, reasons
    assert all(r.get("document") is None for r in refused_rows)
    assert [r["id"] for r in referrals(de, "in", status="received")] == [incoming["id"]]
    assert gb_at_de["id"] == incoming["sender_id"]


def test_receiver_killed_while_referrals_and_updates_are_in_flight(hotlines: Hotlines):
    gb, de = hotlines.gateways["GB"], hotlines.gateways["DE"]
    de_at_gb = hotlines.register("GB", "DE")
    hotlines.register("DE", "GB", trusted=True)  # DE accepts GB's referrals at once
    de.post_json(
        "/v1/partners",
        {"name": f"DE host {tag()}", "kind": "hosting_provider", "contact_email": "abuse@de-host.test", "locale": "de",
         "jurisdiction": "DE", "routing": {"ip_ranges": ["198.51.100.0/24"]}},
        de.admin_token,
    )
    de.kill()
    cases = []
    for n in range(5):
        cases.append(gb.submit_case({"reference": f"KILL-{n}-{tag()}", "category": {"uk_grade": "C"}, "media_type": "video",
                                     "items": [item(f"https://de-host.test/{n}/v.mp4")]}))
    time.sleep(1)
    de.start(port=de.port)

    def all_accepted():
        # Deliveries that failed while DE was down: sent again now rather than after the backoff.
        for row in gb.get_json("/v1/deliveries", gb.admin_token, params={"partner_id": de_at_gb["id"]})["deliveries"]:
            if row["state"] in ("failed", "dead"):
                gb.request("POST", f"/v1/deliveries/{row['id']}/retry", token=gb.admin_token, expect=None)
        out = referrals(gb, "out", partner_id=de_at_gb["id"])
        return out if len(out) == 5 and all(r["remote_status"] in ("accepted", "notice_issued") for r in out) else None

    out = wait_for("every referral accepted at DE and reported back", all_accepted, timeout=60)
    # Once in effect: five referrals at DE, each accepted once with one case.
    at_de = referrals(de, "in")
    assert len(at_de) == 5 and all(r["state"] == "accepted" for r in at_de)
    assert len({r["case_id"] for r in at_de}) == 5
    assert sorted(r["remote_id"] for r in at_de) == sorted(r["id"] for r in out)
    # Kill DE again right after it reports, then replay every referral: nothing changes.
    de.kill()
    de.start(port=de.port)
    for row in at_de:
        compact = de.get_json(f"/v1/referrals/{row['id']}", de.admin_token)["jws"]
        assert post_peer(de, "/v1/referrals", compact).status_code == 200
    assert len(referrals(de, "in")) == 5
    for referral in referrals(gb, "out", partner_id=de_at_gb["id"]):
        statuses = [u["event"] for u in referral["updates"]]
        assert len(statuses) == len(set(statuses)), statuses


def test_hostile_rdap_answers_leave_items_unrouted(hotlines: Hotlines):
    gb = hotlines.gateways["GB"]
    urls = [f"https://hostile-{n}.test/x.jpg" for n in range(66, 71)]
    started = time.monotonic()
    receipt = gb.submit_case({"reference": f"HOSTILE-{tag()}", "category": {"uk_grade": "C"}, "media_type": "image",
                              "items": [item(u) for u in urls]})
    assert time.monotonic() - started < 8, "a case's RDAP questions end within twice the time limit"
    assert [u["url"] for u in receipt["unrouted"]] == urls and all("proposal" not in u for u in receipt["unrouted"])
    traces = [i["trace"] for i in gb.get_json(f"/v1/cases/{receipt['id']}", gb.admin_token)["items"]]
    problems = [" ".join(t["rdap"]["problems"]) for t in traces]
    assert "nested deeper" in problems[0] and "error 500" in problems[2], problems
    assert "malformed" in problems[1] or "TooManyBytes" in problems[1], problems
    assert "malformed" in problems[3] and ("unreachable" in problems[4] or "timed out" in problems[4]), problems
    assert gb.request("GET", "/readyz").status_code == 200
