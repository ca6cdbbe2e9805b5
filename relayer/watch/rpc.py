"""A small JSON-RPC 2.0 client over HTTP(S) for the watcher: one endpoint, a hard timeout per call,
and every failure turned into a ChainError that names the (redacted) URL, the method and the fix.

Plain stdlib HTTP (no web3 provider) so that what was asked and what came back is exactly visible,
and so that a slow endpoint cannot hold a call past its deadline by dribbling bytes.
"""

from __future__ import annotations

import base64
import http.client
import itertools
import json
import re
import socket
import time
import urllib.parse
from typing import Any

from relayer.errors import ChainError

DEFAULT_TIMEOUT_S = 10.0
# an honest block or proof is far below this; a bigger answer is an attack or a broken node
MAX_RESPONSE_BYTES = 32 * 2**20

_SECRETISH = re.compile(r"^[A-Za-z0-9_\-]{20,}$")


class RpcUnavailable(ChainError):
    """The endpoint gave no usable answer: no connection, a timeout, an HTTP error status, a reply
    that is not JSON, or a JSON-RPC error object. Unlike a wrong or unprovable answer (a plain
    ChainError: the endpoint lies or is broken), this says nothing about the chain, so a snapshot
    may go on without this endpoint when enough others answer (chains.<name>.rpc_quorum)."""


def redact_url(url: str) -> str:
    """The URL for messages and logs: credentials and API-key-looking path segments and query
    values (e.g. Infura's /v3/<key>) are replaced with ***; scheme, host and port stay."""
    try:
        p = urllib.parse.urlsplit(url)
    except ValueError:
        return "<unparsable url>"
    host = p.hostname or ""
    if p.port:
        host = f"{host}:{p.port}"
    if p.username or p.password:
        host = f"***@{host}"
    path = "/".join("***" if _SECRETISH.match(seg) else seg for seg in p.path.split("/"))
    query = "&".join(f"{k}=***" for k, _ in urllib.parse.parse_qsl(p.query, keep_blank_values=True))
    return urllib.parse.urlunsplit((p.scheme, host, path, query, ""))


