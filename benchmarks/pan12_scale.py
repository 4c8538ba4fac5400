"""PAN12-scale loader benchmark: does the PAN12 loader stream a corpus of the real size?

Generates a SYNTHETIC PAN12-format XML file (default 67,000 conversations, ~900,000 messages of
benign filler text; no real data) under `benchmarks/out/`, then loads it end to end with
`groomguard.training.loaders.load` while sampling the process RSS. Memory must not grow with the file: RSS
after 10 % of the conversations is compared with RSS at the end.

    .venv/bin/python benchmarks/pan12_scale.py              # full size, prints a JSON summary
    .venv/bin/python benchmarks/pan12_scale.py --conversations 5000
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import threading
import time
from pathlib import Path
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

OUT = ROOT / "benchmarks" / "out"
WORDS = (
    "hi hey lol ok game match level team play win lose school homework music song movie weekend "
    "pizza dog cat funny cool nice good great see you later thanks sure maybe what how when where "
    "today tomorrow server map skin build quest score chat online friend class test"
).split()


def rss_mib() -> float:
    """Current resident set size (VmRSS) in MiB; falls back to the peak on non-Linux systems."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return peak_rss_mib()


def peak_rss_mib() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 if sys.platform != "darwin" else peak / (1024 * 1024)


def generate(path: Path, conversations: int, mean_messages: float, seed: int = 12) -> tuple[int, set[str]]:
    """Write a synthetic PAN12-format file; returns (messages written, predator ids)."""
    rng = random.Random(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    predators: set[str] = set()
    n_messages = 0
    hi = max(2, round(2 * mean_messages) - 1)
    with path.open("w", encoding="utf-8") as fh:
        fh.write('<?xml version="1.0" encoding="UTF-8"?>\n<!-- SYNTHETIC benchmark data in the PAN12 format -->\n')
        fh.write("<conversations>\n")
        for c in range(conversations):
            authors = [f"{rng.getrandbits(64):016x}" for _ in range(rng.choice((2, 2, 2, 3)))]
            if rng.random() < 0.03:
                predators.add(authors[0])
            fh.write(f'<conversation id="{c:08x}{rng.getrandbits(32):08x}">\n')
            for line in range(1, rng.randint(1, hi) + 1):
                text = " ".join(rng.choices(WORDS, k=rng.randint(1, 14)))
                if rng.random() < 0.05:
                    text += " &lt;3"  # PAN12's double escaping
                fh.write(
                    f'<message line="{line}">\n<author>{rng.choice(authors)}</author>\n'
                    f"<time>{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}</time>\n"
                    f"<text>{escape(text)}</text>\n</message>\n"
                )
                n_messages += 1
            fh.write("</conversation>\n")
        fh.write("</conversations>\n")
    return n_messages, predators


def measure(path: Path, predators: set[str], conversations: int, interval_s: float = 0.05) -> dict[str, float]:
    """Load `path` end to end; RSS is sampled by a thread every `interval_s` and at 10 % / 100 %."""
    from groomguard.training.loaders import load

    samples: list[float] = []
    stop = threading.Event()

    def sampler() -> None:
        while not stop.is_set():
            samples.append(rss_mib())
            stop.wait(interval_s)

    thread = threading.Thread(target=sampler, daemon=True)
    rss_before = rss_mib()
    thread.start()
    t0, cpu0 = time.perf_counter(), time.process_time()
    n_conv = n_msg = positives = 0
    rss_10 = t_10 = 0.0
    tenth = max(1, conversations // 10)
    for conv in load(path, "pan12", predators=predators):
        n_conv += 1
        n_msg += len(conv.messages)
        positives += conv.label == 1
        if n_conv == tenth:
            rss_10, t_10 = rss_mib(), time.perf_counter() - t0
    elapsed = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    rss_end = rss_mib()
    stop.set()
    thread.join()
    return {
        "conversations": n_conv,
        "messages": n_msg,
        "positives": positives,
        "file_mib": round(path.stat().st_size / 2**20, 1),
        "load_seconds": round(elapsed, 2),
        "load_cpu_seconds": round(cpu, 2),  # what the load costs when other jobs share the cores
        "seconds_at_10pct": round(t_10, 2),
        "messages_per_second": round(n_msg / elapsed),
        "rss_before_mib": round(rss_before, 1),
        "rss_at_10pct_mib": round(rss_10, 1),
        "rss_at_end_mib": round(rss_end, 1),
        "rss_sampled_max_mib": round(max(samples or [rss_end]), 1),
        "rss_growth_10pct_to_end_mib": round(rss_end - rss_10, 1),
        "rss_samples": len(samples),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--conversations", type=int, default=67_000)
    ap.add_argument("--mean-messages", type=float, default=13.5, help="mean messages per conversation")
    ap.add_argument("--out", type=Path, default=OUT / "pan12_scale.xml")
    ap.add_argument("--reuse", action="store_true", help="skip generation when the file exists")
    ap.add_argument("--budget-seconds", type=float, default=60.0, help="exit 1 when loading takes longer")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    if args.reuse and args.out.exists() and (args.out.with_suffix(".predators.txt")).exists():
        predators = set(args.out.with_suffix(".predators.txt").read_text().split())
    else:
        _, predators = generate(args.out, args.conversations, args.mean_messages)
        args.out.with_suffix(".predators.txt").write_text("\n".join(sorted(predators)) + "\n")
    gen_s = time.perf_counter() - t0
    result = measure(args.out, predators, args.conversations)
    result["generate_seconds"] = round(gen_s, 2)
    result["peak_rss_mib"] = round(peak_rss_mib(), 1)
    print(json.dumps(result, indent=2))
    return 0 if result["load_seconds"] <= args.budget_seconds else 1


if __name__ == "__main__":
    raise SystemExit(main())
