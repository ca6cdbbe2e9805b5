"""Prometheus metrics of the relayer (SPEC §6 observability): round latency per stage, proof time
per backend, gas per feed update, signer balances, last round per feed, chain heads, price ages.
Served over HTTP by `serve(port)` (`relayer run --metrics-port`): GET /metrics (Prometheus text) and,
when the daemon passes a status function, GET /status (JSON); any other path is a 404. One registry
per process, not the global one, so tests and several pipelines in one process do not collide.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping
from http.server import ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import MetricsHandler

log = logging.getLogger(__name__)

REGISTRY = CollectorRegistry(auto_describe=True)

_LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, float("inf"))

ROUND_STAGE_SECONDS = Histogram("relayer_round_stage_seconds", "Seconds spent in each stage of a round",
                                ["stage"], registry=REGISTRY, buckets=_LATENCY_BUCKETS)
ROUND_SECONDS = Histogram("relayer_round_seconds", "Seconds from the first snapshot to the last feed updated",
                          registry=REGISTRY, buckets=_LATENCY_BUCKETS)
PROOF_SECONDS = Histogram("relayer_proof_seconds", "Seconds to prove one chain's solvency statement",
                          ["backend", "chain"], registry=REGISTRY, buckets=_LATENCY_BUCKETS)
FEED_UPDATE_GAS = Gauge("relayer_feed_update_gas", "Gas used by the last accepted feed update", ["chain"],
                        registry=REGISTRY)
# counted by the submitter once per mined transaction, when its receipt is first recorded in the store
FEED_UPDATE_GAS_TOTAL = Counter("relayer_feed_gas_spent", "Gas used by every mined transaction of the relayer "
                                "(submits and their replacements, cancels; successful or reverted)", ["chain"],
                                registry=REGISTRY)
SIGNER_BALANCE_WEI = Gauge("relayer_signer_balance_wei", "Native balance of each operator account", ["chain", "signer"],
                           registry=REGISTRY)
FEED_LAST_ROUND = Gauge("relayer_feed_last_round", "lastRound() of each chain's SolvencyFeed", ["chain"], registry=REGISTRY)
FEED_RATIO_E8 = Gauge("relayer_feed_ratio_e8", "Collateralization ratio (8 decimals) the relayer last published",
                      registry=REGISTRY)
CHAIN_HEAD = Gauge("relayer_chain_head", "Latest block number seen on each chain", ["chain"], registry=REGISTRY)
ROUNDS = Counter("relayer_rounds_total", "Round attempts by outcome", ["outcome"], registry=REGISTRY)
LAST_ROUND = Gauge("relayer_last_round", "Number of the last round the relayer created", registry=REGISTRY)
# an endpoint of a chain's rpc list that failed to answer (snapshot reads, or a request the failover web3
# moved on from); `endpoint` is the redacted URL (relayer.watch.rpc.redact_url), never an API key
RPC_ENDPOINT_ERRORS = Counter("relayer_rpc_endpoint_errors", "RPC endpoint failures (no connection, timeout, HTTP "
                              "error, JSON-RPC error in a snapshot) per chain and endpoint", ["chain", "endpoint"],
                              registry=REGISTRY)
PRICE_AGE_SECONDS = Gauge("relayer_price_age_seconds", "Snapshot block time minus the oracle price's updatedAt, "
                          "per asset (negative: a price from the future)", ["chain", "asset"], registry=REGISTRY)


StatusFn = Callable[[], Mapping[str, Any]]


class _Handler(MetricsHandler):
    """/metrics through prometheus_client's own handler (content negotiation, gzip); /status as
    JSON from the server's status function; everything else 404."""

    registry = REGISTRY

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path == "/metrics":
            super().do_GET()
            return
        status_fn: StatusFn | None = getattr(self.server, "status_fn", None)
        if path == "/status" and status_fn is not None:
            try:
                code, doc = 200, dict(status_fn())
            except Exception as exc:  # a bug in a status read must not kill the server thread
                log.exception("GET /status")
                code, doc = 500, {"error": f"{type(exc).__name__}: {exc}"}
            self._send(code, "application/json", json.dumps(doc, indent=1, default=str).encode() + b"\n")
            return
        paths = "/metrics, /status" if status_fn is not None else "/metrics"
        self._send(404, "text/plain; charset=utf-8", f"not found: {path} (this server has {paths})\n".encode())

    def _send(self, code: int, ctype: str, body: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # one thread per request: a slow /status never holds up a scrape
    status_fn: StatusFn | None = None


def serve(port: int, addr: str = "127.0.0.1", status: StatusFn | None = None) -> ThreadingHTTPServer:
    """Start the HTTP endpoint (/metrics, and /status when `status` is given) in a daemon thread;
    returns the server (`server_port` is the bound port when `port` is 0; `shutdown()` stops it)."""
    server = _Server((addr, port), _Handler)
    server.status_fn = status
    threading.Thread(target=server.serve_forever, name="metrics-http", daemon=True).start()
    log.info("metrics on http://%s:%d/metrics%s", addr, server.server_port, " and /status" if status else "")
    return server


def render() -> bytes:
    """The current metrics in the Prometheus text format (what the endpoint serves)."""
    return generate_latest(REGISTRY)


__all__ = ["CHAIN_HEAD", "FEED_LAST_ROUND", "FEED_RATIO_E8", "FEED_UPDATE_GAS", "FEED_UPDATE_GAS_TOTAL", "LAST_ROUND",
           "PRICE_AGE_SECONDS", "PROOF_SECONDS", "REGISTRY", "ROUNDS", "ROUND_SECONDS", "ROUND_STAGE_SECONDS", "RPC_ENDPOINT_ERRORS", "SIGNER_BALANCE_WEI", "render",
           "serve"]
