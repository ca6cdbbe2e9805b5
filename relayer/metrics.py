"""Prometheus metrics of the relayer (SPEC §6 observability): round latency per stage, proof time
per backend, gas per feed update, signer balances, last round per feed, chain heads. Served over
HTTP by `serve(port)` (`relayer run --metrics-port`); one registry per process, not the global one,
so tests and several pipelines in one process do not collide.
"""

from __future__ import annotations

import logging
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, start_http_server

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
FEED_UPDATE_GAS_TOTAL = Counter("relayer_feed_gas_spent", "Gas used by accepted feed updates", ["chain"],
                                registry=REGISTRY)
SIGNER_BALANCE_WEI = Gauge("relayer_signer_balance_wei", "Native balance of each operator account", ["chain", "signer"],
                           registry=REGISTRY)
FEED_LAST_ROUND = Gauge("relayer_feed_last_round", "lastRound() of each chain's SolvencyFeed", ["chain"], registry=REGISTRY)
FEED_RATIO_E8 = Gauge("relayer_feed_ratio_e8", "Collateralization ratio (8 decimals) the relayer last published",
                      registry=REGISTRY)
CHAIN_HEAD = Gauge("relayer_chain_head", "Latest block number seen on each chain", ["chain"], registry=REGISTRY)
ROUNDS = Counter("relayer_rounds_total", "Round attempts by outcome", ["outcome"], registry=REGISTRY)
LAST_ROUND = Gauge("relayer_last_round", "Number of the last round the relayer created", registry=REGISTRY)
PRICE_AGE_SECONDS = Gauge("relayer_price_age_seconds", "Snapshot block time minus the oracle price's updatedAt, "
                          "per asset (negative: a price from the future)", ["chain", "asset"], registry=REGISTRY)


def serve(port: int, addr: str = "127.0.0.1") -> Any:
    """Start the /metrics HTTP endpoint in a daemon thread; returns the server."""
    server, _thread = start_http_server(port, addr=addr, registry=REGISTRY)
    log.info("metrics on http://%s:%d/metrics", addr, port)
    return server


def render() -> bytes:
    """The current metrics in the Prometheus text format (what the endpoint serves)."""
    return generate_latest(REGISTRY)


__all__ = ["CHAIN_HEAD", "FEED_LAST_ROUND", "FEED_RATIO_E8", "FEED_UPDATE_GAS", "FEED_UPDATE_GAS_TOTAL", "LAST_ROUND",
           "PRICE_AGE_SECONDS", "PROOF_SECONDS", "REGISTRY", "ROUNDS", "ROUND_SECONDS", "ROUND_STAGE_SECONDS", "SIGNER_BALANCE_WEI", "render",
           "serve"]
