"""Benchmark feature extraction (decode included) on real clips, on one core.

Usage, from the repository root::

    python -m benchmarks.feature_extraction [--dataset PATH] [--limit N] [--json OUT]
        [--feature-set lld50-v1 --feature-set lld50-musicnn-v1]

Every feature set (by default the seed's LLDs alone and LLDs + musicnn embeddings) is
measured in a fresh process of its own, so each peak RSS is that of a worker extracting only
that set, and the figures are printed side by side. Speed is seconds of audio per
CPU-second (``time.process_time`` around each ``analyse_audio`` call, so decode is included
and other load on the machine does not count). Thread pools (BLAS, OpenMP, numba, torch) are
pinned to one thread *before* numpy/librosa/torch are imported, because they read these
variables only at start-up. The first-call cost (``warm_up()`` in the fresh process: lazy
imports, numba, FFT plans, loading the musicnn weights) is measured and reported separately
and excluded from the speed figures, as a worker pays it once at start-up.
"""

from __future__ import annotations

import os

for _variable in (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "NUMBA_NUM_THREADS",
):
    os.environ[_variable] = "1"

import argparse  # noqa: E402
import csv  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import psutil  # noqa: E402
from tqdm import tqdm  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATASET = REPO_ROOT / ".." / "shared" / "datasets" / "4q"


DEFAULT_FEATURE_SETS = ("lld50-v1", "lld50-musicnn-v1")


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    if not _clips(args.dataset, args.limit):
        print(f"no clips found under {args.dataset}", file=sys.stderr)
        return 1
    if args.in_process:
        return _measure(args)

    reports, status = [], 0
    for feature_set_version in args.feature_set or DEFAULT_FEATURE_SETS:
        with tempfile.TemporaryDirectory() as scratch:
            out = Path(scratch) / "report.json"
            command = [
                sys.executable, "-m", "benchmarks.feature_extraction", "--in-process",
                "--dataset", str(args.dataset), "--feature-set", feature_set_version,
                "--json", str(out),
                *(["--limit", str(args.limit)] if args.limit else []),
            ]  # fmt: skip
            status = max(status, subprocess.run(command, cwd=REPO_ROOT, check=False).returncode)
            if out.is_file():
                reports.append(json.loads(out.read_text()))
    _print_side_by_side(reports)
    if args.json:
        args.json.write_text(json.dumps(reports, indent=2) + "\n", encoding="utf-8")
    return status


