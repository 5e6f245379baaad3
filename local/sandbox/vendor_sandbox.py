#!/usr/bin/env python3
"""Local, stateful sandboxes of the vendor APIs vendorlink calls.

One loopback HTTP server serves every vendor under its own path prefix
(``http://127.0.0.1:PORT/<vendor>`` is that vendor's ``base_url``) and a control
API for tests under ``/_sandbox/``. Behaviour follows the vendors' own
documentation, as docs/vendors/<vendor>.md records it with its sources;
where the documentation is silent, the choice made is listed in README.md.
Python 3.11 standard library only.

This file is the server: the command line, the HTTP handler, and the dispatch
of each request by its path prefix to the control API or to a vendor. The
vendors are the modules listed in vendors/__init__.py; what they share is in
sandbox_core/. Other code imports `load_seed`, `DEFAULT_SEED` and `SeedError`
from here.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import signal
import socket
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Mapping
from urllib.parse import parse_qs, urlsplit

from sandbox_core import seed as seed_files
from sandbox_core.chaos import Chaos
from sandbox_core.control import ControlApi, is_control_path
from sandbox_core.exchange import Request, Response, json_response
from sandbox_core.faults import FaultQueue
from sandbox_core.request_log import RequestLog
from sandbox_core.roles import RolePropagation
from sandbox_core.seed import SeedError
from sandbox_core.vendor import Vendor
from vendors import VENDOR_CLASSES

__all__ = ["DEFAULT_SEED", "Sandbox", "SeedError", "VENDOR_CLASSES", "load_seed", "main"]

DEFAULT_SEED: dict[str, Any] = seed_files.default_seed(VENDOR_CLASSES)


def load_seed(path: str | None) -> dict[str, Any]:
    """DEFAULT_SEED overlaid with the seed file at `path` (if any), checked."""
    return seed_files.load_seed(path, VENDOR_CLASSES)


# --------------------------------------------------------------------------- the sandbox


class Sandbox:
    """All vendors' state, faults, chaos and the request log, behind one lock."""

    def __init__(self, seed: dict[str, Any]):
        self.seed = seed
        self.lock = threading.Lock()
        self.roles = RolePropagation(seed["role_not_assumable_seconds"])
        self.vendors: dict[str, Vendor] = {cls.name: cls(self.roles, seed[cls.name]) for cls in VENDOR_CLASSES}
        self.faults = FaultQueue()
        self.chaos = Chaos(list(self.vendors))
        self.request_log = RequestLog()
        self.control = ControlApi(self.vendors, self.faults, self.request_log, self.roles, self.chaos)
        self.control.reset()

    def handle(self, method: str, target: str, headers: Mapping[str, str], body: bytes, host: str) -> Response:
        """Dispatch by path prefix: /_sandbox/ to the control API, /<vendor>/ to that vendor."""
        url = urlsplit(target)
        query = parse_qs(url.query, keep_blank_values=True)
        if is_control_path(url.path):
            req = Request(method, url.path, query, headers, body, f"http://{host}")
            with self.lock:
                return self.control.handle(req)
        vendor_name, _, rest = url.path.lstrip("/").partition("/")
        vendor = self.vendors.get(vendor_name)
        if vendor is None:
            return json_response(404, {"error": f"no vendor at {url.path}; vendors: {', '.join(self.vendors)}"})
        req = Request(method, "/" + rest, query, headers, body, f"http://{host}/{vendor_name}")
        with self.lock:
            fault = self.faults.take(vendor_name, req.path)
            chaos = self.chaos.draw(vendor_name, explicit_fault=fault is not None)
        if fault is not None and fault.latency_ms:
            time.sleep(fault.latency_ms / 1000)  # outside the lock: other requests go on
        with self.lock:
            vendor_status = None
            if fault is not None and fault.answers:
                response = fault.response(vendor, req)
            elif chaos is not None and not chaos.lost:
                response = chaos.refusal(vendor)
            else:
                response = vendor.handle(req)
                vendor_status = response.status
                if chaos is not None:  # the vendor acted; its answer is lost on the way back
                    response = chaos.lost_answer()
            self.request_log.record(vendor_name, req, response.status, fault is not None,
                                    chaos.kind if chaos else None, vendor_status)
        return response


