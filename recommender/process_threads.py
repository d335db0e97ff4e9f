"""How many threads one process's numeric libraries use: one, unless configured.

Why one: every process we start (each gunicorn worker, each Celery pool process, beat, a
management command) would otherwise get one torch/OpenMP/BLAS thread per core, so N processes
on N cores run N × N threads that preempt one another and spin in OpenMP barriers. Parallelism
comes from running more processes, not threads: with one thread per process the cold
recommendation's p95 at 10k tracks fell from 862 to 182 ms on the 2-core development machine
(README, "Recommendation speed").

Configure it with ``PROCESS_THREADS`` (e.g. a machine that runs one training worker alone); a
library's own variable already in the environment (``OMP_NUM_THREADS``, …) wins over both.

This module imports nothing from Django: the entry points (``manage.py``, ``recommender/wsgi.py``,
``recommender/asgi.py``, ``recommender/celery.py``) call ``configure_process_threads`` before
Django or torch is imported, because OpenMP and BLAS read their variables once, when loaded.
"""

from __future__ import annotations

import os

PROCESS_THREADS_ENV = "PROCESS_THREADS"
DEFAULT_PROCESS_THREADS = 1
# What each library reads when it loads: OpenMP (torch's intra-op pool, numba), MKL, OpenBLAS
# (numpy, scipy), numexpr, numba's own pool.
THREAD_ENV_VARS = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "NUMBA_NUM_THREADS",
)


def process_threads() -> int:
    raw = os.environ.get(PROCESS_THREADS_ENV, "")
    if not raw:
        return DEFAULT_PROCESS_THREADS
    try:
        threads = int(raw)
    except ValueError:
        threads = 0
    if threads < 1:
        raise ValueError(f"{PROCESS_THREADS_ENV}={raw!r} must be a whole number of at least 1")
    return threads


def configure_process_threads() -> int:
    """Set the thread variables (where not set already) and torch's pool if torch is loaded.

    Returns the number of threads torch uses (``OMP_NUM_THREADS``). Safe to call more than
    once; a forked child (a Celery pool process) calls it again to be sure of its own pool.
    """
    threads = process_threads()
    for name in THREAD_ENV_VARS:
        os.environ.setdefault(name, str(threads))
    torch_threads = int(os.environ["OMP_NUM_THREADS"])
    # Set explicitly: left to itself, torch may follow MKL's variable instead of OpenMP's.
    # Importing it here costs nothing extra: loading the Django apps imports it anyway.
    import torch

    if torch.get_num_threads() != torch_threads:
        torch.set_num_threads(torch_threads)
    return torch_threads
