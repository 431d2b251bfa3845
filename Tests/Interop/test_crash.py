"""The outbox survives crashes: 2,000 notices pushed while the gateway is killed (SIGKILL) and restarted.

Hosting providers, each with its own webhook path on one receiver, and cases with one item per
provider: 2,000 notices in all. While the pushes are in flight the gateway is killed with SIGKILL at
random moments and started again on the same data directory and port. In the end every notice must
have reached the receiver at least once, each notice under a single webhook-id however often it came
(at-least-once delivery: a push cut off by a kill is sent again, with the same id, so the receiver
can drop the copy). The number of such copies is reported (printed, as a warning in the summary and
as the `duplicates` property in a JUnit XML report).

Two runs:
- `cap1`: the default of one push in flight per endpoint; 20 providers x 100 cases, so 20 pushes are
  in flight at once; the receiver answers after 20-80 ms, so kills catch pushes at the receiver.
- `cap64`: TAKEDOWN_ENDPOINT_CONCURRENCY=64, 5 providers x 400 cases, a full batch (64) in flight,
  the receiver answering after 0.1-0.4 s; up to 64 pushes are cut off by each kill.
The leases a killed process held must not hold its deliveries back for the lease time (request timeout
+ 30 s): the restarted gateway returns the leases of a dead local process at once, so pushes resume
within RESUME_WITHIN seconds of each restart (with the cap of 1, a stale lease blocks its endpoint).
TAKEDOWN_WEBHOOK_TIMEOUT_SECONDS=2 keeps the lease at 32 s in case only expiry frees it.
"""

from __future__ import annotations

import os
import random
import threading
import time
import warnings
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from conftest import Gateway, GatewayFactory, item, tag
from receiver import Received, Receiver

NOTICES = 2000
KILLS = 4  # at least three must meet pushes in flight
ISSUERS = 8  # threads submitting cases
ENV = {
    "TAKEDOWN_ALLOW_PRIVATE_TARGETS": "1",
    "TAKEDOWN_RETRY_SCHEDULE": "0,1,1,1,1,1,1,1",
    "TAKEDOWN_WEBHOOK_TIMEOUT_SECONDS": "2",
}
LEASE = 2 + 30  # request timeout + 30 s: how long a lease lasts
RESUME_WITHIN = 10.0  # seconds after a restart by which pushes must arrive again
FINAL_WAIT = 60.0  # after the last kill, for every notice to arrive (and again for the outbox to settle)

# providers x cases = NOTICES; each case has one item per provider
RUNS = {
    "cap1": {"cap": 1, "providers": 20, "cases": 100, "delay": (0.02, 0.08)},
    "cap64": {"cap": 64, "providers": 5, "cases": 400, "delay": (0.1, 0.4)},
}