# --------------------------------------------------------------------------- server


class SandboxHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "vendor-sandbox/1"

    def do_GET(self) -> None:
        body = self.read_body()
        host = self.headers.get("Host") or "%s:%d" % self.server.server_address[:2]
        self.send(self.server.sandbox.handle(self.command, self.path, self.headers, body, host))

    do_POST = do_PUT = do_DELETE = do_PATCH = do_GET

    def read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while (size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)) > 0:
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):  # trailers
                pass
            return b"".join(chunks)
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0
        return self.rfile.read(length) if length > 0 else b""

    def send(self, response: Response) -> None:
        if response.drop:
            self.drop_connection()
            return
        self.send_response(response.status)
        if response.content_type:
            self.send_header("Content-Type", response.content_type)
        for name, value in response.headers.items():
            self.send_header(name, value)
        if response.status != 204:
            self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if response.status != 204:
            self.wfile.write(response.body)

    def drop_connection(self) -> None:
        """Close the connection without a byte of answer; the client sees it closed
        before any response (hyper: "connection closed before message completed")."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # the client has gone already

    def log_message(self, format: str, *args: Any) -> None:
        pass  # GET /_sandbox/requests is the access log


class SandboxServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], sandbox: Sandbox):
        self.sandbox = sandbox
        super().__init__(address, SandboxHandler)


def write_atomically(path: str, text: str) -> None:
    """Write via a temporary file and a rename, so readers never see a partial file."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, temporary = tempfile.mkstemp(dir=directory, prefix=".vendor-sandbox-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def loopback_address(host: str) -> str | None:
    """The IPv4 loopback address to bind for `host`, or None if it is not loopback."""
    if host == "localhost":
        return "127.0.0.1"
    try:
        return host if ipaddress.IPv4Address(host).is_loopback else None
    except ValueError:
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Stateful local sandboxes of vendorlink's five vendor APIs.")
    parser.add_argument("--port", type=int, default=0, help="TCP port; 0 (default) picks a free one")
    parser.add_argument("--seed", help="seed JSON file (see README.md); defaults apply to what it leaves out")
    parser.add_argument("--ready-file", help="write the chosen port here (atomically) once listening")
    parser.add_argument("--host", default="127.0.0.1", help="IPv4 loopback address to bind (default 127.0.0.1)")
    parser.add_argument("--exit-with-stdin", action="store_true",
                        help="stop when standard input closes, so a test harness that dies takes the sandbox with it")
    args = parser.parse_args(argv)
    host = loopback_address(args.host)
    if host is None:
        parser.error(f"--host {args.host} is not an IPv4 loopback address: the sandbox binds to loopback only")
    try:
        seed = load_seed(args.seed)
    except (OSError, ValueError) as problem:
        parser.error(f"--seed: {problem}")

    server = SandboxServer((host, args.port), Sandbox(seed))
    port = server.server_address[1]

    def stop(signum: int, frame: Any) -> None:
        # shutdown() waits for serve_forever() to return, so it cannot run on this thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if args.exit_with_stdin:
        def watch_stdin() -> None:
            while sys.stdin.buffer.read(4096):
                pass
            stop(signal.SIGTERM, None)
        threading.Thread(target=watch_stdin, daemon=True).start()
    if args.ready_file:
        write_atomically(args.ready_file, f"{port}\n")
    print(f"vendor-sandbox listening on http://{host}:{port}", file=sys.stderr, flush=True)
    try:
        server.serve_forever(poll_interval=0.1)
    finally:
        server.server_close()
        if args.ready_file:
            try:
                os.unlink(args.ready_file)
            except FileNotFoundError:
                pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
