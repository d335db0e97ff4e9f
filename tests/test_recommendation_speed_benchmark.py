"""Smoke test of ``benchmarks.recommendation_speed`` at tiny sizes, on PostgreSQL.

The benchmark runs in a subprocess and works in a database of its own (created on
DATABASE_URL's server, dropped at the end), so pytest-django's test database is never touched.
It is skipped without a PostgreSQL DATABASE_URL: the benchmark refuses anything else.
"""

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
    reason="the recommendation speed benchmark needs DATABASE_URL=postgres://...",
)


def test_benchmark_measures_every_figure_and_drops_its_database(tmp_path):
    output = tmp_path / "speed.json"
    database = f"bench_recommendations_smoke_{os.getpid()}"
    command = [
        sys.executable, "-m", "benchmarks.recommendation_speed",
        "--sizes", "150,300", "--plays-per-track", "4", "--listeners-per-track", "0.1",
        "--segments", "4", "--train-epochs", "1", "--workers", "1", "--concurrency", "2",
        "--requests", "8", "--cold-requests", "2", "--ingest-plays", "100",
        "--ingest-batch-sizes", "50", "--database-name", database, "--json", str(output),
    ]  # fmt: skip
    result = subprocess.run(
        command, cwd=REPO_ROOT, env=dict(os.environ), capture_output=True, text=True, timeout=180
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "growth with the catalogue" in result.stdout

    report = json.loads(output.read_text())
    assert [size["tracks"] for size in report["sizes"]] == [150, 300]
    assert report["machine"]["postgresql"]
    for size in report["sizes"]:
        assert size["plays"] == 4 * size["tracks"]
        assert size["listeners"] == size["tracks"] // 10  # listeners grow with the catalogue
        assert size["batch_mood_inference"]["listeners_per_second"] > 0
        for kind in ("warm_1_client", "warm", "cold_1_client", "cold"):
            figures = size["recommendations"][kind]
            assert figures["errors"] == 0 and figures["p95_ms"] >= figures["p50_ms"] > 0
        for figures in size["ingestion"]:
            assert figures["errors"] == 0
            assert figures["accepted"] == figures["plays_sent"] and figures["plays_per_second"] > 0
    assert report["summary"]["tracks"] == [150, 300]

    import psycopg

    parts = urlsplit(DATABASE_URL)
    admin_url = urlunsplit(("postgresql", parts.netloc, parts.path, parts.query, ""))
    with psycopg.connect(admin_url) as admin:
        left = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchall()
    assert left == [], f"the benchmark left its database {database} behind"
