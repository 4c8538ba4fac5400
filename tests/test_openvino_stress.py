"""benchmarks/openvino_stress.py stays runnable, and its quick mode finishes: 2,000 concurrent OpenVINO
calls of changing shapes from more threads than streams (issue 22 item 4's hang), plus the run_batches
path. Each run is its own process: a hang there is reported by the script's watchdog (exit 3 with
every thread's stack), and the subprocess timeout backs it up, so pytest itself never hangs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import groomguard.serving.backends.openvino as ovb

ROOT = Path(__file__).resolve().parent.parent
PRECISION = "bf16" if ovb.native_bf16() else "f32"  # the served precision where the CPU has it


def _stress(*args: str, timeout_s: float = 120) -> dict[str, object]:
    cmd = [sys.executable, "-m", "benchmarks.openvino_stress", "--no-native-stacks", "--timeout-s", "20",
           "--precision", PRECISION, *args]
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=timeout_s)
    assert r.returncode == 0, (r.returncode, r.stderr[-4000:])
    summary: dict[str, object] = json.loads(r.stdout.strip().splitlines()[-1])
    return summary


def test_quick_stress_finishes_without_hang_or_wrong_answers(tiny_bundle_dir: Path) -> None:
    # 64 shapes (batch 1-32 x length 2-64) drawn at random: the shape changes on nearly every call while
    # OpenVINO's kernels stay warm, so 2,000 calls take seconds, not the minutes of fresh shapes.
    got = _stress("--bundle", str(tiny_bundle_dir), "--calls", "2000", "--threads", "3", "--streams", "2",
                  "--shapes", "64", "--max-len", "64")
    assert got["calls"] == 2000 and got["failed"] == 0 and got["hang"] is False
    assert float(str(got["windows_per_s"])) > 0
    got = _stress("--bundle", str(tiny_bundle_dir), "--calls", "200", "--threads", "2", "--mode", "run_batches",
                  "--max-len", "64", "--backends", "2")
    assert got["calls"] == 200 and got["failed"] == 0


def test_the_watchdog_turns_a_hang_into_exit_3_with_stacks() -> None:
    """A worker without progress for --timeout-s: every thread's stack on stderr, exit 3, no waiting."""
    code = ("import threading, time\n"
            "from benchmarks.openvino_stress import Progress, watchdog\n"
            "p = Progress(); p.beat('caller-0')\n"
            "threading.Thread(target=time.sleep, args=(60,), name='caller-0', daemon=True).start()\n"
            "watchdog(p, 0.3, threading.Event(), False)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=30)
    assert r.returncode == 3, r.stderr[-2000:]
    assert "HANG: no progress for 0.3 s in caller-0" in r.stderr
    assert r.stderr.lower().count("thread 0x") >= 2  # faulthandler's dump of every thread, the stuck one included

