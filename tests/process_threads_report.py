"""Test-only worker hook: a task that writes down how many threads its pool process uses.

``tests/test_process_threads.py`` starts a real worker with ``--include`` of this module and
reads the file the task writes (the project keeps no task results).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from celery import shared_task

from recommender.process_threads import THREAD_ENV_VARS


@shared_task(name="tests.report_process_threads")
def report_process_threads(path: str) -> None:
    import torch

    report = {
        "torch_threads": torch.get_num_threads(),
        "env": {name: os.environ.get(name) for name in THREAD_ENV_VARS},
    }
    Path(path).write_text(json.dumps(report))
