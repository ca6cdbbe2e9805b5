"""The watch stage: per chain, a snapshot of the vault's holdings and prices at a final block,
proven against the block's state root and agreed by every configured endpoint (SPEC §1, §2)."""

from relayer.watch.reorg import Reorg, ReorgTracker
from relayer.watch.snapshot import take_snapshot, take_snapshots
from relayer.watch.value import asset_value, chain_assets

__all__ = ["Reorg", "ReorgTracker", "asset_value", "chain_assets", "take_snapshot", "take_snapshots"]
