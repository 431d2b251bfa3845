"""Schemathesis (generated requests from Schemas/openapi.json) against a live gateway, stateful links included.

Two runs against one gateway, one with an admin token and one with a partner token, each bounded in
examples and time. Every phase runs: the document's examples, coverage (boundary and invalid values of
every parameter and body), fuzzing, and stateful sequences that follow the document's `links` (a partner
created, then read, changed, given a token that is revoked; a case submitted, then its notice read,
withdrawn and its deliveries listed; a hash list created, filled, published, its manifest and export read…).

The checks: no 5xx (`not_a_server_error`), and no answer that breaks the document: its status is documented
(`status_code_conformance`), its Content-Type is one the response lists (`content_type_conformance`), its
documented headers are there and valid (`response_headers_conformance`), its body validates
(`response_schema_conformance`). Schemathesis' own state (cache, example database, reports) goes to the
test's temporary folder, never the repository.

TAKEDOWN_SCHEMATHESIS_SECONDS sets the budget of the admin run (default 75 s; the partner run gets 60 %
of it), TAKEDOWN_SCHEMATHESIS_SEED the seed (default fixed, so a run can be repeated).
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


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory):
    """A gateway with a partner that has a notice and a granted, published hash list."""
    gateway = Gateway(tmp_path_factory.mktemp("schemathesis"), name="schemathesis", extra_env={
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


def run_schemathesis(gateway: Gateway, token: str, workdir: Path, seconds: float) -> tuple[int, str, float]:
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "schemathesis.toml"
    config.write_text(f'[cache]\ndirectory = "{workdir / "cache"}"\n', encoding="utf-8")
    command = [
        sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "run", str(SCHEMAS_DIR / "openapi.json"),
        "--url", gateway.url,
        "--header", f"Authorization: Bearer {token}",
        "--checks", CHECKS,
        "--phases", "examples,coverage,fuzzing,stateful",
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
    env = {k: v for k, v in os.environ.items() if k not in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")}
    env["NO_PROXY"] = "127.0.0.1,localhost"
    started = time.monotonic()
    result = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True, timeout=seconds + 240)
    output = result.stdout + result.stderr
    (workdir / "output.txt").write_text(output, encoding="utf-8")
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
    rc, output, elapsed = run_schemathesis(gateway, token, tmp_path / role, seconds)
    assert gateway.proc is not None and gateway.proc.poll() is None, (
        f"the gateway died during the {role} run\n{gateway.log_tail(60)}\n{summary_of(output)}")
    assert rc == 0, f"schemathesis ({role} token, {elapsed:.0f} s) found problems:\n{summary_of(output)}"
