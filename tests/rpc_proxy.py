"""Test-only JSON-RPC proxy in front of a real node that can lie: rewrite a method's result,
delay answers past a client's timeout, or answer with an error. Used to show that the watcher
rejects what a dishonest or broken endpoint returns.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from relayer.watch import rlp

Rewrite = Callable[[list[Any], Any], Any]  # (params, upstream result) -> result to send


class RpcProxy:
    """`with RpcProxy(upstream) as proxy:` serves on `proxy.url`. Install lies with `rewrite`,
    slowness with `delay`; `calls` records the methods seen."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.rewrites: dict[str, list[Rewrite]] = {}
        self.delays: dict[str, float] = {}
        self.calls: list[str] = []
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep pytest output clean
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                try:
                    out = proxy._handle(body)
                except Exception as exc:  # report proxy bugs to the client instead of hanging it
                    out = json.dumps({"jsonrpc": "2.0", "id": None, "error": {"code": -1, "message": f"proxy: {exc}"}}).encode()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(out)))
                    self.end_headers()
                    self.wfile.write(out)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> RpcProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()

    def rewrite(self, method: str, fn: Rewrite) -> None:
        with self._lock:
            self.rewrites.setdefault(method, []).append(fn)

    def delay(self, method: str, seconds: float) -> None:
        """Answer `method` (or "*" for every method) only after `seconds`."""
        with self._lock:
            self.delays[method] = seconds

    def clear(self) -> None:
        with self._lock:
            self.rewrites.clear()
            self.delays.clear()

    def _handle(self, body: bytes) -> bytes:
        req = json.loads(body)
        method = req.get("method", "")
        with self._lock:
            self.calls.append(method)
            delay = self.delays.get(method, self.delays.get("*", 0.0))
            fns = list(self.rewrites.get(method, []))
        if delay:
            time.sleep(delay)
        up = urllib.request.Request(self.upstream, data=body, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(up, timeout=30) as resp:
            reply = json.loads(resp.read())
        if "result" in reply:
            for fn in fns:
                reply["result"] = fn(req.get("params", []), reply["result"])
        return json.dumps(reply).encode()


# ---- ready-made lies -------------------------------------------------------------------------


def for_address(address: str, fn: Rewrite) -> Rewrite:
    """Apply an eth_getProof / eth_call rewrite only to requests about `address`."""

    def wrapped(params: list[Any], result: Any) -> Any:
        target = params[0] if isinstance(params[0], str) else params[0].get("to", "")
        return fn(params, result) if str(target).lower() == address.lower() else result

    return wrapped


def proof_value(slot: int, new_value: int) -> Rewrite:
    """eth_getProof: report `new_value` for `slot`, leaving the (honest) proof nodes alone."""

    def fn(params: list[Any], result: Any) -> Any:
        for entry in result["storageProof"]:
            if int(entry["key"], 16) == slot:
                entry["value"] = hex(new_value)
        return result

    return fn


def proof_leaf(slot: int, new_value: int) -> Rewrite:
    """eth_getProof: report `new_value` AND rewrite the value inside the proof's leaf node, so the
    answer is self-consistent except for the hash link from the leaf's parent."""

    def fn(params: list[Any], result: Any) -> Any:
        for entry in result["storageProof"]:
            if int(entry["key"], 16) == slot:
                leaf = rlp.decode(bytes.fromhex(entry["proof"][-1][2:]))
                assert isinstance(leaf, list) and len(leaf) == 2, "expected a leaf node at the end of the proof"
                leaf[1] = rlp.encode(rlp.encode_uint(new_value))
                entry["proof"][-1] = "0x" + rlp.encode(leaf).hex()
                entry["value"] = hex(new_value)
        return result

    return fn


def call_result(selector: bytes, fn_word: Callable[[bytes], bytes]) -> Rewrite:
    """eth_call: rewrite the returned data of calls whose calldata starts with `selector`."""

    def fn(params: list[Any], result: Any) -> Any:
        data = params[0].get("data") or params[0].get("input") or "0x"
        if bytes.fromhex(data[2:10]) == selector:
            return "0x" + fn_word(bytes.fromhex(result[2:])).hex()
        return result

    return fn


def header_field(field: str, value: str) -> Rewrite:
    """eth_getBlockByNumber: replace one header field (its `hash` is left as it was)."""

    def fn(params: list[Any], result: Any) -> Any:
        if result is not None:
            result[field] = value
        return result

    return fn
