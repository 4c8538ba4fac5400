"""`groomguard score --engine ray` on a real local Ray cluster (2 CPUs, started once per module).

The first backfill runs the CLI as a subprocess joining the cluster with --ray-address; the others run
it in-process on the test's own Ray connection (faster). Expectations come from the local engine
(`groomguard score`, same variant and batches) and from hashing the files in the test.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from groomguard.jsonl import write_jsonl
from tests.support.train import make_conversation, run_cli

pytest.importorskip("ray.data")

CONFIG = Path(__file__).resolve().parent.parent / "configs" / "serve.yaml"
SIZES = {"a.jsonl": 45, "b.jsonl": 25}  # two input files; batches of 8, shards of 16 -> 3 + 2 shards


def gg(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "groomguard", *args], capture_output=True, text=True, env=env,
                          timeout=180)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """A 2-CPU Ray cluster owned by this test process; the CLI joins it by address."""
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="WARNING")
    try:
        address = ray.get_runtime_context().gcs_address
        # loopback only: the cluster must not advertise the machine's interface address
        assert address.startswith("127.0.0.1:"), address
        assert {n["NodeManagerAddress"] for n in ray.nodes()} == {"127.0.0.1"}
        yield address
    finally:
        ray.shutdown()


@pytest.fixture(scope="module")
def job(tmp_path_factory: pytest.TempPathFactory, sharp_bundle_dir: Path, cluster: str) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("backfill")
    rng = random.Random(5)
    convs = [make_conversation(rng, f"c-{i}", grooming=i % 3 == 0) for i in range(sum(SIZES.values()))]
    (root / "in").mkdir()
    start = 0
    for name, n in SIZES.items():
        write_jsonl(root / "in" / name, convs[start : start + n])
        start += n
    write_jsonl(root / "all.jsonl", convs)
    config = root / "serve.yaml"
    text = CONFIG.read_text().replace("batch_size: 256 ", "batch_size: 8 ")
    config.write_text(text.replace("shard_conversations: 8192 ", "shard_conversations: 16 "))
    res = gg("score", "--engine", "ray", "--ray-address", cluster, "--bundle", str(sharp_bundle_dir),
             "--variant", "fp32", "--config", str(config), "-i", str(root / "in"), "-o", str(root / "out"))
    assert res.returncode == 0, res.stderr[-3000:]
    (root / "stderr.txt").write_text(res.stderr)
    (root / "stdout.txt").write_text(res.stdout)
    return {"root": root, "config": config, "bundle": sharp_bundle_dir, "out": root / "out", "in": root / "in"}


def test_ray_records_equal_local_engine(job: dict[str, Path]) -> None:
    local = job["root"] / "local.jsonl"
    res = gg("score", "--bundle", str(job["bundle"]), "--variant", "fp32", "--chunk", "8", "--config",
             str(job["config"]), "-i", str(job["root"] / "all.jsonl"), "-o", str(local))
    assert res.returncode == 0, res.stderr
    want = [json.loads(line) for line in local.read_text().splitlines()]
    shards = sorted(job["out"].glob("part-*.jsonl"))
    got = [json.loads(line) for p in shards for line in p.read_text().splitlines()]
    assert [r["conversation_id"] for r in got] == [f"c-{i}" for i in range(70)]
    assert len({r["risk"] for r in got}) > 10  # the sharp bundle: risks really differ by conversation
    diff = max(abs(a - b) for g, w in zip(got, want, strict=True)
               for a, b in zip(g["risk_by_message"], w["risk_by_message"], strict=True))
    assert diff == 0.0
    assert got == want  # ids, risks, levels, model: the same records


def test_manifest_records_inputs_bundle_and_counts(job: dict[str, Path]) -> None:
    m = json.loads((job["out"] / "manifest.json").read_text())
    assert [(Path(i["path"]).name, i["sha256"], i["conversations"]) for i in m["inputs"]] == [
        (name, sha256(job["in"] / name), n) for name, n in SIZES.items()]
    assert m["bundle_sha256"] == sha256(job["bundle"] / "bundle.json")
    assert [(s["file"], m["inputs"][s["input"]]["path"].endswith(("a.jsonl", "b.jsonl")), s["conversations"])
            for s in m["shards"]] == [("part-00000.jsonl", True, 16), ("part-00001.jsonl", True, 16),
                                      ("part-00002.jsonl", True, 13), ("part-00003.jsonl", True, 16),
                                      ("part-00004.jsonl", True, 9)]
    for s in m["shards"]:
        assert s["done"] and s["sha256"] == sha256(job["out"] / s["file"])
        assert len((job["out"] / s["file"]).read_text().splitlines()) == s["scored"] == s["conversations"]
    assert m["counts"] == {"conversations": 70, "shards": 5, "shards_done": 5, "scored": 70, "skipped": 0}
    assert m["complete"] and m["engines_used"] == ["fp32 on CPUExecutionProvider"]
    assert "70/70" in (job["root"] / "stderr.txt").read_text()  # the progress bar counted conversations
    assert "scored 70 conversations in 5 shards" in (job["root"] / "stdout.txt").read_text()


def test_rerun_scores_only_unfinished_shards(job: dict[str, Path], tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    shutil.copytree(job["out"], out)
    (out / "part-00001.jsonl").unlink()  # lost
    (out / "part-00004.jsonl").write_text("{}\n")  # damaged: no longer the recorded sha256
    kept = {p.name: p.stat().st_mtime_ns for p in out.glob("part-*.jsonl") if p.name != "part-00004.jsonl"}
    rc = run_cli(["score", "--engine", "ray", "--bundle", str(job["bundle"]), "--variant", "fp32",
                  "--config", str(job["config"]), "-i", str(job["in"]), "-o", str(out)])
    stdout = capsys.readouterr().out
    assert rc == 0
    assert "3 of 5 shards already done" in stdout
    assert "scored 25 conversations in 2 shards" in stdout  # 16 + 9
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("part-*.jsonl") if p.name in kept} == kept
    for name in ("part-00001.jsonl", "part-00004.jsonl"):
        assert (out / name).read_bytes() == (job["out"] / name).read_bytes()
    assert json.loads((out / "manifest.json").read_text())["complete"]


def test_changed_input_is_refused_not_mixed(job: dict[str, Path], tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    out, inp = tmp_path / "out", tmp_path / "in"
    shutil.copytree(job["out"], out)
    shutil.copytree(job["in"], inp)
    with (inp / "b.jsonl").open("a") as fh:
        fh.write((job["in"] / "a.jsonl").read_text().splitlines()[0] + "\n")
    rc = run_cli(["score", "--engine", "ray", "--bundle", str(job["bundle"]), "--variant", "fp32",
                  "--config", str(job["config"]), "-i", str(inp), "-o", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "different inputs" in err[0], err


def test_bad_line_is_a_one_line_error(job: dict[str, Path], tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.jsonl"
    good = (job["in"] / "a.jsonl").read_text().splitlines()[:10]
    bad.write_text("\n".join([*good, '{"conversation_id": "x", "messages": "not a list"}']) + "\n")
    rc = run_cli(["score", "--engine", "ray", "--bundle", str(job["bundle"]), "--config", str(job["config"]),
                  "-i", str(bad), "-o", str(tmp_path / "out")])
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip() and "scoring conversations" not in ln]
    assert rc == 2
    assert err == [f"error: {bad}:11: messages: Input should be a valid array"]


@pytest.mark.parametrize("case", ["missing", "empty-dir", "output-is-file", "no-cluster-there"])
def test_bad_paths_fail_before_ray_starts(job: dict[str, Path], tmp_path: Path, case: str,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "file.txt").write_text("x")
    inp = {"missing": tmp_path / "nope", "empty-dir": tmp_path / "empty"}.get(case, job["in"])
    out = tmp_path / ("file.txt" if case == "output-is-file" else "out")
    args = ["score", "--engine", "ray", "--bundle", str(job["bundle"]), "-i", str(inp), "-o", str(out)]
    if case == "no-cluster-there":
        with socket.socket() as s:  # a port that was free a moment ago: nothing listens there
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        args += ["--ray-address", f"127.0.0.1:{port}"]
    rc = run_cli(args)
    lines = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(lines) == 1 and lines[0].startswith("error: --"), lines
    assert {"missing": "no such file", "empty-dir": "no *.jsonl", "output-is-file": "directory",
            "no-cluster-there": "cannot reach"}[case] in lines[0]


def test_lenient_skips_and_counts_bad_lines(job: dict[str, Path], tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    """In-process, on the test's own connection (the CLI reuses an initialised Ray)."""
    bad = tmp_path / "bad.jsonl"
    good = (job["in"] / "a.jsonl").read_text().splitlines()[:10]
    bad.write_text("\n".join([*good[:4], "{not json", *good[4:]]) + "\n")
    out = tmp_path / "out"
    rc = run_cli(["score", "--engine", "ray", "--lenient", "--bundle", str(job["bundle"]), "--variant", "fp32",
                  "--config", str(job["config"]), "-i", str(bad), "-o", str(out)])
    assert rc == 0, capsys.readouterr().err
    m = json.loads((out / "manifest.json").read_text())
    assert m["counts"]["scored"] == 10 and m["counts"]["skipped"] == 1
    assert m["shards"][0]["errors"] == [f"{bad}:5: invalid JSON (Expecting property name enclosed in double quotes "
                                        "at column 2)"]
    first = (job["out"] / "part-00000.jsonl").read_text().splitlines()[:10]
    assert (out / "part-00000.jsonl").read_text().splitlines() == first
