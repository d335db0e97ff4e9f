"""Smoke test of ``benchmarks.journey_speed`` at tiny sizes, on PostgreSQL (no timing is
asserted: the figures are the benchmark's to print). It runs in a subprocess in a database
of its own, dropped at the end; skipped without a PostgreSQL DATABASE_URL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
DATABASE_URL = os.environ.get("DATABASE_URL", "")

pytestmark = pytest.mark.skipif(
    urlsplit(DATABASE_URL).scheme not in {"postgres", "postgresql", "pgsql"},
    reason="the journey speed benchmark needs DATABASE_URL=postgres://...",
)


def test_benchmark_times_every_stage_and_drops_its_database(tmp_path):
    output = tmp_path / "journeys.json"
    database = f"bench_journeys_smoke_{os.getpid()}"
    command = [
        sys.executable, "-m", "benchmarks.journey_speed", "--sizes", "300,600",
        "--journeys", "3", "--length", "5", "--served", "20", "--played", "5",
        "--database-name", database, "--json", str(output),
    ]  # fmt: skip
    result = subprocess.run(
        command, cwd=REPO_ROOT, env=dict(os.environ), capture_output=True, text=True, timeout=180
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    report = json.loads(output.read_text())
    assert [size["tracks"] for size in report["sizes"]] == [300, 600]
    for size in report["sizes"]:
        for stage in ("candidates", "plan", "planned", "service"):
            assert size[stage]["max_ms"] >= size[stage]["p95_ms"] >= size[stage]["p50_ms"] > 0
        assert size["journeys"] == 3 and size["mean_candidates_fetched"] > 0
        # Which scan PostgreSQL picks depends on the size (a sequential one for 300 rows).
        assert size["explain"]["node_types"] and size["explain"]["execution_ms"] > 0

    import psycopg

    parts = urlsplit(DATABASE_URL)
    admin_url = urlunsplit(("postgresql", parts.netloc, parts.path, parts.query, ""))
    with psycopg.connect(admin_url) as admin:
        left = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchall()
    assert left == [], f"the benchmark left its database {database} behind"
