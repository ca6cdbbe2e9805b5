"""Per-chain inputs of the statement, derived from a proven snapshot: the book (the venue's private
ledger for that chain) and the public market data (marks and risk arrays) computed from the oracle
prices the watcher proved, at the snapshot block's timestamp (SPEC §2: anyone can recompute them).

Spot rule: spot (micro-USD per unit) = floor(answer * 10**6 / 10**price_decimals) of the configured
collateral asset's price feed on that chain; vol and scan ranges come from the key folder's
circuit.json. The scenario grid is the capacity's `compact_grid` (the full SPAN grid at 16).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from relayer.circuits.solvency import Capacity, ChainContext, expected_public
from relayer.config import ChainConfig
from relayer.errors import ChainError, ConfigError
from relayer.keys_setup import CircuitSpec
from relayer.risk.evaluator import BookRisk, evaluate
from relayer.risk.ledger import Book, load_json, load_sqlite
from relayer.risk.market import MarketData, MarketInputs, UnderlyingQuote, compact_grid, compute_market_data
from relayer.risk.units import USD
from relayer.types import ChainSnapshot
from relayer.watch.value import chain_assets


def load_book(chain: ChainConfig) -> Book:
    """The chain's ledger (JSON, or SQLite for .db/.sqlite); a malformed one raises LedgerError."""
    path = Path(chain.ledger) if chain.ledger is not None else None
    if path is None or not path.is_file():
        raise ConfigError(f"chains.{chain.name}.ledger: ledger file {path} does not exist; point it at the venue's "
                          "book for this chain (relayer-ledger/1 JSON or a SQLite ledger)")
    book = load_sqlite(path, chain.chain_id) if path.suffix in (".db", ".sqlite", ".sqlite3") else load_json(path)
    if book.chain_id != chain.chain_id:
        raise ConfigError(f"chains.{chain.name}.ledger: {path} is the book of chain {book.chain_id}, not {chain.chain_id}")
    return book


def market_inputs(snapshot: ChainSnapshot, spec: CircuitSpec) -> MarketInputs:
    quotes: dict[str, UnderlyingQuote] = {}
    for und, us in spec.underlyings.items():
        h = snapshot.holding(us.asset)  # ChainError naming the chain when the asset is not configured
        if h.price.answer <= 0:
            raise ChainError(f"{snapshot.chain_name}: {us.asset} price {h.price.answer} is not positive; cannot mark {und}")
        spot = h.price.answer * USD // 10**h.price.decimals
        quotes[und] = UnderlyingQuote(spot, us.vol_bps, us.scan_bps, us.vol_scan_bps)
    return MarketInputs(snapshot.timestamp, quotes)


def market_data(snapshot: ChainSnapshot, book: Book, spec: CircuitSpec) -> MarketData:
    cap = spec.capacity
    grid = compact_grid(cap.scenarios)
    return compute_market_data(book.instruments, market_inputs(snapshot, spec), grid)


@dataclass(frozen=True)
class ChainStatement:
    """Everything one chain contributes to a round, before proving: what the circuit is asked to
    prove and the 12 public inputs it must come out with (computed natively)."""

    chain: str
    snapshot: ChainSnapshot
    book: Book
    market: MarketData
    context: ChainContext
    risk: BookRisk
    public: tuple[int, ...]

    @property
    def chain_id(self) -> int:
        return int(self.snapshot.chain_id)


def chain_statement(chain: ChainConfig, snapshot: ChainSnapshot, book: Book, spec: CircuitSpec, round: int) -> ChainStatement:
    cap: Capacity = spec.capacity
    md = market_data(snapshot, book, spec)
    assets, _ = chain_assets(snapshot)
    ctx = ChainContext(chain_id=int(snapshot.chain_id), block_number=int(snapshot.block_number),
                       block_hash=snapshot.block_hash, assets=int(assets), round=round)
    risk = evaluate(book, md.padded(cap.instruments, cap.scenarios))
    public = tuple(expected_public(ctx, book, md, cap))
    return ChainStatement(chain.name, snapshot, book, md, ctx, risk, public)


__all__ = ["ChainStatement", "chain_statement", "load_book", "market_data", "market_inputs"]
