"""Reorg detection by block hash: remember the (number, hash) a chain's snapshot was taken at and
ask, before the snapshot is used, whether every endpoint's canonical chain still has that hash
at that height. If not, the snapshot is void and the pipeline takes a new one.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from relayer.config import ChainConfig
from relayer.errors import ChainError
from relayer.types import BlockNumber, ChainSnapshot
from relayer.watch.header import parse_header
from relayer.watch.rpc import DEFAULT_TIMEOUT_S, RpcClient

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
        """None while every endpoint still has the pinned hash at the pinned height; else the Reorg.
        An endpoint that cannot answer raises ChainError (unknown is not "no reorg")."""
        if self._pinned is None:
            raise ChainError(f"{self.chain.name}: no snapshot recorded; call record(snapshot) first")
        number, pinned_hash = self._pinned
        for c in self.clients:
            block = c.get_block(int(number))
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
        return None


__all__ = ["Reorg", "ReorgTracker"]
