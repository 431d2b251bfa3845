"""Hosting trace at intake against a real DNS server on loopback (dnslib) and an IP-to-ASN table imported
with `takedown asn import`: items route by domain rule, observed address, resolved address, then AS number;
the trace is kept with each item; the DNS server is asked once per name while its answer is cached; and
hostile DNS answers (garbage, a forged id, a compression loop, a truncated message, silence) leave the
items unrouted with a failed lookup while the gateway stays up."""

from __future__ import annotations

import socket
import struct
import threading
import time
from pathlib import Path

import pytest
from dnslib import AAAA, QTYPE, RCODE, RR, A, CNAME, DNSRecord
from dnslib.server import BaseResolver, DNSServer

from conftest import Gateway, free_port, item, tag

TABLE = """# synthetic IP-to-ASN table (documentation ranges)
203.0.113.0/24\tAS64501\tFR\tEXAMPLE-FR
192.0.2.0\t192.0.2.255\t64999\tNL\tNOBODY-NL
2001:db8:f::/48\t64501\tFR\tEXAMPLE-FR
"""


class Zone(BaseResolver):
    """Answers A/AAAA from a table, CNAMEs for aliases, NXDOMAIN for the rest; counts questions per name."""

    def __init__(self, records: dict[str, list[str]], aliases: dict[str, str]):
        self.records = records
        self.aliases = aliases
        self.asked: dict[str, int] = {}
        self.lock = threading.Lock()

    def resolve(self, request, handler):
        reply = request.reply()
        name = str(request.q.qname).rstrip(".").lower()
        with self.lock:
            self.asked[name] = self.asked.get(name, 0) + 1
        target = name
        if name in self.aliases:
            target = self.aliases[name]
            reply.add_answer(RR(name, QTYPE.CNAME, rdata=CNAME(target), ttl=300))
        if target not in self.records:
            reply.header.rcode = RCODE.NXDOMAIN
            return reply
        for address in self.records[target]:
            if ":" in address and request.q.qtype == QTYPE.AAAA:
                reply.add_answer(RR(target, QTYPE.AAAA, rdata=AAAA(address), ttl=300))
            elif ":" not in address and request.q.qtype == QTYPE.A:
                reply.add_answer(RR(target, QTYPE.A, rdata=A(address), ttl=300))
        return reply


@pytest.fixture
def dns():
    zone = Zone(
        {"de-host.test": ["198.51.100.7"], "fr-host.test": ["203.0.113.9", "2001:db8:f::9"], "lost.test": ["192.0.2.200"]},
        {"www.fr-alias.test": "fr-host.test"},
    )
    port = free_port()
    server = DNSServer(zone, address="127.0.0.1", port=port)
    server.start_thread()
    try:
        yield zone, port
    finally:
        server.stop()


def cases_trace(gateway: Gateway, case_id: str) -> list[dict]:
    shown = gateway.get_json(f"/v1/cases/{case_id}", gateway.admin_token)
    return [i["trace"] for i in shown["items"]]


def test_items_route_by_domain_observed_resolved_address_and_asn(tmp_path: Path, dns, store_env):
    zone, port = dns
    gateway = Gateway(tmp_path / "trace", name="trace", extra_env={**store_env, "TAKEDOWN_DNS_SERVER": f"127.0.0.1:{port}", "TAKEDOWN_DNS_TIMEOUT_SECONDS": "1"})
    gateway.start()
    try:
        table = tmp_path / "asn.tsv"
        table.write_text(TABLE, encoding="utf-8")
        result = gateway.cli("asn", "import", str(table))
        assert "imported 3 ranges" in result.stdout, result.stdout
        lookup = gateway.cli("asn", "lookup", "203.0.113.44", "198.51.100.1")
        assert "AS64501\tFR\tEXAMPLE-FR" in lookup.stdout and "198.51.100.1\tnot in the table" in lookup.stdout

        gb = gateway.create_partner(name=f"GB {tag()}", locale="en", jurisdiction="GB", domains=["gb-host.test"])
        de = gateway.post_json("/v1/partners", {"name": f"DE {tag()}", "kind": "hosting_provider", "contact_email": "abuse@de-host.test",
                                                "locale": "de", "jurisdiction": "DE", "routing": {"ip_ranges": ["198.51.100.0/24"]}}, gateway.admin_token)
        fr = gateway.post_json("/v1/partners", {"name": f"FR {tag()}", "kind": "hosting_provider", "contact_email": "abuse@fr-host.test",
                                                "locale": "fr", "jurisdiction": "FR", "routing": {"asns": [64501]}}, gateway.admin_token)
        urls = ["https://cdn.gb-host.test/1.jpg", "https://de-host.test/2.jpg", "https://fr-host.test/3.jpg",
                "https://www.fr-alias.test/4.jpg", "https://gone.test/5.jpg", "https://lost.test/6.jpg"]
        case = {"reference": f"TRACE-{tag()}", "category": {"uk_grade": "A"}, "media_type": "image",
                "items": [item(u, full=False) for u in urls] + [item("https://observed.test/7.jpg", ip="203.0.113.77", full=False)]}
        receipt = gateway.submit_case(case)
        routed = {n["partner_id"]: n["items"] for n in receipt["notices"]}
        assert routed == {gb["id"]: [urls[0]], de["id"]: [urls[1]], fr["id"]: [urls[2], urls[3], "https://observed.test/7.jpg"]}, routed
        assert receipt["unrouted"] == [{"url": urls[4], "reason": "no_matching_domain"}, {"url": urls[5], "reason": "no_matching_partner"}]

        traces = cases_trace(gateway, receipt["id"])
        assert [t["basis"] for t in traces] == ["domain", "resolved_address", "asn", "asn", "none", "none", "asn"]
        assert [t["resolution"] for t in traces] == ["not_needed", "resolved", "resolved", "resolved", "name_not_found", "resolved", "name_not_found"]
        assert traces[2]["addresses"] == ["203.0.113.9", "2001:db8:f::9"] and traces[2]["country"] == "FR" and traces[2]["as_name"] == "EXAMPLE-FR"
        assert traces[5]["asn"] == 64999 and traces[5]["country"] == "NL"
        assert traces[6]["address"] == "203.0.113.77" and traces[6]["asn"] == 64501
        assert zone.asked.get("cdn.gb-host.test") is None, "a domain rule decided: nothing to look up"

        # Cached: a second case asks nothing new of the DNS server.
        before = dict(zone.asked)
        again = gateway.submit_case({**case, "reference": f"TRACE-{tag()}", "items": [item(urls[2], full=False), item(urls[1], full=False)]})
        assert {n["partner_id"] for n in again["notices"]} == {fr["id"], de["id"]}
        assert zone.asked == before

        # A table that does not parse changes nothing.
        table.write_text("203.0.113.0/24\tAS64501\tFR\nnot a line\n", encoding="utf-8")
        refused = gateway.cli("asn", "import", str(table), check=False)
        assert refused.returncode == 1 and "line 2" in refused.stderr, refused.stderr
        assert "EXAMPLE-FR" in gateway.cli("asn", "lookup", "203.0.113.44").stdout
    finally:
        gateway.stop()