def _measure(args: argparse.Namespace) -> int:
    """One feature set, in this process."""
    (feature_set_version,) = args.feature_set
    clips = _clips(args.dataset, args.limit)
    import_started = time.perf_counter()
    from emotion.features import analyse_audio, warm_up

    import_seconds = time.perf_counter() - import_started
    warm_up_seconds = warm_up(feature_set_version=feature_set_version)

    audio_seconds, cpu_seconds, failures = [], [], []
    for path in tqdm(clips, unit="clip", desc=f"extracting {feature_set_version}"):
        try:
            analysis = analyse_audio(path, feature_set_version=feature_set_version)
        except Exception as error:  # noqa: BLE001 - a benchmark reports, it doesn't stop
            failures.append(f"{path.name}: {error}")
            continue
        audio_seconds.append(analysis.audio_seconds)
        cpu_seconds.append(analysis.cpu_seconds)

    report = _report(
        np.array(audio_seconds), np.array(cpu_seconds), import_seconds, warm_up_seconds
    )
    report.update(
        dataset=str(args.dataset.resolve()),
        feature_set_version=feature_set_version,
        failures=failures,
    )
    _print(report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0 if not failures else 2


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    parser.add_argument("--limit", type=int, default=None, help="use the first N clips only")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument(
        "--feature-set",
        action="append",
        help=f"repeatable; default: {' and '.join(DEFAULT_FEATURE_SETS)}",
    )
    parser.add_argument("--in-process", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def _clips(dataset: Path, limit: int | None) -> list[Path]:
    """Clips listed in metadata.csv if present, otherwise every audio file, sorted."""
    metadata = dataset / "metadata.csv"
    if metadata.is_file():
        with open(metadata, encoding="utf-8", newline="") as handle:
            clips = [dataset / row["path"] for row in csv.DictReader(handle)]
    else:
        suffixes = {".mp3", ".wav", ".flac", ".ogg", ".opus"}
        clips = sorted(p for p in dataset.rglob("*") if p.suffix.lower() in suffixes)
    return clips[:limit] if limit else clips


def _report(
    audio: np.ndarray, cpu: np.ndarray, import_seconds: float, warm_up_seconds: float
) -> dict[str, object]:
    per_clip = audio / np.maximum(cpu, 1e-9)
    return {
        "clips": int(audio.size),
        "audio_seconds": float(audio.sum()),
        "cpu_seconds": float(cpu.sum()),
        "speed_x_realtime": float(audio.sum() / cpu.sum()) if audio.size else 0.0,
        "median_clip_speed_x_realtime": float(np.median(per_clip)) if audio.size else 0.0,
        "p5_clip_speed_x_realtime": float(np.percentile(per_clip, 5)) if audio.size else 0.0,
        "median_clip_cpu_ms": float(np.median(cpu) * 1000) if audio.size else 0.0,
        "peak_rss_mib": _peak_rss_mib(),
        "import_seconds": import_seconds,
        "warm_up_seconds": warm_up_seconds,
        "threads_env": {k: os.environ[k] for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")},
        "torch_threads": _torch_threads(),
        "cpu_model": _cpu_model(),
    }


def _torch_threads() -> int | None:
    torch = sys.modules.get("torch")
    return torch.get_num_threads() if torch else None


def _peak_rss_mib() -> float:
    # ru_maxrss is in KiB on Linux; psutil's current RSS is a fallback lower bound.
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    current_mib = psutil.Process().memory_info().rss / 2**20
    return max(peak_kib / 1024, current_mib)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def _print(report: dict[str, object]) -> None:
    print(f"feature set        {report['feature_set_version']}  ({report['dataset']})")
    print(f"clips              {report['clips']}")
    print(f"audio              {report['audio_seconds']:.1f} s")
    print(f"CPU                {report['cpu_seconds']:.2f} s  (decode + extraction, 1 thread)")
    print(f"speed overall      {report['speed_x_realtime']:.0f}x real time")
    print(
        f"speed per clip     median {report['median_clip_speed_x_realtime']:.0f}x, "
        f"p5 {report['p5_clip_speed_x_realtime']:.0f}x "
        f"(median {report['median_clip_cpu_ms']:.1f} ms CPU per clip)"
    )
    print(f"peak RSS           {report['peak_rss_mib']:.0f} MiB")
    print(
        f"first call         import {report['import_seconds']:.2f} s + "
        f"warm_up() {report['warm_up_seconds']:.2f} s (excluded from speed)"
    )
    print(f"CPU model          {report['cpu_model']}")
    failures = report["failures"]
    if failures:
        print(f"failures           {len(failures)}")
        for line in failures[:10]:
            print(f"  {line}")


def _print_side_by_side(reports: list[dict]) -> None:
    if len(reports) < 2:
        return
    rows = [
        ("speed overall, x real time", "{speed_x_realtime:.0f}"),
        ("median clip speed, x real time", "{median_clip_speed_x_realtime:.0f}"),
        ("5th percentile clip speed", "{p5_clip_speed_x_realtime:.0f}"),
        ("median CPU per clip, ms", "{median_clip_cpu_ms:.1f}"),
        ("peak RSS per worker process, MiB", "{peak_rss_mib:.0f}"),
        ("first call (warm-up), s", "{warm_up_seconds:.2f}"),
    ]
    print()
    print("| measure | " + " | ".join(r["feature_set_version"] for r in reports) + " |")
    print("|---" * (len(reports) + 1) + "|")
    for name, template in rows:
        print(f"| {name} | " + " | ".join(template.format(**r) for r in reports) + " |")


if __name__ == "__main__":
    raise SystemExit(main())
