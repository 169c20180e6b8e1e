"""Local stand-ins for payment providers: HTTP servers on 127.0.0.1 that speak each
provider's API for the calls shequ makes, sign with keys the test generates, and can be
told to fail (time out or answer 5xx) to exercise the adapters' fault handling."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import attrs

__all__ = ["Fault", "Reply", "Request", "StubServer"]


@attrs.frozen
class Request:
    method: str
    path: str  # with its query string
    headers: dict[str, str]  # names in lower case
    body: bytes


@attrs.frozen
class Reply:
    status: int
    body: bytes = b""
    headers: dict[str, str] = attrs.field(factory=dict)


@attrs.frozen
class Fault:
    """How the next matching request fails: ``timeout`` (the stub answers after
    ``delay`` seconds, longer than the adapter waits) or an HTTP status such as 500."""

    path_prefix: str
    kind: str | int  # "timeout" or a status
    delay: float = 3.0


class StubServer:
    """Serves ``handle(request) -> Reply`` on a random port, in a thread.

    ``fail_next(prefix, "timeout")`` or ``fail_next(prefix, 503)`` makes the next request
    whose path starts with ``prefix`` fail once; ``requests`` records every request.
    """

    def __init__(self, handle: Callable[[Request], Reply]) -> None:
        self._handle = handle
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self.requests: list[Request] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                request = Request(
                    method=self.command,
                    path=self.path,
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=self.rfile.read(length) if length else b"",
                )
                reply = server._answer(request)
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = _serve

            def log_message(self, format: str, *args: object) -> None:
                pass  # quiet: the tests read what came in from ``requests``

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
                    super().handle_error(request, client_address)  # a client that timed out
                    # and left is not worth a traceback; anything else is

        self._http = Server(("127.0.0.1", 0), Handler)
        self._http.daemon_threads = True

    @property
    def url(self) -> str:
        host, port = self._http.server_address[:2]
        return f"http://{host!s}:{port}"

    def fail_next(self, path_prefix: str, kind: str | int, delay: float = 3.0) -> None:
        with self._lock:
            self._faults.append(Fault(path_prefix, kind, delay))

    def _answer(self, request: Request) -> Reply:
        with self._lock:
            self.requests.append(request)
            fault = next((f for f in self._faults if request.path.startswith(f.path_prefix)), None)
            if fault is not None:
                self._faults.remove(fault)
        if fault is not None:
            if fault.kind == "timeout":
                time.sleep(fault.delay)
            else:
                return Reply(int(fault.kind), b'{"code":"SYSTEM_ERROR","message":"stub fault"}')
        return self._handle(request)

    @contextmanager
    def running(self) -> Iterator[StubServer]:
        thread = threading.Thread(
            target=self._http.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        thread.start()
        try:
            yield self
        finally:
            self._http.shutdown()
            self._http.server_close()
            thread.join(5)
