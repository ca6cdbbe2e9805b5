"""The JSON-RPC client: clear ChainErrors for every way an endpoint can fail, secrets kept out of messages."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from relayer.devnet.anvil import free_port
from relayer.errors import ChainError
from relayer.watch.rpc import RpcClient, redact_url

Responder = Callable[[dict[str, Any]], tuple[int, bytes]]


@pytest.fixture()
def server() -> Iterator[Callable[[Responder], str]]:
    """A local HTTP server answering with whatever the test's responder returns."""
    servers: list[ThreadingHTTPServer] = []

    def start(responder: Responder) -> str:
        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                req = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                status, body = responder(req)
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        srv.daemon_threads = True
        threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        servers.append(srv)
        return f"http://127.0.0.1:{srv.server_address[1]}"

    yield start
    for s in servers:
        s.shutdown()
        s.server_close()


def ok(result: Any) -> Responder:
    return lambda req: (200, json.dumps({"jsonrpc": "2.0", "id": req["id"], "result": result}).encode())


def test_result_and_typed_helpers(server: Callable[[Responder], str]) -> None:
    url = server(ok("0x7a69"))
    c = RpcClient(url)
    assert c.call("eth_chainId") == "0x7a69" and c.chain_id() == 31337 and c.block_number() == 31337


@pytest.mark.parametrize(("responder", "msg"), [
    (lambda req: (200, json.dumps({"jsonrpc": "2.0", "id": req["id"], "error": {"code": -32601, "message": "no such method"}}).encode()),
     "eth_chainId returned error -32601: no such method"),
    (lambda req: (503, b"upstream down"), "eth_chainId got HTTP 503"),
    (lambda req: (200, b"<html>"), "answer is not JSON"),
    (lambda req: (200, b"[1, 2]"), "not a JSON-RPC object"),
    (lambda req: (200, json.dumps({"jsonrpc": "2.0", "id": req["id"] + 1, "result": "0x1"}).encode()), "has id"),
    (lambda req: (200, json.dumps({"jsonrpc": "2.0", "id": req["id"]}).encode()), "neither result nor error"),
    (lambda req: (200, json.dumps({"jsonrpc": "2.0", "id": req["id"], "result": 12}).encode()), "expected a 0x-hex quantity"),
])
def test_bad_answers_are_chain_errors(server: Callable[[Responder], str], responder: Responder, msg: str) -> None:
    url = server(responder)
    with pytest.raises(ChainError, match=rf"^{url}: .*{msg}|{msg}"):
        RpcClient(url).chain_id()


def test_unreachable_and_unresolvable() -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ChainError, match=rf"^{dead}: connection refused \(eth_blockNumber\); is the node running"):
        RpcClient(dead).block_number()
    with pytest.raises(ChainError, match="cannot resolve host"):
        RpcClient("http://no-such-host.invalid:8545", timeout_s=2).block_number()


def test_timeout_is_a_deadline(server: Callable[[Responder], str]) -> None:
    def slow(req: dict[str, Any]) -> tuple[int, bytes]:
        time.sleep(3)
        return ok("0x1")(req)

    url = server(slow)
    t0 = time.monotonic()
    with pytest.raises(ChainError, match=rf"^{url}: no answer to eth_blockNumber within 0.3 s"):
        RpcClient(url, timeout_s=0.3).block_number()
    assert time.monotonic() - t0 < 1.0


def test_bad_urls_and_timeouts_refused() -> None:
    with pytest.raises(ChainError, match="use an http:// or https:// URL"):
        RpcClient("ws://127.0.0.1:8546")
    with pytest.raises(ChainError, match="timeout must be positive"):
        RpcClient("http://127.0.0.1:8545", timeout_s=0)


def test_secrets_never_in_messages() -> None:
    assert redact_url("https://mainnet.infura.io/v3/0123456789abcdef0123456789abcdef") == "https://mainnet.infura.io/v3/***"
    assert redact_url("https://user:pw@rpc.example.com:8443/path?apikey=SECRET") == "https://***@rpc.example.com:8443/path?apikey=***"
    assert redact_url("http://127.0.0.1:8545") == "http://127.0.0.1:8545"
    key = "0123456789abcdef0123456789abcdef"
    dead = f"http://127.0.0.1:{free_port()}/v3/{key}"
    with pytest.raises(ChainError) as info:
        RpcClient(dead).chain_id()
    assert key not in str(info.value) and "/v3/***" in str(info.value)
