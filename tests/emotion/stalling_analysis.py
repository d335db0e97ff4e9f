"""Test-only worker hook: every analysis stalls once it is marked running.

A test starts a worker with ``--include tests.emotion.stalling_analysis`` to kill it in the
middle of an analysis whatever the machine's speed, without spending CPU on a long file. The
worker imports this before it forks its pool, so every pool process has the stalling
extraction in place of the real one; the analysis service has already stored the running
state when it calls it.
"""

from __future__ import annotations

import time

from emotion.services import analysis


def extract_nothing_for_an_hour(*args, **kwargs):
    time.sleep(3600)
    raise AssertionError("the worker running this analysis should have been killed by now")


analysis.analyse_audio = extract_nothing_for_an_hour
