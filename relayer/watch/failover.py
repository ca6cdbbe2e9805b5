"""A Web3 for one chain that fails over across the chain's `rpc` list, for the reads and sends that
need one node (feed state, status, preflight, the relay): each request goes to the endpoint that
last answered (rpc[0] at first) and moves on to the next only when that one gave no answer at all.
"""

from __future__ import annotations

import logging
import threading
import time
import urllib.parse
from collections.abc import Callable, Sequence
from typing import Any

import requests
from web3 import Web3
from web3.providers.base import JSONBaseProvider
from web3.providers.rpc import HTTPProvider
from web3.providers.rpc.utils import check_if_retry_on_failure
from web3.types import RPCEndpoint, RPCResponse

from relayer import metrics
from relayer.config import ChainConfig
from relayer.errors import ChainError
from relayer.watch.rpc import RpcUnavailable, redact_url

log = logging.getLogger(__name__)

# HTTP statuses that mean "this endpoint cannot serve now" (overloaded, rate-limited, a gateway in
# front of a dead node), not an answer to the request: the next endpoint is tried
_RETRY_ELSEWHERE_STATUS = frozenset({408, 429})

DEFAULT_PASSES = 3
DEFAULT_BACKOFF_S = 0.25


def is_connection_failure(exc: BaseException) -> bool:
    """True when `exc` (from web3's HTTPProvider) means the endpoint gave no answer: connection
    refused or reset, DNS failure, a timeout, a truncated body, HTTP 5xx, 408 or 429. A JSON-RPC
    error object (a revert, "nonce too low") is an answer and never reaches here as an exception of
    these types: web3 raises it later, from the response, for the caller to judge."""
    if isinstance(exc, requests.HTTPError):
        status = exc.response.status_code if exc.response is not None else None
        return status is not None and (status >= 500 or status in _RETRY_ELSEWHERE_STATUS)
    return isinstance(exc, (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError))


class FailoverHTTPProvider(JSONBaseProvider):
    """JSON-RPC over HTTP to the first of several endpoints of ONE chain that answers.

    Per request: the last endpoint that answered is tried first, then the others in configuration
    order (wrapping around); whichever answers becomes the one tried first from then on (sticky, so a
    dead rpc[0] costs one failure, not one per request). A pass that finds no endpoint answering is
    repeated, after a short backoff, up to `passes` times for the methods web3 itself would retry
    (its REQUEST_RETRY_ALLOWLIST, which holds reads and eth_sendRawTransaction); others get one pass.

    Sending a signed raw transaction to the next endpoint after the previous one timed out is safe:
    the bytes are the same, so the hash and nonce are the same; at most one of the copies can be
    mined, and a node that already has it answers "already known" (the submitter treats that as
    sent). What is never done is moving on after a JSON-RPC error answer: a revert or "nonce too
    low" from one node is the chain's answer, not a sign that the node is down.
    """

    def __init__(self, urls: Sequence[str], timeout_s: float, *, chain_name: str = "", passes: int = DEFAULT_PASSES,
                 backoff_s: float = DEFAULT_BACKOFF_S,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        super().__init__()
        if not urls:
            raise ChainError(f"{chain_name or 'chain'}: no RPC endpoint configured")
        if timeout_s <= 0:
            raise ChainError(f"RPC timeout must be positive, got {timeout_s}")
        if passes < 1:
            raise ChainError(f"failover passes must be at least 1, got {passes}")
        self.chain_name = chain_name
        self.passes = passes
        self.backoff_s = backoff_s
        self._sleep = sleep
        # web3's own retries are off: moving to the next endpoint replaces retrying a dead one
        # (each retry of a stalled node would cost a full timeout)
        self._providers = [HTTPProvider(u, request_kwargs={"timeout": timeout_s}, exception_retry_configuration=None)
                           for u in urls]
        self._urls = tuple(urls)
        self.endpoints = tuple(redact_url(u) for u in urls)
        self._current = 0
        self._lock = threading.Lock()

    def __str__(self) -> str:
        return f"RPC failover over {', '.join(self.endpoints)} (now {self.current_endpoint})"

    @property
    def current_endpoint(self) -> str:
        """The (redacted) endpoint the next request goes to first."""
        return self.endpoints[self._current]

    @property
    def endpoint_uri(self) -> Any:
        """The URL of the endpoint tried first (web3 tools read this attribute of an HTTP provider)."""
        return self._providers[self._current].endpoint_uri

    def _with_failover(self, method: str, passes: int, fn: Callable[[HTTPProvider], Any]) -> Any:
        n = len(self._providers)
        failures: list[tuple[int, BaseException]] = []
        for p in range(passes):
            if p:
                self._sleep(self.backoff_s * 2 ** (p - 1))
            start = self._current
            for k in range(n):
                i = (start + k) % n
                try:
                    result = fn(self._providers[i])
                except Exception as exc:  # noqa: BLE001 - filtered just below; the rest propagates
                    if not is_connection_failure(exc):
                        raise
                    failures.append((i, exc))
                    metrics.RPC_ENDPOINT_ERRORS.labels(chain=self.chain_name, endpoint=self.endpoints[i]).inc()
                    log.warning("%s: RPC endpoint %s gave no answer to %s (%s)%s", self.chain_name, self.endpoints[i],
                                method, self._short(exc), "; trying the next" if n > 1 else "")
                    continue
                if i != self._current:
                    with self._lock:
                        self._current = i
                    log.warning("%s: RPC requests now go to %s", self.chain_name, self.endpoints[i])
                return result
        if n == 1:
            raise failures[-1][1]  # one endpoint: exactly what web3's provider raised, as without failover
        tried = "; ".join(f"{self.endpoints[i]}: {self._short(exc)}" for i, exc in failures[-n:])
        raise RpcUnavailable(f"{self.chain_name}: none of the {n} RPC endpoints answered {method} "
                             f"({passes} pass(es)): {tried}") from None

    def _short(self, exc: BaseException) -> str:
        text = str(exc).splitlines()[0] if str(exc) else ""
        return f"{type(exc).__name__}: {_scrub(text, self._urls)[:240]}"

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        passes = self.passes if check_if_retry_on_failure(method) else 1
        return self._with_failover(method, passes, lambda prov: prov.make_request(method, params))

    def make_batch_request(self, batch_requests: list[tuple[RPCEndpoint, Any]]) -> list[RPCResponse] | RPCResponse:
        # a batch may hold a method that is not safe to repeat: one pass
        return self._with_failover("a batch", 1, lambda prov: prov.make_batch_request(batch_requests))


def _scrub(text: str, urls: Sequence[str]) -> str:
    """`text` with each URL (and its path, which requests' messages quote alone) in redacted form,
    so an API key in a URL never reaches a log line or an error message."""
    for u in urls:
        parts = urllib.parse.urlsplit(u)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        text = text.replace(u, redact_url(u))
        if path not in ("", "/"):
            red = urllib.parse.urlsplit(redact_url(u))
            text = text.replace(path, red.path + (f"?{red.query}" if red.query else ""))
    return text


def chain_web3(chain: ChainConfig, timeout_s: float, *, passes: int = DEFAULT_PASSES) -> Web3:
    """A Web3 over every endpoint in `chain.rpc`, failing over on connection-level failures only
    (see FailoverHTTPProvider). `timeout_s` bounds each request to each endpoint."""
    return Web3(FailoverHTTPProvider(chain.rpc, timeout_s, chain_name=chain.name, passes=passes))


__all__ = ["FailoverHTTPProvider", "chain_web3", "is_connection_failure"]
