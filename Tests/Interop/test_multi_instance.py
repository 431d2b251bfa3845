"""Several gateways on one PostgreSQL: 3,000 notices delivered while one instance is killed and restarted.

Three `takedown serve` processes share one database (a fresh one on the cluster that scripts/test
starts, TAKEDOWN_TEST_DATABASE_URL) and one data folder (the signing keys). Cases are submitted to all
three; each runs an outbox worker, and every notice goes by webhook to a local receiver, one path per
provider. One gateway is killed with SIGKILL while pushes are in flight and started again. Then:
- every notice arrived at its provider's path;
- no path ever had more requests open at once than the per-endpoint cap (the receiver counts open
  requests per path; a request whose sender was killed stops counting as soon as the hang-up is seen);
- the database records no delivery as succeeded twice, and every delivery as succeeded;
- the victim came back (a new process, ready) and delivers after its restart: with the other two paused
  (SIGSTOP), one more case submitted through it arrives, and its own
  `takedown_deliveries_total{outcome="succeeded"}` (zero in every new process) counts it.
Any failure in the thread that kills and restarts the victim (no pushes flowing, a restart that does not
come up, a thread that does not finish) fails the test with that thread's exception.
Skipped (and reported as skipped) when TAKEDOWN_TEST_DATABASE_URL is unset; scripts/test sets it.
"""

from __future__ import annotations

import os
import random
import re
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from conftest import METRICS_TOKEN, TEST_DATABASE_URL, GatewayFactory, fresh_database, item, psql, tag
from receiver import Receiver

pytestmark = pytest.mark.skipif(not TEST_DATABASE_URL, reason="TAKEDOWN_TEST_DATABASE_URL is not set")

INSTANCES = 3
PROVIDERS = 30
CASES = 100  # one item per provider each: PROVIDERS x CASES = 3,000 notices
NOTICES = PROVIDERS * CASES
CAP = 2
FINAL_WAIT = 120.0


@pytest.fixture
def database() -> Iterator[str]:
    with fresh_database("takedown_multi") as url:
        yield url


def succeeded_deliveries(gateway) -> int:
    """`takedown_deliveries_total{outcome="succeeded"}` of one process, from its /metrics."""
    headers = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    response = gateway.http.get(gateway.url + "/metrics", headers=headers, timeout=15)
    assert response.status_code == 200, f"/metrics: {response.status_code} {response.text[:300]}"
    found = re.search(r'^takedown_deliveries_total\{[^}]*outcome="succeeded"[^}]*\} ([0-9.e+]+)$', response.text, re.M)
    return int(float(found.group(1))) if found else 0


