"""Nonce manager per (chain, sender), persisted in the store and reconciled with the chain.

A nonce is taken from the stored counter in the same database transaction that records the
signed transaction (`Store.record_sent(allocate=True)`), before it is broadcast: a crash can
leave a recorded-but-unsent transaction (the submitter re-broadcasts exactly it), never a nonce
that nobody holds. Reconciling on start: the chain's pending count is the floor (anything lower
would be reuse); a stored counter above it is accepted only if every nonce in between belongs to
a stored transaction that can be re-broadcast (otherwise there would be a gap: HaltError).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from relayer.errors import ChainError, HaltError
from relayer.storage import Store

log = logging.getLogger(__name__)


class NonceManager:
    def __init__(self, store: Store, w3: Any, chain_id: int, sender: str) -> None:
        self.store, self.w3, self.chain_id, self.sender = store, w3, chain_id, sender
        self.lock = threading.Lock()  # one signer of transactions per (chain, sender) in this process
        self.reconciled = False

    def chain_counts(self) -> tuple[int, int]:
        """(latest, pending) transaction counts of the sender on chain."""
        try:
            latest = int(self.w3.eth.get_transaction_count(self.sender, "latest"))
            pending = int(self.w3.eth.get_transaction_count(self.sender, "pending"))
        except Exception as exc:  # noqa: BLE001 - any RPC failure is a chain problem here
            raise ChainError(f"chain {self.chain_id}: cannot read the nonce of {self.sender}: {exc}") from exc
        return latest, pending

    def reconcile(self) -> int:
        """Bring the stored counter in line with the chain; returns the next nonce to use."""
        latest, pending = self.chain_counts()
        stored = self.store.next_nonce(self.chain_id, self.sender)
        if stored is None or stored < pending:
            if stored is not None:
                log.warning("chain %s: %s has sent transactions this relayer did not record (stored next nonce %s, "
                            "chain pending %s); continuing from the chain's count", self.chain_id, self.sender, stored, pending)
            nxt = pending
        elif stored > pending:
            held = {tx.nonce for tx in self.store.sent_txs(chain_id=self.chain_id, sender=self.sender)
                    if tx.status != "mined"}
            missing = [n for n in range(pending, stored) if n not in held]
            if missing:
                raise HaltError(f"chain {self.chain_id}: nonces {missing} of {self.sender} were reserved but no stored "
                                "transaction holds them; the database and the chain disagree, refusing to leave a gap")
            # the stored transactions for [pending, stored) are re-broadcast by their submissions' resume
            nxt = stored
        else:
            nxt = stored
        self.store.set_next_nonce(self.chain_id, self.sender, nxt)
        self.reconciled = True
        log.info("chain %s: nonce of %s reconciled: next %d (chain latest %d, pending %d, stored %s)",
                 self.chain_id, self.sender, nxt, latest, pending, nxt if stored is None else stored)
        return nxt

    def next(self) -> int:
        """The nonce the next new transaction must be signed with (reconciles on first use)."""
        if not self.reconciled:
            return self.reconcile()
        n = self.store.next_nonce(self.chain_id, self.sender)
        if n is None:
            return self.reconcile()
        return n
