"""The loaders stream: first conversation before the file is read, memory flat in file size."""

from __future__ import annotations

import importlib.util
import tracemalloc
from pathlib import Path
from types import ModuleType

import pytest

from groomguard.training.loaders import DataConfig, LoadProgress, load

ROOT = Path(__file__).resolve().parent.parent


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("pan12_scale", ROOT / "benchmarks" / "pan12_scale.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def pan12_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, set[str]]:
    path = tmp_path_factory.mktemp("pan12") / "synthetic.xml"
    n_messages, predators = _bench().generate(path, conversations=2000, mean_messages=8)
    assert n_messages > 8_000
    return path, predators


def test_first_conversation_arrives_before_the_file_is_read(pan12_file: tuple[Path, set[str]]) -> None:
    path, predators = pan12_file
    progress = LoadProgress()
    it = load(path, predators=predators, progress=progress)
    first = next(it)
    assert first.source == "pan12"
    assert progress.total == path.stat().st_size
    assert progress.done < 0.01 * progress.total  # only the first few lines were read
    rest = sum(1 for _ in it)
    assert rest + 1 == 2000 and progress.done == progress.total


def _peak_traced(path: Path, limit: int, fmt: str | None = None, config: DataConfig | None = None) -> int:
    tracemalloc.start()
    try:
        for n, _ in enumerate(load(path, fmt, config=config), start=1):
            if n == limit:
                break
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_pan12_memory_flat(pan12_file: tuple[Path, set[str]]) -> None:
    path, _ = pan12_file
    small = _peak_traced(path, 200)
    full = _peak_traced(path, 2000)
    # Ten times the conversations must not cost ten times the memory (a tree kept in memory would).
    assert full < 1.5 * small + 256 * 1024, (small, full)


def test_csv_memory_flat_when_contiguous(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    with path.open("w", encoding="utf-8") as fh:
        fh.write("conversation_id,author,text,label\n")
        for c in range(3000):
            for m in range(6):
                fh.write(f"c{c},u{c}-{m % 2},synthetic filler message number {m},{c % 2}\n")
    small = _peak_traced(path, 300)
    full = _peak_traced(path, 3000)
    assert full < 1.5 * small + 256 * 1024, (small, full)
    # The non-contiguous mode groups everything in memory: it is measurably not flat.
    grouped = _peak_traced(path, 3000, config=DataConfig.model_validate({"csv": {"contiguous": False}}))
    assert grouped > 2 * full
