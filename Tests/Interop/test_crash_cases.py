"""SIGKILL in the middle of `POST /v1/cases` on SQLite: no half-written case, no lost outbox row, and a
retried request with the same Idempotency-Key gives the first answer.

Eight clients submit cases (three providers and one unrouted item each, every request with its own
Idempotency-Key) as fast as the gateway answers; the gateway is killed with SIGKILL at a random moment
while requests are open, and started again on the same data directory. Three rounds at least, and
more (eight at most) until a kill has come between a commit and its answer (about four kills in five
do), so that an answer the client never saw is asked for again. After each kill
the database files are copied as the crash left them and the copy is opened with Python's sqlite3:
- every case is whole: each routable item carries a notice, every notice has its case, its timeline and
  exactly one `notice.issued` outbox row, and the case's idempotency record names exactly those notices;
  or the case is not there at all;
- every request answered 201 before the kill is there, with the stored answer equal to the one sent.
Then every key of every round is sent again with its body:
- a key that had committed gets the first answer back, field for field the stored receipt (also when the
  client never saw that answer because the kill came between the commit and the reply);
- a key that had not committed issues its case now;
- every reference has exactly one case, every notice reaches its provider's webhook, every delivery
  succeeds; the database, opened read-only after a clean stop, passes the same checks.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import sqlite3
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from conftest import Gateway, GatewayFactory, item, tag
from receiver import Receiver

ROUNDS = 3  # kills at least; more, up to MAX_ROUNDS, until one has come between a commit and its answer
MAX_ROUNDS = 8
CLIENTS = 8
PROVIDERS = 3
ENV = {
    "TAKEDOWN_ALLOW_PRIVATE_TARGETS": "1",
    "TAKEDOWN_RETRY_SCHEDULE": "0,1,1,1,1,1,1,1",
    "TAKEDOWN_WEBHOOK_TIMEOUT_SECONDS": "2",
    "TAKEDOWN_RATE_LIMITS": "off",
}
DATABASE = "takedown.sqlite"


def whole_case_problems(db: sqlite3.Connection) -> list[str]:
    """Every way a case can be half-written, as readable lines (empty: every case is whole)."""
    checks = {
        "case without items": "SELECT id FROM cases c WHERE NOT EXISTS (SELECT 1 FROM case_items i WHERE i.case_id = c.id)",
        "item of no case": "SELECT case_id || '#' || idx FROM case_items i WHERE NOT EXISTS (SELECT 1 FROM cases c WHERE c.id = i.case_id)",
        "routable item without notice": "SELECT case_id || '#' || idx FROM case_items WHERE notice_id IS NULL AND unrouted_reason IS NULL",
        "item naming a missing notice": "SELECT case_id || '#' || idx FROM case_items i WHERE notice_id IS NOT NULL "
        "AND NOT EXISTS (SELECT 1 FROM notices n WHERE n.id = i.notice_id AND n.case_id = i.case_id)",
        "notice of no case": "SELECT id FROM notices n WHERE NOT EXISTS (SELECT 1 FROM cases c WHERE c.id = n.case_id)",
        "notice no item carries": "SELECT id FROM notices n WHERE NOT EXISTS (SELECT 1 FROM case_items i WHERE i.notice_id = n.id)",
        "notice without one notice.issued delivery": "SELECT id FROM notices n WHERE (SELECT count(*) FROM deliveries d "
        "WHERE d.notice_id = n.id AND d.event_type = 'notice.issued') != 1",
        "notice without timeline": "SELECT id FROM notices n WHERE NOT EXISTS (SELECT 1 FROM notice_events e WHERE e.notice_id = n.id)",
        "delivery of no notice": "SELECT id FROM deliveries d WHERE NOT EXISTS (SELECT 1 FROM notices n WHERE n.id = d.notice_id)",
        "case without idempotency record": "SELECT id FROM cases c WHERE NOT EXISTS (SELECT 1 FROM idempotency_keys k "
        "WHERE json_extract(CAST(k.body AS TEXT), '$.id') = c.id)",
        "idempotency record of no case": "SELECT key FROM idempotency_keys k WHERE NOT EXISTS (SELECT 1 FROM cases c "
        "WHERE c.id = json_extract(CAST(k.body AS TEXT), '$.id'))",
    }
    problems = []
    for what, sql in checks.items():
        found = [row[0] for row in db.execute(sql)]
        if found:
            problems.append(f"{len(found)} x {what}, e.g. {found[:3]}")
    # The stored answer names exactly the notices stored for its case.
    notices_of: dict[str, set[str]] = defaultdict(set)
    for notice_id, case_id in db.execute("SELECT id, case_id FROM notices"):
        notices_of[case_id].add(notice_id)
    for key, body in db.execute("SELECT key, body FROM idempotency_keys"):
        receipt = json.loads(body)
        if {n["id"] for n in receipt["notices"]} != notices_of.get(receipt["id"], set()):
            problems.append(f"the answer stored for {key} names other notices than the store holds for {receipt['id']}")
    integrity = [row[0] for row in db.execute("PRAGMA integrity_check")]
    if integrity != ["ok"]:
        problems.append(f"integrity_check: {integrity[:5]}")
    foreign = list(db.execute("PRAGMA foreign_key_check"))
    if foreign:
        problems.append(f"foreign_key_check: {foreign[:5]}")
    return problems


def stored_answers(db: sqlite3.Connection) -> dict[str, dict]:
    return {key: json.loads(body) for key, body in db.execute("SELECT key, body FROM idempotency_keys")}


def snapshot(data_dir: Path, into: Path) -> sqlite3.Connection:
    """The database as the crash left it: the file and its write-ahead log copied (SQLite recovers the log
    when the copy is opened, as the restarted gateway would), so no restart can tidy anything first."""
    into.mkdir(parents=True)
    for suffix in ("", "-wal"):
        source = data_dir / (DATABASE + suffix)
        if source.exists():
            shutil.copyfile(source, into / (DATABASE + suffix))
    return sqlite3.connect(into / DATABASE)


class Submitter:
    """Clients that submit cases with Idempotency-Keys until the gateway goes away."""

    def __init__(self, gateway: Gateway, domains: list[str], run: str) -> None:
        self.gateway = gateway
        self.domains = domains
        self.run = run
        self.lock = threading.Lock()
        self.bodies: dict[str, dict] = {}  # key -> body, every key ever sent
        self.answers: dict[str, dict] = {}  # key -> receipt, for 201s received
        self.open = 0  # requests sent and not answered
        self.errors: list[str] = []  # answers other than 201
        self.next = 0

    def body(self, index: int) -> dict:
        return {
            "reference": f"KILL-{index}-{self.run}",
            "category": {"uk_grade": "B"},
            "media_type": "image",
            "items": [item(f"https://cdn.{d}/{index}.jpg", full=False) for d in self.domains]
            + [item(f"https://nobody-{tag()}.test/{index}.jpg", full=False)],
        }

    def client(self, stop: threading.Event) -> None:
        session = requests.Session()
        session.trust_env = False
        while not stop.is_set():
            with self.lock:
                index = self.next
                self.next += 1
                key = f"kill-{self.run}-{index}"
                body = self.bodies[key] = self.body(index)
                self.open += 1
            try:
                response = session.post(
                    self.gateway.url + "/v1/cases",
                    json=body,
                    headers={"Authorization": f"Bearer {self.gateway.admin_token}", "Idempotency-Key": key},
                    timeout=30,
                )
            except requests.RequestException:
                return  # the gateway was killed: this answer is lost
            finally:
                with self.lock:
                    self.open -= 1
            with self.lock:
                if response.status_code == 201:
                    self.answers[key] = response.json()
                else:  # reported by the test's own thread
                    self.errors.append(f"{key}: {response.status_code} {response.text[:500]}")
                    return


def send_again(gateway: Gateway, key: str, body: dict) -> requests.Response:
    return gateway.http.post(
        gateway.url + "/v1/cases",
        json=body,
        headers={"Authorization": f"Bearer {gateway.admin_token}", "Idempotency-Key": key},
        timeout=30,
    )


def test_sigkill_during_case_submission_leaves_whole_cases_and_replays_first_answers(
    gateway_factory: GatewayFactory, tmp_path: Path
):
    seed = int(os.environ.get("CRASH_SEED") or random.SystemRandom().randrange(1 << 30))
    rng = random.Random(seed)
    receiver = Receiver(name="crash-cases").start()
    try:
        gateway = gateway_factory("crash-cases", extra_env=ENV)
        port = gateway.port
        domains = []
        for n in range(PROVIDERS):
            domain = f"kill{n}-{tag()}.test"
            partner = gateway.create_partner(
                name=f"Kill Hosting {n} {tag()}", locale="en", jurisdiction="GB", domains=[domain],
                webhook_url=receiver.url(f"/hooks/{n}"),
            )
            receiver.trust({partner["id"]: partner["webhook_secret"]})
            domains.append(domain)

        submitter = Submitter(gateway, domains, tag())
        committed: dict[str, dict] = {}  # key -> the answer stored before a kill
        rounds = []
        for number in range(1, MAX_ROUNDS + 1):
            if number > ROUNDS and any(r["committed_unanswered"] for r in rounds):
                break
            answered_before = len(submitter.answers)
            with submitter.lock:
                earlier = set(submitter.bodies)
            stop = threading.Event()
            threads = [threading.Thread(target=submitter.client, args=(stop,), daemon=True) for _ in range(CLIENTS)]
            for thread in threads:
                thread.start()
            # strike at a random moment once this round's cases are being committed
            deadline = time.monotonic() + 30
            while len(submitter.answers) < answered_before + 5 and time.monotonic() < deadline:
                time.sleep(0.01)
            assert len(submitter.answers) >= answered_before + 5, f"round {number}: no cases answered\n{gateway.log_tail(30)}"
            time.sleep(rng.uniform(0.05, 0.6))
            open_at_kill = submitter.open
            gateway.kill()
            stop.set()
            for thread in threads:
                thread.join(timeout=40)
                assert not thread.is_alive(), "a client did not finish after the kill"
            assert not submitter.errors, f"round {number}: {submitter.errors[:3]}"

            db = snapshot(gateway.data_dir, tmp_path / f"after-kill-{number}")
            try:
                problems = whole_case_problems(db)
                assert not problems, f"round {number}: half-written state after SIGKILL:\n" + "\n".join(problems)
                stored = stored_answers(db)
            finally:
                db.close()
            with submitter.lock:
                sent, answers = dict(submitter.bodies), dict(submitter.answers)
            lost = [k for k in answers if k not in stored]
            assert not lost, f"round {number}: {len(lost)} cases answered 201 are gone after the kill: {lost[:3]}"
            differ = [k for k in answers if stored[k] != answers[k]]
            assert not differ, f"round {number}: stored answers differ from the ones sent: {differ[:3]}"
            assert set(stored) <= set(sent), "an idempotency record for a key nobody sent"
            unanswered = [k for k in sent if k not in answers and k not in earlier]
            rounds.append(
                {
                    "round": number,
                    "sent": len(set(sent) - earlier),
                    "open_at_kill": open_at_kill,
                    "committed_unanswered": len([k for k in unanswered if k in stored]),
                    "not_committed": len([k for k in unanswered if k not in stored]),
                }
            )
            committed = stored
            gateway.start(port=port)

        report = f"seed {seed}, rounds {rounds}"
        assert any(r["open_at_kill"] > 0 for r in rounds), f"no kill met a request in flight: {report}"
        assert any(r["committed_unanswered"] for r in rounds), (
            f"no kill came between a commit and its answer, so no lost answer was asked for again: {report}"
        )

        # Every key again, with its body.
        with ThreadPoolExecutor(4) as pool:
            keys = sorted(submitter.bodies)
            retried = dict(zip(keys, pool.map(lambda k: send_again(gateway, k, submitter.bodies[k]), keys)))
        receipts: dict[str, dict] = {}
        for key, response in retried.items():
            assert response.status_code == 201, (key, response.status_code, response.text[:500])
            receipt = receipts[key] = response.json()
            if key in committed:
                assert receipt == committed[key], f"{key}: the retry did not give the first answer ({report})"
            else:
                assert receipt["id"] not in {a["id"] for a in committed.values()}, key
            assert len(receipt["notices"]) == PROVIDERS and len(receipt["unrouted"]) == 1, receipt

        # One case per reference, whole; every notice pushed; every delivery succeeded.
        cases = []
        after = None
        while True:
            params = {"limit": "500", **({"after": after} if after else {})}
            page = gateway.get_json("/v1/cases", gateway.admin_token, params=params)
            if not page["cases"]:
                break
            cases += page["cases"]
            after = page["next_cursor"]
        by_reference: dict[str, list[str]] = defaultdict(list)
        for case in cases:
            by_reference[case["reference"]].append(case["id"])
        assert len(cases) == len(receipts), f"{len(cases)} cases for {len(receipts)} keys ({report})"
        assert {r: ids for r, ids in by_reference.items() if len(ids) != 1} == {}, report
        assert {c["id"] for c in cases} == {r["id"] for r in receipts.values()}, report
        notice_ids = {n["id"] for r in receipts.values() for n in r["notices"]}
        arrived = receiver.wait_for(lambda r: notice_ids <= r.notice_ids("notice.issued"), timeout=90)
        missing = notice_ids - receiver.notice_ids("notice.issued")
        assert arrived and not missing, f"{len(missing)} notices never pushed, e.g. {sorted(missing)[:3]} ({report})"
        deadline = time.monotonic() + 60
        while True:
            rows, after = [], None
            while True:
                params = {"limit": "500", **({"after": after} if after else {})}
                page = gateway.get_json("/v1/deliveries", gateway.admin_token, params=params)
                if not page["deliveries"]:
                    break
                rows += page["deliveries"]
                after = page["next_cursor"]
            states = defaultdict(int)
            for row in rows:
                states[row["state"]] += 1
            if dict(states) == {"succeeded": len(notice_ids)} or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert dict(states) == {"succeeded": len(notice_ids)}, f"{dict(states)} for {len(notice_ids)} notices"
        assert sorted(r["notice_id"] for r in rows) == sorted(notice_ids), "not one delivery per notice"

        assert gateway.stop() == 0, gateway.log_tail(30)
        db = sqlite3.connect(f"file:{gateway.data_dir / DATABASE}?mode=ro", uri=True)
        try:
            problems = whole_case_problems(db)
            assert not problems, "after the retries:\n" + "\n".join(problems)
            assert stored_answers(db) == receipts
        finally:
            db.close()

        # The checks are not vacuous: on a copy, half-write three notices by hand and they must say so.
        broken = snapshot(gateway.data_dir, tmp_path / "half-written")
        try:
            a, b, c = [row[0] for row in broken.execute("SELECT id FROM notices ORDER BY position LIMIT 3")]
            broken.execute("DELETE FROM deliveries WHERE notice_id = ?", (a,))
            broken.execute("UPDATE case_items SET notice_id = NULL WHERE notice_id = ?", (b,))
            broken.execute("DELETE FROM deliveries WHERE notice_id = ?", (c,))
            broken.execute("DELETE FROM notice_events WHERE notice_id = ?", (c,))
            broken.execute("DELETE FROM notices WHERE id = ?", (c,))
            broken.commit()
            found = "\n".join(whole_case_problems(broken))
            for expected in (
                "notice without one notice.issued delivery",
                "routable item without notice",
                "notice no item carries",
                "item naming a missing notice",
                "names other notices",
            ):
                assert expected in found, f"the check for {expected!r} missed a half-written case:\n{found}"
        finally:
            broken.close()
        print(f"\ncrash during case submission: {len(receipts)} cases, {len(notice_ids)} notices; {report}")
    finally:
        receiver.stop()
