"""Reorg detection by block hash: remember the (number, hash) a chain's snapshot was taken at and
ask, before the snapshot is used, whether every endpoint's canonical chain still has that hash
at that height (endpoints that do not answer are left out, down to the chain's rpc_quorum). If not,
the snapshot is void and the pipeline takes a new one.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from relayer import metrics
from relayer.config import ChainConfig
from relayer.errors import ChainError
from relayer.types import BlockNumber, ChainSnapshot
from relayer.watch.header import parse_header
from relayer.watch.rpc import DEFAULT_TIMEOUT_S, RpcClient, RpcUnavailable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reorg:
    """The pinned block is no longer canonical on `rpc`."""

    chain_name: str
    number: BlockNumber
    pinned_hash: bytes
    canonical_hash: bytes | None  # None: the chain is now shorter than `number`
    rpc: str

    def __str__(self) -> str:
        now = f"0x{self.canonical_hash.hex()}" if self.canonical_hash else "no block (the chain is shorter)"
        return (f"{self.chain_name}: block {self.number} was 0x{self.pinned_hash.hex()} at snapshot time, "
                f"{self.rpc} now has {now}; the snapshot must be redone")


class ReorgTracker:
    """Per-chain tracker of the snapshot block. Not thread-safe: one per chain's watcher."""

    def __init__(self, chain: ChainConfig, timeout_s: float = DEFAULT_TIMEOUT_S,
                 clients: Sequence[RpcClient] | None = None) -> None:
        self.chain = chain
        self.clients = list(clients) if clients is not None else [RpcClient(u, timeout_s) for u in chain.rpc]
        self._pinned: tuple[BlockNumber, bytes] | None = None

    @property
    def pinned(self) -> tuple[BlockNumber, bytes] | None:
        return self._pinned

    def record(self, snapshot: ChainSnapshot) -> None:
        if snapshot.chain_id != self.chain.chain_id:
            raise ChainError(f"{self.chain.name}: tracker for chain {self.chain.chain_id} given a snapshot of chain "
                             f"{snapshot.chain_id}")
        self._pinned = snapshot.block_ref

    def forget(self) -> None:
        self._pinned = None

    def check(self) -> Reorg | None:
        """None while every endpoint that answers still has the pinned hash at the pinned height; else
        the Reorg. Fewer answering endpoints than the snapshot needs (chains.<name>.rpc_quorum, default
        all) raises ChainError: unknown is not "no reorg"."""
        if self._pinned is None:
            raise ChainError(f"{self.chain.name}: no snapshot recorded; call record(snapshot) first")
        number, pinned_hash = self._pinned
        needed = self.chain.rpc_quorum if self.chain.rpc_quorum is not None else len(self.clients)
        failed: list[RpcUnavailable] = []
        for c in self.clients:
            try:
                block = c.get_block(int(number))
            except RpcUnavailable as exc:
                # no answer says nothing about a reorg: the others decide, if enough of them answer
                failed.append(exc)
                metrics.RPC_ENDPOINT_ERRORS.labels(chain=self.chain.name, endpoint=c.name).inc()
                log.warning("%s: RPC endpoint %s left out of the reorg check: %s", self.chain.name, c.name, exc)
                continue
            if block is None:
                event = Reorg(self.chain.name, number, pinned_hash, None, c.name)
            else:
                header = parse_header(block, where=f"{self.chain.name} {c.name}")
                if header.number != number:
                    raise ChainError(f"{self.chain.name}: {c.name} answered block {header.number} for {number}")
                if header.hash == pinned_hash:
                    continue
                event = Reorg(self.chain.name, number, pinned_hash, header.hash, c.name)
            log.warning("reorg: %s", event)
            return event
        if len(self.clients) - len(failed) < needed:
            raise ChainError(f"{self.chain.name}: cannot tell whether block {number} is still canonical: "
                             f"{len(self.clients) - len(failed)} of {len(self.clients)} RPC endpoint(s) answered, "
                             f"{needed} needed (rpc_quorum); " + "; ".join(str(e) for e in failed))
        return None


__all__ = ["Reorg", "ReorgTracker"]