class HostileDNS:
    """A UDP server answering each name with a scripted hostile response."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def answer(self, query: bytes) -> bytes | None:
        request = DNSRecord.parse(query)
        name = str(request.q.qname).rstrip(".")
        qid = query[:2]
        question = query[12:]
        if name.startswith("garbage"):
            return bytes(range(256)) * 3
        if name.startswith("forged"):
            reply = request.reply()
            reply.add_answer(RR(name, QTYPE.A, rdata=A("192.0.2.1")))
            packed = bytearray(reply.pack())
            packed[0] ^= 0xFF
            return bytes(packed)
        if name.startswith("loop"):
            header = qid + b"\x81\x80" + struct.pack(">HHHH", 1, 1, 0, 0)
            offset = 12 + len(question)
            return header + question + struct.pack(">H", 0xC000 | offset)
        if name.startswith("truncated"):
            reply = request.reply()
            reply.add_answer(RR(name, QTYPE.A, rdata=A("192.0.2.1")))
            return reply.pack()[:-3]
        if name.startswith("huge"):
            header = qid + b"\x81\x80" + struct.pack(">HHHH", 1, 65535, 0, 0)
            return header + question + (b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\xc0\x00\x02\x01" * 80)
        return None  # silence

    def serve(self):
        while True:
            try:
                query, peer = self.sock.recvfrom(4096)
            except OSError:
                return
            try:
                response = self.answer(query)
            except Exception:  # noqa: BLE001 (a query dnslib cannot parse gets no answer)
                response = None
            if response is not None:
                self.sock.sendto(response, peer)

    def stop(self):
        self.sock.close()


def test_hostile_dns_answers_leave_items_unrouted_and_the_gateway_up(tmp_path: Path):
    hostile = HostileDNS()
    gateway = Gateway(tmp_path / "hostile-dns", name="hostile-dns",
                      extra_env={"TAKEDOWN_DNS_SERVER": f"127.0.0.1:{hostile.port}", "TAKEDOWN_DNS_TIMEOUT_SECONDS": "0.5"})
    gateway.start()
    try:
        gateway.create_partner(name=f"Any {tag()}", locale="en", jurisdiction="GB", domains=["any.test"], ip_ranges=["192.0.2.0/24"])
        kinds = ["garbage", "forged", "loop", "truncated", "silent"]
        for round_ in range(3):  # repeated: the failures are cached briefly, then asked again
            urls = [f"https://{kind}-{round_}-{tag()}.test/x.jpg" for kind in kinds]
            started = time.monotonic()
            receipt = gateway.submit_case({"reference": f"HOSTILE-{tag()}", "category": {"uk_grade": "B"}, "media_type": "image",
                                           "items": [item(u, full=False) for u in urls]})
            assert time.monotonic() - started < 5, "a case waited on the DNS server beyond its time limit"
            assert receipt["notices"] == [] and len(receipt["unrouted"]) == len(kinds)
            assert all(t["resolution"] == "failed" for t in cases_trace(gateway, receipt["id"]))
        # The huge answer counts 65,535 records and holds 80 A records of 192.0.2.1: the resolver reads at most
        # 64 of what the datagram holds, and the item routes by that address.
        receipt = gateway.submit_case({"reference": f"HOSTILE-{tag()}", "category": {"uk_grade": "B"}, "media_type": "image",
                                       "items": [item(f"https://huge-{tag()}.test/x.jpg", full=False)]})
        [trace] = cases_trace(gateway, receipt["id"])
        assert receipt["unrouted"] == [] and trace["basis"] == "resolved_address", (receipt, trace)
        assert trace["addresses"] == ["192.0.2.1"], trace
        assert gateway.request("GET", "/healthz").status_code == 200
        assert gateway.proc.poll() is None
    finally:
        gateway.stop()
        hostile.stop()
