"""The bounded fuzz run (tests/reader_fuzz.py): every reader, fixed seeds, each case in a worker subprocess
under an address-space limit. 0 crashes (aborts, signals), 0 hangs over 10 s, and every failure a
ValueError/OSError/MemoryError naming the file."""

import os

import pytest

from tests import reader_fuzz

pytestmark = pytest.mark.skipif(not hasattr(os, "fork") or not os.path.exists("/proc/self/status"),
                                reason="the worker's address-space limit is Linux's")


def test_fuzzed_files_never_crash_hang_or_fail_without_naming_the_file(sample_data):
    tally = reader_fuzz.run(seconds=60, seed=16, sample_data=sample_data)
    assert tally["cases"] >= 200, tally
    assert not tally["crashes"], tally["crashes"][:3]
    assert not tally["hangs"], tally["hangs"][:3]
    assert not tally["bad_errors"], tally["bad_errors"][:3]
    assert tally["events"] and tally["errors"], tally  # both outcomes are exercised


STUB_WORKER = r"""
import json, os, sys, time
print("ready", flush=True)
for line in sys.stdin:
    case = json.loads(line)
    if case["path"] == "abort":
        os.abort()
    if case["path"] == "hang":
        time.sleep(60)
    print(json.dumps({"events": 0}), flush=True)
"""


def test_the_harness_catches_an_abort_and_a_hang(monkeypatch):
    # the harness itself must be able to fail: a worker that aborts and one that stalls are both caught
    monkeypatch.setattr(reader_fuzz, "WORKER", STUB_WORKER)
    monkeypatch.setattr(reader_fuzz, "HANG_SECONDS", 2.0)
    worker = reader_fuzz.Worker()
    assert worker.ask({"path": "fine"}) == ("answer", {"events": 0})
    outcome, code = worker.ask({"path": "abort"})
    assert outcome == "died" and code < 0
    worker = reader_fuzz.Worker()
    assert worker.ask({"path": "hang"}) == ("hang", None)
