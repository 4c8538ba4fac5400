"""Thin protocol layer over tritonclient (HTTP and gRPC) used by the `triton` engine backend.

gRPC: one shared `InferenceServerClient` (thread-safe; one HTTP/2 channel multiplexes all
requests) with short reconnect backoff so a restarted server is found again within ~1 s.
HTTP: tritonclient's HTTP client is not thread-safe, so each calling thread gets its own client
holding one keep-alive connection (a per-thread connection pool); all are closed on `close()`.
"""

from __future__ import annotations

import threading
from typing import Any, Literal

import numpy as np

# Statuses that mean "the server is not there (yet)": down, restarting, not accepting. Retrying
# those is safe. Timeouts are NOT retried: the request may still be running server-side, and
# re-sending it to an overloaded server only deepens the queue (retry storm); bad input or an
# unknown model is not transient either.
_RETRYABLE_GRPC = ("UNAVAILABLE",)
_RETRYABLE_HTTP = ("502", "503")


def is_retryable(exc: BaseException) -> bool:
    """Connection failures and UNAVAILABLE are transient; timeouts and other errors are not."""
    from tritonclient.utils import InferenceServerException

    if isinstance(exc, InferenceServerException):
        status = str(exc.status() or "")
        if not status:  # tritonclient reports refused/reset HTTP connections without a status
            return "timed out" not in str(exc.message()).lower()
        return any(code in status for code in _RETRYABLE_GRPC + _RETRYABLE_HTTP)
    if isinstance(exc, TimeoutError) or exc.__class__.__name__ in {"Timeout", "ConnectionTimeout", "NetworkTimeout"}:
        return False
    return isinstance(exc, (OSError, ConnectionError))


class TritonClient:
    """Infer / liveness / readiness against one model, for either protocol."""

    def __init__(self, url: str, protocol: Literal["http", "grpc"], model: str, timeout_s: float) -> None:
        self.url = url.removeprefix("http://").removeprefix("grpc://")
        self.protocol = protocol
        self.model = model
        self.timeout_s = timeout_s
        self._local = threading.local()
        self._lock = threading.Lock()
        self._clients: list[Any] = []
        self._grpc: Any = None

    def _new_client(self, timeout_s: float) -> Any:
        if self.protocol == "grpc":
            import tritonclient.grpc as grpcclient
            from tritonclient.grpc import MAX_GRPC_MESSAGE_SIZE

            args = [
                ("grpc.max_send_message_length", MAX_GRPC_MESSAGE_SIZE),
                ("grpc.max_receive_message_length", MAX_GRPC_MESSAGE_SIZE),
                ("grpc.initial_reconnect_backoff_ms", 100),
                ("grpc.min_reconnect_backoff_ms", 100),
                ("grpc.max_reconnect_backoff_ms", 1000),
                ("grpc.keepalive_time_ms", 30_000),
            ]
            return grpcclient.InferenceServerClient(self.url, channel_args=args)
        import tritonclient.http as httpclient

        return httpclient.InferenceServerClient(
            self.url, concurrency=1, connection_timeout=timeout_s, network_timeout=timeout_s
        )

    def _client(self) -> Any:
        if self.protocol == "grpc":
            with self._lock:
                if self._grpc is None:
                    self._grpc = self._new_client(self.timeout_s)
                    self._clients.append(self._grpc)
                return self._grpc
        client = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = self._new_client(self.timeout_s)
            with self._lock:
                self._clients.append(client)
        return client

    def reset_thread_client(self) -> None:
        """Drop this thread's HTTP client after a connection error (its socket may be dead)."""
        client = getattr(self._local, "client", None)
        if client is not None:
            self._local.client = None
            with self._lock:
                if client in self._clients:
                    self._clients.remove(client)
            _close_quietly(client)

    def infer(self, names: list[str], arrays: list[np.ndarray], output: str) -> np.ndarray:
        if self.protocol == "grpc":
            import tritonclient.grpc as mod
        else:
            import tritonclient.http as mod  # type: ignore[no-redef]
        inputs = []
        for name, arr in zip(names, arrays, strict=True):
            inp = mod.InferInput(name, list(arr.shape), "INT64")
            inp.set_data_from_numpy(np.ascontiguousarray(arr, dtype=np.int64))
            inputs.append(inp)
        outputs = [mod.InferRequestedOutput(output)]
        client = self._client()
        if self.protocol == "grpc":
            result = client.infer(self.model, inputs, outputs=outputs, client_timeout=self.timeout_s)
        else:
            result = client.infer(self.model, inputs, outputs=outputs)
        out = result.as_numpy(output)
        if out is None:
            raise RuntimeError(f"triton response lacks output {output!r}")
        return np.asarray(out, dtype=np.float32)

    def probe(self, timeout_s: float) -> tuple[bool, str]:
        """(ready, detail): server live and model ready, within `timeout_s`."""
        if self.protocol == "grpc":
            client = self._client()
            live = client.is_server_live(client_timeout=timeout_s)
            ready = live and client.is_model_ready(self.model, client_timeout=timeout_s)
        else:
            client = self._new_client(timeout_s)
            try:
                live = client.is_server_live()
                ready = live and client.is_model_ready(self.model)
            finally:
                _close_quietly(client)
        if not live:
            return False, "server not live"
        return (True, "model ready") if ready else (False, f"model {self.model!r} not ready")

    def metadata(self) -> dict[str, Any]:
        """Model metadata (inputs/outputs) as a dict, for the one-off signature check."""
        client = self._client()
        if self.protocol == "grpc":
            return dict(client.get_model_metadata(self.model, as_json=True, client_timeout=self.timeout_s))
        return dict(client.get_model_metadata(self.model))

    def config_parameters(self) -> dict[str, str]:
        """The model configuration's string parameters (empty when the server publishes none: the
        PyTriton-hosted server generates its own configuration without them)."""
        client = self._client()
        if self.protocol == "grpc":
            raw = client.get_model_config(self.model, as_json=True, client_timeout=self.timeout_s).get("config", {})
        else:
            raw = client.get_model_config(self.model)
        params = raw.get("parameters") or {}
        return {k: str(v.get("string_value", "")) for k, v in params.items() if isinstance(v, dict)}

    def close(self) -> None:
        with self._lock:
            clients, self._clients, self._grpc = self._clients, [], None
        for client in clients:
            _close_quietly(client)


def _close_quietly(client: Any) -> None:
    try:
        client.close()
    except Exception:  # closing a dead connection must not mask the original problem
        pass
