"""The tamper-evident log of a live gateway, on SQLite and on PostgreSQL, checked by `tlog.py` (a verifier
written from RFC 9162 and the C2SP tlog-checkpoint, signed-note and tlog-tiles specs, sharing no code with
the gateway) and by `takedown verify --log`.

A run of cases, answers, a withdrawal and list versions, with checkpoints taken along the way. The auditor
side then checks, with the log's public key alone: every checkpoint's signature; the tree rebuilt from the
public tiles against each checkpoint's root; every entry (read by staff) against its leaf in the tiles;
each notice's and list version's entries, rebuilt here from the records as the API serves them (the
notice's JWS, its timeline; the manifest's JWS; the list's change feed), with their inclusion proofs; and
consistency between the checkpoints. Then records are changed, deleted and reordered directly in the
database, and each change must be caught.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sqlite3
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

import tlog
from conftest import TEST_DATABASE_URL, Gateway, fresh_database, item, psql, tag


def entry_bytes(fields: dict) -> bytes:
    """An entry's canonical bytes: JSON, keys sorted, no spaces, UTF-8."""
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sha(text: str | bytes) -> str:
    return hashlib.sha256(text.encode("utf-8") if isinstance(text, str) else text).hexdigest()


def b64(data: str) -> bytes:
    return base64.b64decode(data, validate=True)