class CaseIssuer:
    """Submits cases from several threads, one HTTP session per thread."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.local = threading.local()

    def __call__(self, body: dict) -> dict:
        session = getattr(self.local, "session", None)
        if session is None:
            session = self.local.session = requests.Session()
            session.trust_env = False
        response = session.post(
            self.gateway.url + "/v1/cases",
            json=body,
            headers={"Authorization": f"Bearer {self.gateway.admin_token}"},
            timeout=30,
        )
        assert response.status_code == 201, (response.status_code, response.text[:1000])
        return response.json()


def all_deliveries(gateway: Gateway) -> list[dict]:
    rows: list[dict] = []
    after = None
    for _ in range(100):
        params = {"limit": "500"}
        if after:
            params["after"] = after
        page = gateway.get_json("/v1/deliveries", gateway.admin_token, params=params)
        rows.extend(page["deliveries"])
        if not page["deliveries"]:
            return rows
        after = page["next_cursor"]
    raise AssertionError("too many delivery pages")


@pytest.mark.parametrize("run", list(RUNS))
def test_outbox_survives_sigkill(gateway_factory: GatewayFactory, record_property, run: str):
    started = time.monotonic()
    seed = int(os.environ.get("CRASH_SEED") or random.SystemRandom().randrange(1 << 30))
    rng = random.Random(seed)
    record_property("seed", seed)
    settings = RUNS[run]
    providers_count, cases = settings["providers"], settings["cases"]
    assert providers_count * cases == NOTICES

    receiver = Receiver(delay=settings["delay"], name="crash").start()
    try:
        env = {**ENV, "TAKEDOWN_ENDPOINT_CONCURRENCY": str(settings["cap"])}
        gateway = gateway_factory("crash", extra_env=env)
        port = gateway.port

        providers = []  # (partner, domain)
        for n in range(providers_count):
            domain = f"crash{n}-{tag()}.test"
            partner = gateway.create_partner(
                name=f"Crash Hosting {n} {tag()}",
                locale="en",
                jurisdiction="GB",
                domains=[domain],
                webhook_url=receiver.url(f"/hooks/{n}"),
            )
            receiver.trust({partner["id"]: partner["webhook_secret"]})
            providers.append((partner, domain))
        path_of = {p["id"]: f"/hooks/{n}" for n, (p, _) in enumerate(providers)}

        # 1. issue 2,000 notices; the worker pushes them as they come
        issuer = CaseIssuer(gateway)
        bodies = [
            {
                "reference": f"CRASH-{k}-{tag()}",
                "category": {"uk_grade": "B"},
                "media_type": "image",
                "items": [item(f"https://cdn.{domain}/{k}.jpg", full=False) for _, domain in providers],
            }
            for k in range(cases)
        ]
        with ThreadPoolExecutor(ISSUERS) as pool:
            answers = list(pool.map(issuer, bodies))
        partner_of: dict[str, str] = {}
        for answer in answers:
            assert not answer["unrouted"] and len(answer["notices"]) == providers_count, answer
            for notice in answer["notices"]:
                partner_of[notice["id"]] = notice["partner_id"]
        notice_ids = set(partner_of)
        assert len(notice_ids) == NOTICES
        issued_at = time.monotonic()

        # 2. kill the gateway at random moments while pushes are in flight, start it again each time
        kills = []
        for number in range(1, KILLS + 1):
            # the running process must be pushing: wait for a fresh arrival first
            seen = len(receiver.snapshot())
            if not receiver.wait_for(lambda r: len(r.records) > seen, timeout=RESUME_WITHIN):
                pytest.fail(
                    f"kill {number}: no push arrived within {RESUME_WITHIN}s of the "
                    f"{'restart' if number > 1 else 'issue'} (are the dead process's leases blocking the "
                    f"endpoints until they expire, {LEASE}s?)\n{gateway.log_tail(40)}"
                )
            time.sleep(rng.uniform(0.2, 1.5))
            # then strike while a push is open at the receiver (between two rounds of the worker none is)
            receiver.wait_for(lambda r: r.in_progress > 0, timeout=2)
            received = receiver.notice_ids("notice.issued") & notice_ids
            open_requests = receiver.in_progress
            signalled = time.time()
            gateway.kill()
            dead = time.time()
            kills.append(
                {
                    "number": number,
                    "at": round(time.monotonic() - started, 2),
                    "received": len(received),
                    "open": open_requests,
                    "signalled": signalled,
                    "dead": dead,
                }
            )
            gateway.start(port=port)
            assert gateway.port == port
        last_kill = time.monotonic()

        # 3. every notice arrives, however many times ...
        complete = receiver.wait_for(lambda r: notice_ids <= r.notice_ids("notice.issued"), timeout=FINAL_WAIT)
        all_arrived = time.monotonic()
        # ... and the outbox settles: one delivery per notice, all succeeded (copies of pushes cut off by
        # a kill go to the back of the queue, so they can come after the last first copy)
        deadline = time.monotonic() + (FINAL_WAIT if complete else 5)
        while True:
            rows = all_deliveries(gateway)
            states: dict[str, int] = defaultdict(int)
            for row in rows:
                states[row["state"]] += 1
            if states.get("succeeded") == NOTICES or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        receiver.wait_for(lambda r: r.in_progress == 0, timeout=5)
        settled = time.monotonic()

        # A request the killed gateway was still writing arrives cut short: the receiver cannot
        # verify it and would answer 400; it counts as not received (the push is sent again).
        arrivals = receiver.snapshot()
        torn = [r for r in arrivals if not r.complete]
        records = [r for r in arrivals if r.complete]
        refused = [r for r in records if not r.ok]
        by_notice: dict[str, set[str]] = defaultdict(set)
        copies: dict[str, int] = defaultdict(int)
        for record in records:
            if not record.ok:
                continue
            assert record.event_type == "notice.issued", record.event_type
            assert record.notice_id in notice_ids, f"a push for an unknown notice {record.notice_id}"
            assert record.path == path_of[partner_of[record.notice_id]], (record.path, record.notice_id)
            assert record.body["id"] == record.webhook_id, "webhook-id differs from the body id"
            by_notice[record.notice_id].add(record.webhook_id)
            copies[record.webhook_id] += 1
        missing = notice_ids - set(by_notice)
        duplicates = len(records) - len(copies)
        # Pushes the receiver had read but began to answer only after the killed process was gone: the
        # gateway cannot have seen them succeed, so each must come again.
        cut_off: dict[str, int] = {}
        first_copies: dict[str, Received] = {}
        for record in records:
            first_copies.setdefault(record.webhook_id, record)
        for kill in kills:
            cut = {
                r.webhook_id
                for r in first_copies.values()
                if r.arrived < kill["signalled"] and (r.replying is None or r.replying > kill["dead"])
            }
            kill["cut_off"] = len(cut)
            cut_off.update({webhook_id: kill["number"] for webhook_id in cut})
        summary = [{k: v for k, v in kill.items() if k not in ("signalled", "dead")} for kill in kills]
        report = (
            f"{NOTICES} notices, {len(records)} pushes received, {duplicates} duplicates "
            f"({sum(1 for c in copies.values() if c > 1)} notices came more than once, "
            f"at most {max(copies.values(), default=0)} times), {len(torn)} cut short by a kill; kills: {summary}; "
            f"issued in {issued_at - started:.1f}s, every notice received {all_arrived - last_kill:.1f}s "
            f"and the outbox settled {settled - last_kill:.1f}s after the last kill, total {settled - started:.1f}s; "
            f"seed {seed}"
        )
        report = f"[{run}] " + report
        print("\ncrash test: " + report)
        record_property("duplicates", duplicates)
        record_property("pushes", len(records))
        record_property("kills", summary)
        record_property("seconds", round(settled - started, 1))
        warnings.warn(pytest.PytestWarning("crash test: " + report))

        assert not refused, (
            f"{len(refused)} complete pushes failed standardwebhooks verification, e.g. "
            + "; ".join(
                f"#{r.number} {r.webhook_id} {r.path} arrived {r.arrived:.3f} len {len(r.raw)} "
                f"signature {r.signature} errors {set(r.errors.values())}"
                for r in refused[:3]
            )
            + f"; {report}"
        )
        assert complete and not missing, f"{len(missing)} notices never arrived (e.g. {sorted(missing)[:5]}); {report}"
        several = {n: ids for n, ids in by_notice.items() if len(ids) != 1}
        assert not several, f"notices pushed under more than one webhook-id: {dict(list(several.items())[:5])}"
        in_flight_kills = [k for k in summary if k["received"] < NOTICES and k["open"] > 0]
        assert len(in_flight_kills) >= 3, f"fewer than three kills met pushes in flight: {summary}"
        not_again = sorted(w for w in cut_off if copies[w] < 2)
        assert not not_again, f"{len(not_again)} pushes cut off by a kill never came again: {not_again[:5]}; {report}"
        assert duplicates >= len(cut_off), report

        # 4. the outbox agrees: one delivery per notice, all succeeded, under the webhook-id that arrived
        assert len(rows) == NOTICES, f"{len(rows)} deliveries for {NOTICES} notices"
        assert {r["notice_id"] for r in rows} == notice_ids
        assert dict(states) == {"succeeded": NOTICES}, dict(states)
        event_of = {r["notice_id"]: r["event_id"] for r in rows}
        assert all(by_notice[n] == {event_of[n]} for n in notice_ids), "a push's webhook-id is not its delivery's event_id"
    finally:
        receiver.stop()
