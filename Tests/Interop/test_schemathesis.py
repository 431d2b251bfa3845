"""Schemathesis (generated requests from Schemas/openapi.json) against a live gateway, stateful links included.

Two runs, one with an admin token and one with a partner token, each against its own gateway and bounded
in examples and time (40 % of it for examples and coverage, 30 % for fuzzing, 30 % for the stateful phase,
each phase a schemathesis run of its own so that none can starve the next). Every phase runs: the document's examples, coverage (boundary and invalid values of
every parameter and body), fuzzing, and stateful sequences that follow the document's `links` (a partner
created, then read, changed, given a token that is revoked; a case submitted, then its notice read,
withdrawn and its deliveries listed; a hash list created, filled, published, its manifest and export read…).

The checks: no 5xx (`not_a_server_error`), and no answer that breaks the document: its status is documented
(`status_code_conformance`), its Content-Type is one the response lists (`content_type_conformance`), its
documented headers are there and valid (`response_headers_conformance`), its body validates
(`response_schema_conformance`). Schemathesis' own state (cache, example database, reports) goes to the
test's temporary folder, never the repository.

TAKEDOWN_SCHEMATHESIS_SECONDS sets the budget of the admin run (default 75 s; the partner run gets 60 %
of it), TAKEDOWN_SCHEMATHESIS_SEED the seed (default fixed, so a run can be repeated),
TAKEDOWN_SCHEMATHESIS_KEEP a folder that keeps each run's whole report.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import SCHEMAS_DIR, Gateway, item, tag

CHECKS = ",".join([
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
])
BUDGET = float(os.environ.get("TAKEDOWN_SCHEMATHESIS_SECONDS", "75"))
SEED = os.environ.get("TAKEDOWN_SCHEMATHESIS_SEED", "20261202")
MAX_EXAMPLES = os.environ.get("TAKEDOWN_SCHEMATHESIS_MAX_EXAMPLES", "40")


@pytest.fixture
def live(tmp_path: Path):
    """A gateway (one per run, so what the admin run does cannot lock the partner run out) with a partner
    that has a notice and a granted, published hash list."""
    gateway = Gateway(tmp_path / "gateway", name="schemathesis", extra_env={
        "TAKEDOWN_RATE_LIMITS": "off",
        "TAKEDOWN_RETRY_SCHEDULE": "0",
        "TAKEDOWN_MAX_HEAVY_PER_PARTNER": "64",
    })
    try:
        gateway.start()
        s = tag()
        partner = gateway.create_partner(name=f"Schemathesis Hosting {s}", locale="en", jurisdiction="GB",
                                         domains=[f"st-{s}.test"], ip_ranges=["198.51.100.0/24"])
        gateway.submit_case({
            "reference": f"ST-{s}", "category": {"uk_grade": "A", "classification": "A1"}, "media_type": "image",
            "items": [item(f"https://cdn.st-{s}.test/{tag()}.jpg", ip="198.51.100.7"), item(f"https://unrouted-{s}.test/x.jpg")],
        })
        hash_list = gateway.post_json("/v1/hash-lists", {
            "name": f"Schemathesis list {s}", "audience": "hosting_provider", "hash_types": ["sha256", "md5"],
            "include": {"uk_grades": ["A"]}, "partners": [partner["id"]]}, gateway.admin_token)
        gateway.request("POST", f"/v1/hash-lists/{hash_list['id']}/publish", token=gateway.admin_token, expect=None)
        yield gateway, partner["token"]
    finally:
        gateway.stop()


def run_schemathesis(gateway: Gateway, token: str, workdir: Path, seconds: float, phases: str,
                     exclude: tuple[str, ...] = ()) -> tuple[int, str, float]:
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "schemathesis.toml"
    config.write_text(f'[cache]\ndirectory = "{workdir / "cache"}"\n', encoding="utf-8")
    command = [
        sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "run", str(SCHEMAS_DIR / "openapi.json"),
        "--url", gateway.url,
        "--header", f"Authorization: Bearer {token}",
        "--checks", CHECKS,
        "--phases", phases,
        "--max-examples", MAX_EXAMPLES,
        "--max-time", str(int(seconds)),
        "--seed", SEED,
        "--workers", "1",  # CPython 3.11.7 races in ast.parse (hypothesis) with several workers
        "--request-timeout", "15",
        "--generation-database", "none",
        "--report", "junit",
        "--report-dir", str(workdir / "report"),
        "--no-color",
    ]
    for operation_id in exclude:
        command += ["--exclude-operation-id", operation_id]
    env = {k: v for k, v in os.environ.items() if k not in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")}
    env["NO_PROXY"] = "127.0.0.1,localhost"
    # schemathesis_hooks.py: a serializer for the peers' `application/jose` bodies.
    env["SCHEMATHESIS_HOOKS"] = "schemathesis_hooks"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path(__file__).parent), env.get("PYTHONPATH")]))
    started = time.monotonic()
    result = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True, timeout=seconds + 240)
    output = result.stdout + result.stderr
    (workdir / "output.txt").write_text(output, encoding="utf-8")
    keep = os.environ.get("TAKEDOWN_SCHEMATHESIS_KEEP")  # a folder to keep the whole report in
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        (Path(keep) / f"{workdir.parent.name}-{workdir.name}.txt").write_text(output, encoding="utf-8")
    return result.returncode, output, time.monotonic() - started


def summary_of(output: str) -> str:
    """The failures section and the closing lines of schemathesis' report, without the token."""
    start = output.find("FAILURES")
    text = output[start:] if start >= 0 else output[-12000:]
    return re.sub(r"tdk_[A-Za-z0-9_-]+", "tdk_…", text)[-20000:]


@pytest.mark.parametrize("role", ["admin", "partner"])
def test_schemathesis_finds_no_server_error_and_no_response_that_breaks_the_document(live, role, tmp_path):
    gateway, partner_token = live
    token = gateway.admin_token if role == "admin" else partner_token
    seconds = BUDGET if role == "admin" else max(10.0, BUDGET * 0.6)
    # The admin run lists the tokens (its own among them) and would revoke them: its requests would all be
    # 401 from then on. Revocation itself is exercised by test_openapi.py, malformed ids by test_hostile.py.
    exclude = ("revokeToken",) if role == "admin" else ()
    # One run per phase, each with its share of the budget, so that a slow coverage phase (on a busy machine)
    # cannot starve fuzzing and the stateful sequences.
    problems = []
    for phases, share in (("examples,coverage", 0.4), ("fuzzing", 0.3), ("stateful", 0.3)):
        rc, output, elapsed = run_schemathesis(gateway, token, tmp_path / role / phases.split(",")[-1],
                                               max(8.0, seconds * share), phases, exclude)
        assert gateway.proc is not None and gateway.proc.poll() is None, (
            f"the gateway died during the {role} run ({phases})\n{gateway.log_tail(60)}\n{summary_of(output)}")
        still = gateway.request("GET", "/v1/notices?limit=1", token=token, expect=None).status_code
        assert still == 200, f"the {role} token stopped working during the run ({still}), so most of it tested nothing"
        if "No tests were run" in output:
            problems.append(f"{phases} ({role}): a phase ran no test in {elapsed:.0f} s")
        if rc != 0:
            problems.append(f"schemathesis {phases} ({role} token, {elapsed:.0f} s) found problems:\n{summary_of(output)}")
    assert not problems, "\n\n".join(problems)
