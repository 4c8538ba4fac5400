"""Start/stop the local Triton server as a subprocess (tests, benchmarks, `make` targets).

The server runs in its own session so it can be killed as a tree: PyTriton spawns tritonserver,
which spawns Python-backend stubs. `kill()` SIGKILLs every descendant by pid (collected from
/proc before the parent dies), which is exactly the "Triton crashed" case the gateway must survive.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from groomguard.serving.triton.server import libdir_env


def free_ports(n: int) -> list[int]:
    """Distinct free TCP ports on 127.0.0.1 (bind to port 0, then release)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    out, stack = [], [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            out.append(child)
            stack.append(child)
    return out


def _shared_memory(pids: list[int]) -> set[Path]:
    """/dev/shm segments mapped or held open by `pids` (PyTriton's pytrtion*/psm_* blocks)."""
    found: set[Path] = set()
    for pid in pids:
        try:
            maps = Path(f"/proc/{pid}/maps").read_text()
        except OSError:
            continue
        found.update(Path(line.split(None, 5)[5]) for line in maps.splitlines()
                     if line.count(" ") >= 5 and "/dev/shm/" in line)  # nosec B108  # matched, not created
        try:
            fds = list(Path(f"/proc/{pid}/fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("/dev/shm/"):  # nosec B108  # a prefix test on a link target, nothing created
                found.add(Path(target.removesuffix(" (deleted)")))
    return found


@dataclass
class LocalTriton:
    repo: Path
    model: str
    http_port: int
    grpc_port: int
    metrics_port: int
    log_path: Path
    workspace: Path | None = None
    # the model's ONNX Runtime providers (first that runs wins, see `provider()`), I/O binding, threads
    providers: tuple[str, ...] = ("CPUExecutionProvider",)
    io_binding: str = "auto"
    threads: int = 1
    proc: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = field(default=None, repr=False)

    @property
    def grpc_url(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    @property
    def http_url(self) -> str:
        return f"127.0.0.1:{self.http_port}"

    def start(self, timeout_s: float = 120.0) -> LocalTriton:
        self._log = self.log_path.open("ab")
        cmd = [sys.executable, "-m", "groomguard.serving.triton.server",
               "--repo", str(self.repo), "--model", self.model,
               "--http-port", str(self.http_port), "--grpc-port", str(self.grpc_port),
               "--metrics-port", str(self.metrics_port), "--threads", str(self.threads),
               "--providers", ",".join(self.providers), "--io-binding", self.io_binding]
        if self.workspace is not None:
            shutil.rmtree(self.workspace, ignore_errors=True)
            cmd += ["--workspace", str(self.workspace)]
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, env=libdir_env(),
                                     start_new_session=True)
        self.wait_ready(timeout_s)
        return self

    def wait_ready(self, timeout_s: float) -> None:
        import tritonclient.grpc as grpcclient

        deadline = time.monotonic() + timeout_s
        client = grpcclient.InferenceServerClient(self.grpc_url)
        try:
            while time.monotonic() < deadline:
                if self.proc is not None and self.proc.poll() is not None:
                    raise RuntimeError(f"triton server exited with {self.proc.returncode}; see {self.log_path}")
                try:
                    if client.is_server_ready(client_timeout=1) and client.is_model_ready(self.model, client_timeout=1):
                        return
                except Exception:  # not listening yet
                    pass
                time.sleep(0.25)
        finally:
            client.close()
        self.kill()
        raise TimeoutError(f"triton server not ready after {timeout_s}s; see {self.log_path}")

    def provider(self) -> str:
        """The execution provider the server's session really got (its `provider=` log line), "" before it
        logged one: a GPU build without a usable GPU falls back to the CPU, and a measurement must say so."""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        found = [line.split("provider=", 1)[1].split()[0] for line in text.splitlines() if " provider=" in line]
        return found[-1] if found else ""

    def shared_memory(self) -> set[Path]:
        """The /dev/shm segments the running server tree holds (kill() removes them)."""
        return _shared_memory([*_descendants(self.proc.pid), self.proc.pid]) if self.proc else set()

    def kill(self) -> None:
        """SIGKILL the server and all its descendants (by pid), then reap."""
        if self.proc is None:
            return
        pids = [*_descendants(self.proc.pid), self.proc.pid]
        segments = _shared_memory(pids)
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait(timeout=30)
        # A killed server cannot clean up after itself: its shared-memory segments (named after
        # its process group, which is its pid since it leads its own session) and its workspace.
        # Safe: only the killed server's own segments (named after its pid) are unlinked; nothing is created.
        for seg in segments | set(Path("/dev/shm").glob(f"pytrtion{self.proc.pid}-*")):  # nosec B108  # see above
            seg.unlink(missing_ok=True)
        if self.workspace is not None:
            shutil.rmtree(self.workspace, ignore_errors=True)
        self.proc = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> LocalTriton:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.kill()


def local_triton(repo: Path, model: str, log_path: Path, providers: tuple[str, ...] = ("CPUExecutionProvider",),
                 io_binding: str = "auto", threads: int = 1) -> LocalTriton:
    """A not-yet-started server on fresh free ports (CPU, one thread unless told otherwise)."""
    http, grpc, metrics = free_ports(3)
    return LocalTriton(repo, model, http, grpc, metrics, log_path, log_path.with_suffix(".workspace"),
                       providers, io_binding, threads)
