"""Write a perf_analyzer `--input-data` JSON file from real conversation windows.

    python benchmarks/triton_perf_input.py --bundle models/bundles/demo \
        --input data/demo/test.jsonl --out var/triton_perf_input.json --length 128

Each entry is one window (newest-message windows of the input conversations) padded/truncated to
`--length` tokens, so perf_analyzer sends realistic token ids with a fixed shape. Contains token
ids only, never text.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from groomguard.bundle import Bundle
from groomguard.jsonl import iter_jsonl


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle", type=Path, required=True)
    parser.add_argument("--input", type=Path, required=True, help="canonical conversations JSONL")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--length", type=int, default=128, help="tokens per window (the --shape you pass)")
    parser.add_argument("--limit", type=int, default=256, help="number of windows")
    args = parser.parse_args()

    bundle = Bundle.load(args.bundle)
    windower = bundle.windower()
    names = bundle.manifest.onnx.inputs
    data = []
    for conv in iter_jsonl(args.input):
        for window in windower.prefix_windows(conv):
            ids = window.input_ids
            if len(ids) > args.length:  # keep the leading special tokens, then the newest tokens
                keep = args.length - len(windower.prefix)
                ids = [*windower.prefix, *ids[-keep:]]
            pad = args.length - len(ids)
            data.append({
                names[0]: {"content": ids + [windower.pad_id] * pad, "shape": [args.length]},
                names[1]: {"content": [1] * len(ids) + [0] * pad, "shape": [args.length]},
            })
            if len(data) >= args.limit:
                break
        if len(data) >= args.limit:
            break
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"data": data}), encoding="utf-8")
    print(f"wrote {len(data)} windows of {args.length} tokens to {args.out}")


if __name__ == "__main__":
    main()