def test_three_instances_deliver_through_a_sigkill(database: str, gateway_factory: GatewayFactory, tmp_path):
    # `database` first: it is set up first and so dropped last, after the gateways stopped.
    seed = int(os.environ.get("CRASH_SEED") or random.SystemRandom().randrange(1 << 30))
    rng = random.Random(seed)
    # Slow answers (60 requests open at most, ~0.3 s each: ~200 notices/s, slower than cases are submitted)
    # keep a queue, so every instance holds leases when the kill comes, even on a quiet machine.
    receiver = Receiver(delay=(0.2, 0.4), name="multi").start()
    try:
        env = {
            "TAKEDOWN_DATABASE_URL": database,
            "TAKEDOWN_DATABASE_POOL_SIZE": "6",
            "TAKEDOWN_ALLOW_PRIVATE_TARGETS": "1",
            "TAKEDOWN_RETRY_SCHEDULE": "0,1,1,1,1,1,1,1",
            "TAKEDOWN_WEBHOOK_TIMEOUT_SECONDS": "2",
            "TAKEDOWN_ENDPOINT_CONCURRENCY": str(CAP),
        }
        shared = tmp_path / "shared-data"
        gateways = []
        for n in range(INSTANCES):
            gateway = gateway_factory(f"pg{n}", start=False, extra_env=env)
            gateway.data_dir = shared  # one signing key for all
            if gateways:
                gateway.admin_token = gateways[0].admin_token  # the first bootstraps the admin
            gateway.start()  # one after the other: the first creates the key and the schema
            gateways.append(gateway)
        first = gateways[0]

        providers = []
        for n in range(PROVIDERS):
            domain = f"multi{n}-{tag()}.test"
            partner = first.create_partner(
                name=f"Multi Hosting {n} {tag()}",
                locale="en",
                jurisdiction="GB",
                domains=[domain],
                webhook_url=receiver.url(f"/hooks/{n}"),
            )
            receiver.trust({partner["id"]: partner["webhook_secret"]})
            providers.append((partner, domain))

        local = threading.local()
        run = tag()

        def submit(index: int, through=None) -> dict:
            gateway = through or gateways[index % INSTANCES]
            session = getattr(local, "session", None)
            if session is None:
                session = local.session = requests.Session()
                session.trust_env = False
            body = {
                "reference": f"MULTI-{index}-{run}",
                "category": {"uk_grade": "B"},
                "media_type": "image",
                "items": [item(f"https://cdn.{domain}/{index}.jpg", full=False) for _, domain in providers],
            }
            for _ in range(20):  # the victim may be down for a moment: submit through it again
                try:
                    response = session.post(
                        gateway.url + "/v1/cases",
                        json=body,
                        # A POST whose answer was lost with the victim is sent again: the key makes the retry
                        # return the first receipt instead of issuing the case twice.
                        headers={"Authorization": f"Bearer {first.admin_token}", "Idempotency-Key": f"multi-{run}-{index}"},
                        timeout=30,
                    )
                except requests.ConnectionError:
                    time.sleep(0.5)
                    continue
                assert response.status_code == 201, (response.status_code, response.text[:500])
                return response.json()
            raise AssertionError("could not submit a case")

        kill: dict[str, int] = {"seed": seed}  # CRASH_SEED=seed repeats the timing choices
        failures: list[BaseException] = []  # what went wrong in the killer thread, raised again below

        def kill_and_restart() -> None:
            # strike once pushes are flowing at the receiver, at a random moment after that ...
            if not receiver.wait_for(lambda r: len(r.records) > 20, timeout=60):
                raise AssertionError(f"no pushes flowing within 60 s: {len(receiver.records)} arrived")
            time.sleep(rng.uniform(0.05, 0.5))
            # ... at the instance holding the most leases then (a lease owner is host/pid/random): whichever
            # instance claims first may take every endpoint up to its cap, so which one that is varies.
            pids = {str(g.proc.pid): g for g in gateways}
            holders: dict[str, int] = {}
            deadline = time.monotonic() + 60
            while not holders and time.monotonic() < deadline:
                rows = psql(
                    database,
                    "SELECT owner || ' ' || n FROM (SELECT split_part(lease_owner, '/', 2) AS owner, count(*) AS n "
                    "FROM deliveries WHERE state = 'in_flight' GROUP BY 1) t",
                )
                holders = {pid: int(n) for pid, n in (r.split() for r in rows.splitlines() if r) if pid in pids}
            victim_pid = max(holders, key=holders.get) if holders else str(gateways[1].proc.pid)
            victim = pids[victim_pid]
            kill.update(
                received=len(receiver.notice_ids("notice.issued")),
                open=receiver.in_progress,
                victim=gateways.index(victim),
                victim_leases=holders.get(victim_pid, 0),
            )
            port = victim.port
            victim.kill()
            kill["killed_pid"] = int(victim_pid)
            victim.start(port=port)  # raises (with the log) when the restart fails
            kill["restarted_pid"] = victim.proc.pid

        def killer_body() -> None:
            try:
                kill_and_restart()
            except BaseException as error:  # noqa: BLE001 (raised again in the test's own thread)
                failures.append(error)

        killer = threading.Thread(target=killer_body, name="kill-and-restart")
        killer.start()
        submit_error: BaseException | None = None
        try:
            with ThreadPoolExecutor(6) as pool:
                answers = list(pool.map(submit, range(CASES)))
        except BaseException as error:  # noqa: BLE001 (a failed restart is the cause to report first)
            submit_error = error
        killer.join(timeout=120)
        assert not killer.is_alive(), "the kill-and-restart thread did not finish within 120 s"
        if failures:
            raise failures[0]
        if submit_error is not None:
            raise submit_error
        assert kill.get("restarted_pid"), f"the victim was not started again: {kill}"
        victim = gateways[kill["victim"]]
        notice_ids = {n["id"] for a in answers for n in a["notices"]}
        assert len(notice_ids) == NOTICES
        assert kill and kill["received"] < NOTICES, f"the kill came after every notice had arrived: {kill}"
        assert kill["victim_leases"] > 0, f"the victim held no lease when it was killed: {kill}"

        arrived = receiver.wait_for(lambda r: notice_ids <= r.notice_ids("notice.issued"), timeout=FINAL_WAIT)
        missing = notice_ids - receiver.notice_ids("notice.issued")
        assert arrived and not missing, f"{len(missing)} notices never arrived, e.g. {sorted(missing)[:3]}"

        def wait_until_all_succeeded(count: int) -> None:
            deadline = time.monotonic() + FINAL_WAIT
            while time.monotonic() < deadline:
                states = psql(database, "SELECT state || '=' || count(*) FROM deliveries GROUP BY state ORDER BY state")
                if states == f"succeeded={count}":
                    return
                time.sleep(0.5)
            assert states == f"succeeded={count}", states

        wait_until_all_succeeded(NOTICES)
        # The victim came back and took part: its process (new pid) is still serving, and it delivers after
        # the restart (its counter starts at zero in every process). How much of the backlog it won against
        # the other two varies (one instance can hold every endpoint's cap), so one more case goes through
        # it while the others are paused (SIGSTOP), with nothing in flight: those pushes can only be its own.
        assert victim.proc is not None and victim.proc.poll() is None, f"the restarted victim is gone: {kill}"
        assert victim.proc.pid == kill["restarted_pid"] != kill["killed_pid"], kill
        assert victim.request("GET", "/readyz", expect=None).status_code == 200, victim.log_tail(40)
        kill["delivered_in_backlog"] = succeeded_deliveries(victim)
        others = [g for g in gateways if g is not victim]
        for other in others:
            os.kill(other.proc.pid, signal.SIGSTOP)
        try:
            extra = {n["id"] for n in submit(CASES, through=victim)["notices"]}
            came = receiver.wait_for(lambda r: extra <= r.notice_ids("notice.issued"), timeout=60)
        finally:
            for other in others:
                os.kill(other.proc.pid, signal.SIGCONT)
        assert came, f"the restarted victim alone did not deliver a new case: {kill}\n{victim.log_tail(40)}"
        # The push arrives before its sender records the outcome: give the counter a moment to follow.
        wanted = kill["delivered_in_backlog"] + len(extra)
        deadline = time.monotonic() + 30
        while (delivered := succeeded_deliveries(victim)) < wanted and time.monotonic() < deadline:
            time.sleep(0.2)
        assert delivered >= wanted, (delivered, kill)
        kill["delivered_after_restart"] = delivered
        total = NOTICES + len(extra)
        wait_until_all_succeeded(total)

        most = max(receiver.most_open_by_path.values())
        assert most <= CAP, f"an endpoint had {most} deliveries open at once (cap {CAP}): {receiver.most_open_by_path}"
        twice = psql(
            database,
            "SELECT count(*) FROM (SELECT delivery_id FROM delivery_attempts WHERE status_code BETWEEN 200 AND 299 "
            "GROUP BY delivery_id HAVING count(*) > 1) t",
        )
        assert twice == "0", f"{twice} deliveries recorded as succeeded more than once"
        successes = psql(database, "SELECT count(*) FROM delivery_attempts WHERE status_code BETWEEN 200 AND 299")
        assert successes == str(total), successes
        duplicates = len([r for r in receiver.snapshot() if r.complete and r.ok]) - total
        print(
            f"\nmulti-instance: {NOTICES} notices, {duplicates} duplicate pushes, most open per endpoint {most}, "
            f"killed at {kill}"
        )
    finally:
        receiver.stop()
