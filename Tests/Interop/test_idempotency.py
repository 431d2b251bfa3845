"""Two `POST /v1/cases` with one Idempotency-Key at the same moment, on SQLite and on PostgreSQL.

The documented behaviour (openapi.json, `POST /v1/cases`): a repeat of the same body by the same token
returns the first receipt (201 again) without issuing anything; the same key with a different body is a
422 `idempotency-key-reused`. Here the two requests race: both wait at a barrier on connections that
are already open, then send at once, for ROUNDS rounds with a new key each, so a window in which both
pass the "is this key known?" check and both issue would show. At least half the rounds must have had
both requests open at once, or the test did not race anything.
- same body: both answers are 201 with the same receipt, and exactly one case with that reference exists;
- different bodies: exactly one 201 and one 422 `idempotency-key-reused`; only the winner's case exists,
  and repeating either body afterwards gives the same verdict again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from conftest import Gateway, GatewayFactory, fresh_database, item, tag

ROUNDS = 20
DOMAIN = "idem.example.com"


@pytest.fixture(params=["sqlite", "postgres"])
def gateway(request, gateway_factory: GatewayFactory) -> Iterator[Gateway]:
    env = {"TAKEDOWN_RATE_LIMITS": "off"}
    if request.param == "sqlite":
        started = gateway_factory("idem-sqlite", extra_env=env)
        _partner(started)
        yield started
        return
    with fresh_database("takedown_idem") as url:
        started = gateway_factory("idem-postgres", extra_env={**env, "TAKEDOWN_DATABASE_URL": url})
        try:
            _partner(started)
            yield started
        finally:
            started.stop()  # before the database is dropped


def _partner(gateway: Gateway) -> None:
    gateway.create_partner(name=f"Idempotency Hosting {tag()}", locale="en", jurisdiction="GB", domains=[DOMAIN])


def case_body(reference: str) -> dict:
    return {
        "reference": reference,
        "category": {"uk_grade": "C"},
        "media_type": "image",
        "items": [item(f"https://cdn.{DOMAIN}/{tag()}.jpg", full=False), item(f"https://unrouted-{tag()}.test/x")],
    }


def sessions(gateway: Gateway, count: int) -> list[requests.Session]:
    """Sessions with a connection already open, so that both requests leave the barrier together."""
    opened = []
    for _ in range(count):
        session = requests.Session()
        session.trust_env = False
        assert session.get(gateway.url + "/healthz", timeout=10).status_code == 200
        opened.append(session)
    return opened


class Overlaps:
    """How many races had both requests open at the same moment (each sent before the other's answer)."""

    def __init__(self) -> None:
        self.rounds = 0
        self.overlapping = 0

    def check(self) -> None:
        # Without overlap the second request would simply find the first one's record: no race was run.
        assert self.overlapping * 2 >= self.rounds, f"only {self.overlapping} of {self.rounds} races overlapped"


def race(
    gateway: Gateway, key: str, bodies: list[dict], clients: list[requests.Session], overlaps: Overlaps
) -> list[requests.Response]:
    barrier = threading.Barrier(len(bodies))
    times: list[tuple[float, float]] = [(0.0, 0.0)] * len(bodies)

    def send(index: int) -> requests.Response:
        barrier.wait(timeout=10)
        sent = time.monotonic()
        response = clients[index].post(
            gateway.url + "/v1/cases",
            json=bodies[index],
            headers={"Authorization": f"Bearer {gateway.admin_token}", "Idempotency-Key": key},
            timeout=30,
        )
        times[index] = (sent, time.monotonic())
        return response

    with ThreadPoolExecutor(len(bodies)) as pool:
        answers = list(pool.map(send, range(len(bodies))))
    overlaps.rounds += 1
    if max(sent for sent, _ in times) < min(done for _, done in times):
        overlaps.overlapping += 1
    return answers


def cases_with_reference(gateway: Gateway, reference: str) -> list[dict]:
    return gateway.get_json("/v1/cases", gateway.admin_token, params={"reference": reference})["cases"]


def all_of(gateway: Gateway, what: str) -> list[dict]:
    page = gateway.get_json(f"/v1/{what}", gateway.admin_token, params={"limit": "500"})
    assert len(page[what]) < 500, "more than one page"
    return page[what]


def test_same_key_same_body_at_once_issues_one_case(gateway: Gateway):
    clients = sessions(gateway, 2)
    overlaps = Overlaps()
    receipts = []
    for round_ in range(ROUNDS):
        key, reference = f"same-{tag()}", f"IDEM-SAME-{round_}-{tag()}"
        body = case_body(reference)
        first, second = race(gateway, key, [body, body], clients, overlaps)
        assert (first.status_code, second.status_code) == (201, 201), (round_, first.text[:500], second.text[:500])
        assert first.json() == second.json(), f"round {round_}: two receipts for one key:\n{first.text}\n{second.text}"
        receipt = first.json()
        assert len(receipt["notices"]) == 1 and len(receipt["unrouted"]) == 1, receipt
        stored = cases_with_reference(gateway, reference)
        assert [c["id"] for c in stored] == [receipt["id"]], f"round {round_}: {len(stored)} cases for one key"
        assert [i.get("notice_id") for i in stored[0]["items"]] == [receipt["notices"][0]["id"], None], stored[0]
        receipts.append(receipt)
    # nothing issued beside the receipts: one case and one notice per key
    assert sorted(c["id"] for c in all_of(gateway, "cases")) == sorted(r["id"] for r in receipts)
    assert sorted(n["id"] for n in all_of(gateway, "notices")) == sorted(r["notices"][0]["id"] for r in receipts)
    overlaps.check()


def test_same_key_different_bodies_at_once_one_wins_one_is_refused(gateway: Gateway):
    clients = sessions(gateway, 2)
    overlaps = Overlaps()
    winners = {0: 0, 1: 0}
    for round_ in range(ROUNDS):
        key = f"diff-{tag()}"
        references = [f"IDEM-A-{round_}-{tag()}", f"IDEM-B-{round_}-{tag()}"]
        bodies = [case_body(r) for r in references]
        answers = race(gateway, key, bodies, clients, overlaps)
        statuses = sorted(a.status_code for a in answers)
        assert statuses == [201, 422], f"round {round_}: {[(a.status_code, a.text[:300]) for a in answers]}"
        winner = next(i for i, a in enumerate(answers) if a.status_code == 201)
        loser = 1 - winner
        winners[winner] += 1
        problem = answers[loser]
        assert problem.headers["content-type"].startswith("application/problem+json"), problem.headers
        assert problem.json()["type"].endswith("/idempotency-key-reused"), problem.json()
        receipt = answers[winner].json()
        assert [c["id"] for c in cases_with_reference(gateway, references[winner])] == [receipt["id"]]
        assert cases_with_reference(gateway, references[loser]) == [], f"round {round_}: the refused body was issued"
        # afterwards, sequentially: the winner's body replays, the loser's is refused again
        again = [
            gateway.http.post(
                gateway.url + "/v1/cases",
                json=bodies[i],
                headers={"Authorization": f"Bearer {gateway.admin_token}", "Idempotency-Key": key},
                timeout=30,
            )
            for i in (winner, loser)
        ]
        assert again[0].status_code == 201 and again[0].json() == receipt, again[0].text
        assert again[1].status_code == 422, again[1].text
    assert len(all_of(gateway, "cases")) == ROUNDS
    assert len(all_of(gateway, "notices")) == ROUNDS
    overlaps.check()
    print(f"\nidempotency race: first body won {winners[0]} rounds, second {winners[1]}; {overlaps.overlapping} overlapped")
