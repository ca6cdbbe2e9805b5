"""Frozen domain objects shared by the pipeline stages (watch -> risk -> prove -> attest -> relay).

Everything here is an exact integer in a documented unit; a stage hands the next one of these
objects, never its own internals. Units are `NewType`s so that a type checker catches a wei
passed where micro-USD is expected.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NewType

from relayer.errors import ChainError

ChainId = NewType("ChainId", int)
BlockNumber = NewType("BlockNumber", int)
Wei = NewType("Wei", int)
# USD with 6 decimals: 1 USD == 1_000_000 MicroUsd (the unit of A_i, L_i, ... in SPEC §2)
MicroUsd = NewType("MicroUsd", int)

MICRO_USD_PER_USD = 10**6


@dataclass(frozen=True)
class PriceReading:
    """One Chainlink-style `latestRoundData` answer, as proven from the aggregator's storage.

    `answer` is signed (int256 on chain); USD price = answer / 10**decimals.
    """

    feed: str  # aggregator address (EIP-55)
    answer: int
    decimals: int
    round_id: int
    started_at: int
    updated_at: int
    answered_in_round: int


@dataclass(frozen=True)
class AssetHolding:
    """What a chain's vault holds of one asset at the snapshot block, and that asset's price."""

    symbol: str
    token: str  # EIP-55
    token_decimals: int
    haircut_bps: int
    amount: int  # CollateralVault.totalHeld[token], in the token's smallest unit
    price: PriceReading


@dataclass(frozen=True)
class AssetValue:
    """A_i's share from one asset: amount x price x (1 - haircut), rounded down to MicroUsd."""

    symbol: str
    amount: int
    token_decimals: int
    price_answer: int
    price_decimals: int
    haircut_bps: int
    value: MicroUsd


@dataclass(frozen=True)
class ChainSnapshot:
    """One chain's state at one block: header facts (hash-checked) and the vault's holdings and
    prices (storage-proof-checked against `state_root`, agreed by every RPC in `rpc_urls`)."""

    chain_id: ChainId
    chain_name: str
    block_number: BlockNumber
    block_hash: bytes  # 32 bytes
    state_root: bytes  # 32 bytes
    timestamp: int  # block timestamp, seconds since the epoch
    vault: str  # EIP-55
    holdings: tuple[AssetHolding, ...]
    rpc_urls: tuple[str, ...] = field(default=())  # the endpoints that agreed (redacted form)

    def __post_init__(self) -> None:
        if len(self.block_hash) != 32 or len(self.state_root) != 32:
            raise ChainError("a snapshot's block hash and state root are 32 bytes each")

    def holding(self, symbol: str) -> AssetHolding:
        for h in self.holdings:
            if h.symbol == symbol:
                return h
        raise ChainError(f"snapshot of chain {self.chain_id} has no asset {symbol!r}; "
                         f"it has {', '.join(h.symbol for h in self.holdings)}")

    @property
    def block_ref(self) -> tuple[BlockNumber, bytes]:
        """(number, hash): what the reorg tracker and the attestation pin."""
        return self.block_number, self.block_hash


__all__ = ["AssetHolding", "AssetValue", "BlockNumber", "ChainId", "ChainSnapshot", "MICRO_USD_PER_USD",
           "MicroUsd", "PriceReading", "Wei"]