class RpcClient:
    """JSON-RPC over HTTP to one endpoint. `call` raises ChainError, never a transport exception."""

    def __init__(self, url: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ChainError(f"{redact_url(url)}: the watcher speaks JSON-RPC over http(s); use an http:// or "
                             "https:// URL for this endpoint")
        if timeout_s <= 0:
            raise ChainError(f"RPC timeout must be positive, got {timeout_s}")
        self.url = url
        self.name = redact_url(url)
        self.timeout_s = float(timeout_s)
        self._parsed = parsed
        self._ids = itertools.count(1)

    def __repr__(self) -> str:
        return f"RpcClient({self.name!r}, timeout_s={self.timeout_s})"

    def _connection(self, timeout: float) -> http.client.HTTPConnection:
        p = self._parsed
        if p.scheme == "https":
            return http.client.HTTPSConnection(p.hostname or "", p.port, timeout=timeout)
        return http.client.HTTPConnection(p.hostname or "", p.port, timeout=timeout)

    def call(self, method: str, params: list[Any] | None = None) -> Any:
        """One request; returns `result`. The whole exchange (connect, send, read) must finish
        within `timeout_s` seconds."""
        req_id = next(self._ids)
        body = json.dumps({"jsonrpc": "2.0", "id": req_id, "method": method, "params": params or []}).encode()
        deadline = time.monotonic() + self.timeout_s
        path = self._parsed.path or "/"
        if self._parsed.query:
            path += "?" + self._parsed.query
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self._parsed.username is not None:
            cred = f"{urllib.parse.unquote(self._parsed.username)}:{urllib.parse.unquote(self._parsed.password or '')}"
            headers["Authorization"] = "Basic " + base64.b64encode(cred.encode()).decode()
        conn = self._connection(self.timeout_s)
        try:
            try:
                conn.request("POST", path, body=body, headers=headers)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError
                if conn.sock is not None:
                    conn.sock.settimeout(remaining)  # the status line and headers share the deadline
                resp = conn.getresponse()
                chunks: list[bytes] = []
                size = 0
                while True:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise TimeoutError
                    if conn.sock is not None:
                        conn.sock.settimeout(remaining)
                    chunk = resp.read1(65536) if hasattr(resp, "read1") else resp.read(65536)
                    if not chunk:
                        break
                    size += len(chunk)
                    if size > MAX_RESPONSE_BYTES:
                        raise ChainError(f"{self.name}: {method} answer exceeds {MAX_RESPONSE_BYTES} bytes; "
                                         "the endpoint is broken or hostile")
                    chunks.append(chunk)
                    if time.monotonic() > deadline:
                        raise TimeoutError
                status = resp.status
            except (TimeoutError, socket.timeout):
                raise RpcUnavailable(f"{self.name}: no answer to {method} within {self.timeout_s:g} s; the endpoint is "
                                 "overloaded or unreachable (raise the timeout or use another RPC)") from None
            except ConnectionRefusedError:
                raise RpcUnavailable(f"{self.name}: connection refused ({method}); is the node running and the URL "
                                 "right?") from None
            except socket.gaierror as exc:
                raise RpcUnavailable(f"{self.name}: cannot resolve host ({exc.strerror}); check the URL") from None
            except (OSError, http.client.HTTPException) as exc:
                raise RpcUnavailable(f"{self.name}: {method} failed: {type(exc).__name__}: {exc}") from None
        finally:
            conn.close()
        raw = b"".join(chunks)
        if status != 200:
            raise RpcUnavailable(f"{self.name}: {method} got HTTP {status}: {raw[:200]!r}")
        try:
            reply = json.loads(raw)
        except ValueError:
            raise RpcUnavailable(f"{self.name}: {method} answer is not JSON: {raw[:200]!r}") from None
        if not isinstance(reply, dict):
            raise ChainError(f"{self.name}: {method} answer is not a JSON-RPC object: {raw[:200]!r}")
        if reply.get("id") != req_id:
            raise ChainError(f"{self.name}: {method} answer has id {reply.get('id')!r}, expected {req_id}")
        if "error" in reply and reply["error"] is not None:
            err = reply["error"]
            msg = err.get("message") if isinstance(err, dict) else err
            code = err.get("code") if isinstance(err, dict) else None
            raise RpcUnavailable(f"{self.name}: {method} returned error {code}: {msg}")
        if "result" not in reply:
            raise ChainError(f"{self.name}: {method} answer has neither result nor error")
        return reply["result"]

    # ---- typed helpers ------------------------------------------------------------------

    def chain_id(self) -> int:
        return _quantity(self.call("eth_chainId"), f"{self.name} eth_chainId")

    def block_number(self) -> int:
        return _quantity(self.call("eth_blockNumber"), f"{self.name} eth_blockNumber")

    def get_block(self, block: int | str) -> dict[str, Any] | None:
        """`eth_getBlockByNumber(block, false)`; `block` is a number or a tag (latest, finalized)."""
        tag = hex(block) if isinstance(block, int) else block
        result = self.call("eth_getBlockByNumber", [tag, False])
        if result is not None and not isinstance(result, dict):
            raise ChainError(f"{self.name}: eth_getBlockByNumber({tag}) returned {type(result).__name__}")
        return result

    def get_proof(self, address: str, slots: list[int], block: int | bytes) -> Any:
        """`eth_getProof` (EIP-1186) at a block number, or at a block hash (EIP-1898) so that a
        reorg between two reads makes the second fail instead of answering for another block."""
        return self.call("eth_getProof", [address, [f"0x{s:064x}" for s in slots], _block_param(block)])

    def eth_call(self, to: str, data: bytes, block: int | bytes) -> bytes:
        result = self.call("eth_call", [{"to": to, "data": "0x" + data.hex()}, _block_param(block)])
        if not isinstance(result, str) or not result.startswith("0x"):
            raise ChainError(f"{self.name}: eth_call to {to} returned {result!r}, not 0x-hex data")
        try:
            return bytes.fromhex(result[2:])
        except ValueError:
            raise ChainError(f"{self.name}: eth_call to {to} returned invalid hex") from None


def _block_param(block: int | bytes) -> Any:
    if isinstance(block, bytes):
        if len(block) != 32:
            raise ChainError(f"a block hash is 32 bytes, got {len(block)}")
        return {"blockHash": "0x" + block.hex()}
    return hex(block)


def _quantity(value: Any, where: str) -> int:
    if not isinstance(value, str) or not value.startswith("0x"):
        raise ChainError(f"{where}: expected a 0x-hex quantity, got {value!r}")
    try:
        return int(value, 16)
    except ValueError:
        raise ChainError(f"{where}: {value!r} is not a hex quantity") from None


__all__ = ["DEFAULT_TIMEOUT_S", "RpcClient", "RpcUnavailable", "redact_url"]