class Auditor:
    """What a court-appointed auditor holds: the log's verifier key, the checkpoints kept, and a staff token."""

    def __init__(self, gateway: Gateway, token: str) -> None:
        self.gateway, self.token = gateway, token
        self.key_text = gateway.request("GET", "/.well-known/takedown-log-key").text.strip()
        self.origin, self.public_key = tlog.parse_verifier_key(self.key_text)

    def checkpoint(self, note: str) -> tlog.Checkpoint:
        checkpoint = tlog.Checkpoint.parse(tlog.open_note(note, self.origin, self.public_key))
        assert checkpoint.origin == self.origin
        return checkpoint

    def sign_now(self) -> str:
        return self.gateway.request("POST", "/v1/log/checkpoint", token=self.token).text

    def tile_leaves(self, size: int) -> list[bytes]:
        """The leaf hashes of the first `size` entries, from the public level-0 tiles."""
        leaves: list[bytes] = []
        for index in range((size + 255) // 256):
            width = min(256, size - 256 * index)
            response = self.gateway.http.get(self.gateway.url + "/log/" + tlog.tile_path(0, index, width), timeout=30)
            assert response.status_code == 200, (index, width, response.text[:500])
            leaves += tlog.tile_hashes(response.content)
        assert len(leaves) == size
        return leaves

    def entries(self, size: int) -> list[dict]:
        found: list[dict] = []
        while len(found) < size:
            page = self.gateway.get_json("/v1/log/entries", self.token, params={"start": str(len(found)), "end": str(size)})
            assert page["entries"], page
            found += page["entries"]
        assert [e["index"] for e in found] == list(range(size))
        return found

    def proven(self, proofs: dict) -> tuple[tlog.Checkpoint, list[dict]]:
        """The proofs document's entries, each shown included in its signed checkpoint."""
        checkpoint = self.checkpoint(proofs["checkpoint"])
        for entry in proofs["entries"]:
            body = b64(entry["body"])
            proof = [b64(h) for h in entry["proof"]]
            if not tlog.verify_inclusion(tlog.leaf_hash(body), entry["index"], checkpoint.size, proof, checkpoint.root_hash):
                raise AssertionError(f"entry {entry['index']} is not included in the checkpoint of {checkpoint.size}")
            assert json.loads(body) == entry["entry"]
        return checkpoint, proofs["entries"]

    def notice_entries(self, notice: dict) -> set[bytes]:
        """A notice's entries as they must be, rebuilt from the staff view of the notice."""
        expected = {entry_bytes({"kind": "notice.issued", "notice": notice["id"], "at": notice["issued_at"],
                                 "jws_sha256": sha(notice["jws"])})}
        for step in notice["timeline"]:
            fields = {"kind": "notice.event", "notice": notice["id"], "event": step["event"], "at": step["at"],
                      "actor_sha256": sha(step["actor"])}
            if step.get("detail") is not None:
                fields["detail_sha256"] = sha(step["detail"])
            expected.add(entry_bytes(fields))
        return expected

    def check_notice(self, notice_id: str, token: str | None = None) -> tlog.Checkpoint:
        notice = self.gateway.get_json(f"/v1/notices/{notice_id}", self.token)
        proofs = self.gateway.get_json(f"/v1/notices/{notice_id}/proof", token or self.token)
        checkpoint, entries = self.proven(proofs)
        logged = {b64(e["body"]) for e in entries}
        if logged != self.notice_entries(notice):
            raise AssertionError(f"notice {notice_id}: the log and the record differ")
        return checkpoint

    def check_version(self, list_id: str, version: int, token: str | None = None) -> None:
        signed = self.gateway.get_json(f"/v1/hash-lists/{list_id}/versions/{version}/manifest", token or self.token)
        proofs = self.gateway.get_json(f"/v1/hash-lists/{list_id}/versions/{version}/proof", token or self.token)
        _, entries = self.proven(proofs)
        assert len(entries) == 1, entries
        fields = entries[0]["entry"]
        assert (fields["kind"], fields["list"], fields["version"]) == ("hash_list.version", list_id, str(version)), fields
        if fields["jws_sha256"] != sha(signed["jws"]):
            raise AssertionError(f"list {list_id} version {version}: the manifest is not the logged one")

    def check_changes(self, list_id: str, logged: list[dict]) -> int:
        """Every line of the list's change feed is a logged change, byte for byte."""
        response = self.gateway.request("GET", f"/v1/hash-lists/{list_id}/changes", token=self.token,
                                        accept="application/x-ndjson")
        lines = [line for line in response.content.split(b"\n") if line]
        assert lines, response.text[:500]
        by_seq = {e["entry"]["seq"]: e["entry"] for e in logged
                  if e["entry"]["kind"] == "hash_list.change" and e["entry"]["list"] == list_id}
        for line in lines:
            record = json.loads(line)
            entry = by_seq.get(str(record["seq"]))
            if entry is None or entry["line_sha256"] != sha(line) or entry["entry"] != record["entry_id"]:
                raise AssertionError(f"list {list_id} change {record['seq']}: the feed and the log differ")
        return len(lines)


class Run:
    """A gateway with two providers, a hash list, cases, answers, a withdrawal and two list versions."""

    def __init__(self, tmp_path: Path, store_env: dict[str, str]) -> None:
        self.store_env = store_env
        self.gateway = Gateway(tmp_path / "tlog", name="tlog", extra_env={
            **store_env, "TAKEDOWN_HASH_PUBLISH_INTERVAL_SECONDS": "0", "TAKEDOWN_LOG_CHECKPOINT_SECONDS": "1"})
        self.gateway.start()
        self.admin = self.gateway.admin_token
        self.auditor = Auditor(self.gateway, self.admin)
        s = tag()
        self.s = s
        self.one = self.gateway.create_partner(name=f"One {s}", locale="en", jurisdiction="GB", domains=[f"one-{s}.test"])
        self.two = self.gateway.create_partner(name=f"Two {s}", locale="de", jurisdiction="DE", domains=[f"two-{s}.test"])
        self.list = self.gateway.post_json("/v1/hash-lists", {
            "name": f"Log list {s}", "audience": "hosting_provider", "hash_types": ["sha256", "md5"],
            "include": {"uk_grades": ["A"]}, "partners": [self.one["id"]]}, self.admin)
        self.notices: list[str] = []
        self.checkpoints: list[str] = []

    def case(self) -> list[dict]:
        receipt = self.gateway.submit_case({
            "reference": f"TL-{tag()}", "category": {"uk_grade": "A", "classification": "A1"}, "media_type": "image",
            "items": [item(f"https://cdn.one-{self.s}.test/{tag()}.jpg"), item(f"https://cdn.two-{self.s}.test/{tag()}.jpg")],
        })
        self.notices += [n["id"] for n in receipt["notices"]]
        return receipt["notices"]

    def answer(self, notice: dict, path: str, body: dict | None = None) -> None:
        token = self.one["token"] if notice["partner_id"] == self.one["id"] else self.two["token"]
        self.gateway.request("POST", f"/v1/notices/{notice['id']}/{path}", token=token, body=body or {}, expect=200)

    def play(self) -> None:
        for _ in range(3):
            first, second = self.case()
            self.answer(first, "acknowledge")
            self.answer(second, "acknowledge")
            self.answer(first, "removal", {"action": "removed"})
        self.gateway.request("POST", f"/v1/hash-lists/{self.list['id']}/publish", token=self.admin, expect=201)
        self.checkpoints.append(self.auditor.sign_now())
        first, second = self.case()
        self.answer(first, "acknowledge")
        self.gateway.request("POST", f"/v1/notices/{second['id']}/withdraw", token=self.admin,
                             body={"reason": "sent in error"}, expect=200)
        self.case()
        self.gateway.request("POST", f"/v1/hash-lists/{self.list['id']}/publish", token=self.admin, expect=201)
        self.checkpoints.append(self.auditor.sign_now())

    def audit(self) -> dict:
        """Everything the auditor checks; returns what it counted."""
        auditor, counted = self.auditor, {}
        kept = [auditor.checkpoint(note) for note in self.checkpoints]
        assert kept[0].size < kept[1].size, [c.size for c in kept]
        latest = auditor.checkpoint(auditor.sign_now())
        leaves = auditor.tile_leaves(latest.size)
        for checkpoint in kept + [latest]:
            assert tlog.root(leaves[:checkpoint.size]) == checkpoint.root_hash, f"the tiles do not make the root of {checkpoint.size}"
        logged = auditor.entries(latest.size)
        for entry in logged:
            if tlog.leaf_hash(b64(entry["body"])) != leaves[entry["index"]]:
                raise AssertionError(f"entry {entry['index']} is not the leaf the tree holds")
        counted["entries"] = len(logged)
        for notice_id in self.notices:
            auditor.check_notice(notice_id)
        counted["notices"] = len(self.notices)
        for version in (1, 2):
            auditor.check_version(self.list["id"], version)
        counted["changes"] = auditor.check_changes(self.list["id"], logged)
        for older, newer in zip(kept, kept[1:] + [latest]):
            proof = self.gateway.get_json("/v1/log/consistency", self.admin,
                                          params={"first": str(older.size), "second": str(newer.size)})
            assert tlog.verify_consistency(older.size, newer.size, older.root_hash, newer.root_hash,
                                           [b64(h) for h in proof["proof"]]), (older.size, newer.size)
        return counted

    # direct database access, as someone rewriting the records would have it

    def sql(self, statement: str) -> None:
        url = self.store_env.get("TAKEDOWN_DATABASE_URL")
        if url:
            psql(url, statement)
        else:
            with sqlite3.connect(self.gateway.data_dir / "takedown.sqlite", timeout=30) as db:
                db.execute(statement)

    def verify_cli(self, tmp: Path, notice_id: str, *extra: str) -> subprocess.CompletedProcess:
        (tmp / "notice.json").write_text(json.dumps(self.gateway.get_json(f"/v1/notices/{notice_id}", self.admin)))
        (tmp / "jwks.json").write_text(json.dumps(self.gateway.jwks()))
        (tmp / "proofs.json").write_text(json.dumps(self.gateway.get_json(f"/v1/notices/{notice_id}/proof", self.admin)))
        (tmp / "log.key").write_text(self.auditor.key_text + "\n")
        return self.gateway.cli("verify", str(tmp / "notice.json"), "--jwks", str(tmp / "jwks.json"),
                                "--log", str(tmp / "proofs.json"), "--log-key", str(tmp / "log.key"), *extra, check=False)


@pytest.fixture
def run(tmp_path: Path, store_env) -> Run:
    run = Run(tmp_path, store_env)
    try:
        run.play()
        yield run
    finally:
        run.gateway.stop()


def test_the_live_log_verifies_offline(run: Run, tmp_path: Path):
    counted = run.audit()
    assert counted["notices"] == 10 and counted["changes"] >= 5 and counted["entries"] > 40, counted
    # A partner reads the proofs of its own notices, not another's; the proofs verify just the same.
    own = next(n for n in run.notices if run.gateway.get_json(f"/v1/notices/{n}", run.admin)["partner_id"] == run.one["id"])
    run.auditor.check_notice(own, token=run.one["token"])
    run.gateway.request("GET", f"/v1/notices/{own}/proof", token=run.two["token"], expect=404)
    run.auditor.check_version(run.list["id"], 2, token=run.one["token"])
    run.gateway.request("GET", f"/v1/hash-lists/{run.list['id']}/versions/2/proof", token=run.two["token"], expect=404)
    # takedown verify --log: the signature, inclusion, the checkpoint's signature, and consistency with a
    # checkpoint kept earlier.
    old = run.auditor.checkpoint(run.checkpoints[0])
    latest_note = run.gateway.get_json(f"/v1/notices/{own}/proof", run.admin)["checkpoint"]
    latest = run.auditor.checkpoint(latest_note)
    (tmp_path / "old.checkpoint").write_text(run.checkpoints[0])
    (tmp_path / "consistency.json").write_text(json.dumps(run.gateway.get_json(
        "/v1/log/consistency", run.admin, params={"first": str(old.size), "second": str(latest.size)})))
    result = run.verify_cli(tmp_path, own, "--since", str(tmp_path / "old.checkpoint"),
                            "--consistency", str(tmp_path / "consistency.json"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "signed by the log's key" in result.stdout and f"extends the checkpoint of {old.size}" in result.stdout, result.stdout
    assert result.stdout.count("logged at index") == 1 + len(run.gateway.get_json(f"/v1/notices/{own}", run.admin)["timeline"])
    # A manifest and its proofs.
    signed = run.gateway.get_json(f"/v1/hash-lists/{run.list['id']}/versions/1/manifest", run.admin)
    (tmp_path / "manifest.json").write_text(json.dumps(signed))
    (tmp_path / "version.json").write_text(json.dumps(run.gateway.get_json(f"/v1/hash-lists/{run.list['id']}/versions/1/proof", run.admin)))
    result = run.gateway.cli("verify", str(tmp_path / "manifest.json"), "--jwks", str(tmp_path / "jwks.json"),
                             "--log", str(tmp_path / "version.json"), "--log-key", str(tmp_path / "log.key"), check=False)
    assert result.returncode == 0 and "version 1: logged at index" in result.stdout, result.stdout + result.stderr
    # A checkpoint alone, against an older one.
    (tmp_path / "latest.checkpoint").write_text(latest_note)
    result = run.gateway.cli("verify", "--checkpoint", str(tmp_path / "latest.checkpoint"), "--log-key", run.auditor.key_text,
                             "--since", str(tmp_path / "old.checkpoint"), "--consistency", str(tmp_path / "consistency.json"), check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def acknowledged(run: Run) -> str:
    return next(n for n in run.notices
                if any(s["event"] == "acknowledged" for s in run.gateway.get_json(f"/v1/notices/{n}", run.admin)["timeline"]))


def expect_cli_refuses(run: Run, tmp_path: Path, notice_id: str) -> str:
    result = run.verify_cli(tmp_path, notice_id)
    assert result.returncode == 1 and "INVALID" in result.stderr, result.stdout + result.stderr
    return result.stderr


def body_sql(postgres: bool) -> tuple[str, str]:
    """The entry's bytes as text, and those bytes with `acknowledged` made `removed`, in each dialect."""
    if postgres:
        text = "convert_from(body, 'UTF8')"
        return text, f"convert_to(replace({text}, 'acknowledged', 'removed'), 'UTF8')"
    return "CAST(body AS TEXT)", "CAST(replace(CAST(body AS TEXT), 'acknowledged', 'removed') AS BLOB)"


def tampering(change: str, run: Run, n: str, postgres: bool) -> list[str]:
    text, rewritten = body_sql(postgres)
    if change == "answer changed":  # an answer's time moved by a second
        return [f"UPDATE notice_events SET at = at + 1 WHERE notice_id = '{n}' AND event = 'acknowledged'"]
    if change == "answer deleted":
        return [f"DELETE FROM notice_events WHERE notice_id = '{n}' AND event = 'acknowledged'"]
    if change == "answers reordered":  # the issue and the acknowledgement swap places in the timeline
        return [f"UPDATE notice_events SET event = CASE event WHEN 'issued' THEN 'acknowledged' ELSE 'issued' END "
                f"WHERE notice_id = '{n}' AND event IN ('issued', 'acknowledged')"]
    if change == "log entry changed":
        return [f"UPDATE log_entries SET body = {rewritten} WHERE subject = '{n}' AND {text} LIKE '%acknowledged%'"]
    if change == "log entry deleted":
        return [f"DELETE FROM log_entries WHERE subject = '{n}' AND {text} LIKE '%acknowledged%'"]
    if change == "log entries reordered":  # the notice's first two entries swap places in the tree
        first, second = [e["index"] for e in run.gateway.get_json(f"/v1/notices/{n}/proof", run.admin)["entries"][:2]]
        table = "log_leaves" if postgres else "log_entries"  # PostgreSQL keeps the tree's order apart
        return [f"UPDATE {table} SET leaf_index = -1 WHERE leaf_index = {first}",
                f"UPDATE {table} SET leaf_index = {first} WHERE leaf_index = {second}",
                f"UPDATE {table} SET leaf_index = {second} WHERE leaf_index = -1"]
    raise KeyError(change)


CHANGES = ["answer changed", "answer deleted", "answers reordered", "log entry changed", "log entry deleted",
           "log entries reordered"]


@pytest.mark.parametrize("change", CHANGES)
def test_records_changed_in_the_database_are_caught(run: Run, tmp_path: Path, change: str):
    notice_id = acknowledged(run)
    run.auditor.check_notice(notice_id)
    assert run.verify_cli(tmp_path, notice_id).returncode == 0
    for statement in tampering(change, run, notice_id, "TAKEDOWN_DATABASE_URL" in run.store_env):
        run.sql(statement)
    with pytest.raises(AssertionError):
        run.auditor.check_notice(notice_id)
    expect_cli_refuses(run, tmp_path, notice_id)


def test_a_notice_document_swapped_in_the_database_is_caught(run: Run, tmp_path: Path):
    """Another notice's JWS carries a valid signature; only the log shows it is not this notice's."""
    notice_id, other = run.notices[0], run.notices[2]
    postgres = "TAKEDOWN_DATABASE_URL" in run.store_env
    if postgres:
        run.sql(f"UPDATE notices SET jws = (SELECT jws FROM notices WHERE id = '{other}') WHERE id = '{notice_id}'")
    else:
        run.sql(f"UPDATE notice_documents SET jws = (SELECT d.jws FROM notice_documents d JOIN notices n ON n.position = d.position "
                f"WHERE n.id = '{other}') WHERE position = (SELECT position FROM notices WHERE id = '{notice_id}')")
    with pytest.raises(AssertionError):
        run.auditor.check_notice(notice_id)
    result = run.verify_cli(tmp_path, notice_id)
    assert result.returncode == 1 and "SHA-256" in result.stderr, result.stdout + result.stderr


def test_a_list_entry_changed_in_the_database_is_caught(run: Run, tmp_path: Path):
    """A published version's entry regraded in the database: the change feed no longer matches the log (the
    auditor), and the version's export no longer matches the manifest the log holds (`takedown verify --log
    --export`)."""
    list_id = run.list["id"]
    logged = run.auditor.entries(run.auditor.checkpoint(run.auditor.sign_now()).size)
    run.auditor.check_changes(list_id, logged)
    (tmp_path / "manifest.json").write_text(json.dumps(run.gateway.get_json(f"/v1/hash-lists/{list_id}/versions/1/manifest", run.admin)))
    (tmp_path / "version.json").write_text(json.dumps(run.gateway.get_json(f"/v1/hash-lists/{list_id}/versions/1/proof", run.admin)))
    (tmp_path / "jwks.json").write_text(json.dumps(run.gateway.jwks()))
    (tmp_path / "log.key").write_text(run.auditor.key_text)

    def verify_export() -> subprocess.CompletedProcess:
        export = run.gateway.request("GET", f"/v1/hash-lists/{list_id}/versions/1/export", token=run.admin,
                                     params={"format": "ndjson"})
        (tmp_path / "export.ndjson").write_bytes(export.content)
        return run.gateway.cli("verify", str(tmp_path / "manifest.json"), "--jwks", str(tmp_path / "jwks.json"),
                               "--export", str(tmp_path / "export.ndjson"), "--log", str(tmp_path / "version.json"),
                               "--log-key", str(tmp_path / "log.key"), check=False)

    good = verify_export()
    assert good.returncode == 0 and "version 1: logged at index" in good.stdout, good.stdout + good.stderr
    postgres = "TAKEDOWN_DATABASE_URL" in run.store_env
    line_sql = ("convert_to(replace(convert_from(line, 'UTF8'), '\"uk_grade\":\"A\"', '\"uk_grade\":\"B\"'), 'UTF8')"
                if postgres else "CAST(replace(CAST(line AS TEXT), '\"uk_grade\":\"A\"', '\"uk_grade\":\"B\"') AS BLOB)")
    run.sql(f"UPDATE hash_list_changes SET uk_grade = 'B', line = {line_sql} WHERE list_id = '{list_id}' AND seq = 1")
    with pytest.raises(AssertionError):
        run.auditor.check_changes(list_id, logged)
    bad = verify_export()
    assert bad.returncode == 1 and "INVALID" in bad.stderr, bad.stdout + bad.stderr


def test_a_rewritten_history_fails_against_a_kept_checkpoint(run: Run, tmp_path: Path):
    """Someone with the database and the log's key rewrites an answer, its entry and the whole tree, drops
    the kept checkpoints and signs anew: every proof is then consistent with the new root, but not with the
    checkpoint a partner kept."""
    kept = run.auditor.checkpoint(run.checkpoints[1])
    notice_id = acknowledged(run)
    postgres = "TAKEDOWN_DATABASE_URL" in run.store_env
    for statement in tampering("log entry changed", run, notice_id, postgres):
        run.sql(statement)
    run.sql(f"UPDATE notice_events SET event = 'removed' WHERE notice_id = '{notice_id}' AND event = 'acknowledged'")
    # Rebuild every node from the entries, as the rewriter would.
    size = run.auditor.checkpoint(run.auditor.sign_now()).size
    bodies = [b64(e["body"]) for e in run.auditor.entries(size)]
    leaves = [tlog.leaf_hash(b) for b in bodies]
    nodes = []
    level, row = 0, leaves
    while row:
        nodes += [(level, i, h) for i, h in enumerate(row)]
        row = [tlog.node_hash(row[i], row[i + 1]) for i in range(0, len(row) - 1, 2)]
        level += 1
    run.sql("DELETE FROM log_nodes")
    hexed = (lambda h: f"'\\x{h.hex()}'::bytea") if postgres else (lambda h: f"X'{h.hex()}'")
    for start in range(0, len(nodes), 400):
        values = ", ".join(f"({l}, {i}, {hexed(h)})" for l, i, h in nodes[start:start + 400])
        run.sql(f"INSERT INTO log_nodes (level, idx, hash) VALUES {values}")
    run.sql("DELETE FROM log_checkpoints")
    forged = run.auditor.checkpoint(run.auditor.sign_now())
    assert forged.size >= kept.size
    run.auditor.check_notice(notice_id)  # the rewritten record now agrees with the rewritten log...
    proof = run.gateway.get_json("/v1/log/consistency", run.admin, params={"first": str(kept.size), "second": str(forged.size)})
    assert not tlog.verify_consistency(kept.size, forged.size, kept.root_hash, forged.root_hash, [b64(h) for h in proof["proof"]])
    # ...and `takedown verify --log --since` says the tree does not extend the kept checkpoint.
    (tmp_path / "kept.checkpoint").write_text(run.checkpoints[1])
    (tmp_path / "consistency.json").write_text(json.dumps(proof))
    (tmp_path / "forged.checkpoint").write_text(run.gateway.request("GET", "/log/checkpoint").text)
    result = run.gateway.cli("verify", "--checkpoint", str(tmp_path / "forged.checkpoint"), "--log-key", run.auditor.key_text,
                             "--since", str(tmp_path / "kept.checkpoint"), "--consistency", str(tmp_path / "consistency.json"), check=False)
    assert result.returncode == 1 and "does not extend" in result.stderr, result.stdout + result.stderr


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="TAKEDOWN_TEST_DATABASE_URL is not set")
def test_instances_on_one_postgresql_append_to_one_tree(gateway_factory, tmp_path: Path):
    """Three instances on one database take cases and answers at once, each sequencing and signing on its
    own clock (every 50 ms) and on request: one tree results, every notice and answer in it once, no gap,
    and every checkpoint any instance signed is consistent with the one before."""
    with fresh_database("takedown_tlog") as url:
        env = {"TAKEDOWN_DATABASE_URL": url, "TAKEDOWN_LOG_CHECKPOINT_SECONDS": "0.05",
               "TAKEDOWN_HASH_PUBLISH_INTERVAL_SECONDS": "0"}
        shared = tmp_path / "shared-data"
        gateways = []
        for n in range(3):
            gateway = gateway_factory(f"tlog{n}", start=False, extra_env=env)
            gateway.data_dir = shared  # one sealing key for all
            if gateways:
                gateway.admin_token = gateways[0].admin_token
            gateway.start()
            gateways.append(gateway)
        first = gateways[0]
        s = tag()
        partner = first.create_partner(name=f"Tree {s}", locale="en", jurisdiction="GB", domains=[f"tree-{s}.test"])
        auditor = Auditor(first, first.admin_token)
        notes: list[str] = []
        lock = threading.Lock()
        stop = threading.Event()

        def flow(n: int) -> list[str]:
            gateway = gateways[n % 3]
            session = requests.Session()
            session.trust_env = False
            issued = []
            for index in range(20):
                body = {"reference": f"TREE-{n}-{index}", "category": {"uk_grade": "A"}, "media_type": "image",
                        "items": [item(f"https://cdn.tree-{s}.test/{n}-{index}.jpg", full=False)]}
                response = session.post(gateway.url + "/v1/cases", json=body, timeout=30,
                                        headers={"Authorization": f"Bearer {first.admin_token}"})
                assert response.status_code == 201, response.text[:500]
                notice = response.json()["notices"][0]["id"]
                answer = session.post(gateways[(n + 1) % 3].url + f"/v1/notices/{notice}/acknowledge", json={},
                                      headers={"Authorization": f"Bearer {partner['token']}"}, timeout=30)
                assert answer.status_code == 200, answer.text[:500]
                issued.append(notice)
            return issued

        def sign() -> None:
            index = 0
            while not stop.is_set():
                note = gateways[index % 3].request("POST", "/v1/log/checkpoint", token=first.admin_token).text
                with lock:
                    notes.append(note)
                index += 1

        signer = threading.Thread(target=sign, name="signer")
        signer.start()
        try:
            with ThreadPoolExecutor(6) as pool:
                notices = [n for part in pool.map(flow, range(6)) for n in part]
        finally:
            stop.set()
            signer.join(timeout=60)
        assert not signer.is_alive()
        notes.append(auditor.sign_now())
        # The checkpoints each instance kept on its clock, too.
        sizes = sorted({auditor.checkpoint(note).size for note in notes})
        assert len(sizes) > 3, sizes
        by_size: dict[int, tlog.Checkpoint] = {}
        for note in notes:
            checkpoint = auditor.checkpoint(note)
            assert by_size.setdefault(checkpoint.size, checkpoint).root_hash == checkpoint.root_hash, "a fork"
        for size in sizes:
            kept = first.request("GET", "/v1/log/checkpoint", token=first.admin_token, params={"size": str(size)}).text
            assert auditor.checkpoint(kept).root_hash == by_size[size].root_hash
        for older, newer in zip(sizes, sizes[1:]):
            proof = gateways[older % 3].get_json("/v1/log/consistency", first.admin_token,
                                                 params={"first": str(older), "second": str(newer)})
            assert tlog.verify_consistency(older, newer, by_size[older].root_hash, by_size[newer].root_hash,
                                           [b64(h) for h in proof["proof"]]), (older, newer)
        latest = by_size[sizes[-1]]
        logged = auditor.entries(latest.size)  # indexes 0 … size-1, no gap
        assert tlog.root([tlog.leaf_hash(b64(e["body"])) for e in logged]) == latest.root_hash
        assert tlog.root(auditor.tile_leaves(latest.size)) == latest.root_hash
        issued = [e["entry"]["notice"] for e in logged if e["entry"]["kind"] == "notice.issued"]
        assert sorted(issued) == sorted(notices), "a notice logged twice or not at all"
        acknowledged = [e["entry"]["notice"] for e in logged
                        if e["entry"]["kind"] == "notice.event" and e["entry"]["event"] == "acknowledged"]
        assert sorted(acknowledged) == sorted(notices), "an answer logged twice or not at all"
        for notice in notices[::10]:
            auditor.check_notice(notice)
        for gateway in gateways:
            gateway.stop()
