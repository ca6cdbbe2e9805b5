"""Submit one signed round to one chain's SolvencyFeed, as a persisted state machine (STYLE 7).

Order of work for (round, chain), each step written to the store before its side effect:
1. any transaction already recorded for this submission is looked up by hash first (a restart
   never sends before knowing what the last process did);
2. the feed's last round: already there -> skipped(already on feed); a newer round on the feed or
   a newer round signed locally -> skipped(superseded);
3. the signatures are checked against the feed's current signer set: an unregistered signer's
   signature is never sent; fewer registered ones than the threshold -> failed;
4. EIP-1559 fees under the cap (above it: retry with the reason, never overpay); gas estimated
   (a revert is decoded and ends in failed(reason));
5. the transaction is signed with the operator key, recorded as `sent` with hash, nonce and fees,
   THEN broadcast; the receipt is awaited with a timeout; a transaction that is stuck or dropped
   from the pool is replaced with the same nonce and both fees bumped >= 12.5%.
Failures are retried a bounded number of times with exponential backoff.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_utils import to_checksum_address
from web3.exceptions import ContractCustomError, ContractLogicError, TransactionNotFound, Web3RPCError

from relayer import metrics
from relayer.attest.eip712 import Attestation, attestation_digest, recover_signer
from relayer.config import GasPolicy
from relayer.contracts import decode_error, load_artifact
from relayer.errors import AttestationError, ChainError, HaltError, RelayError, StorageError
from relayer.relay.fees import FeeAboveCap, Fees, bump_fees, current_fees, pending_base_fee, suggested_tip
from relayer.relay.nonce import NonceManager
from relayer.storage import SentTx, Store, SubmissionRecord, SubmissionState
from relayer.watch import rlp

log = logging.getLogger(__name__)

EventHook = Callable[[str, dict[str, Any]], None]
CANCEL_GAS = 21_000


@dataclass(frozen=True)
class RelayOptions:
    receipt_timeout_s: float = 30.0  # then the transaction counts as stuck and is replaced
    poll_interval_s: float = 0.1
    max_attempts: int = 6  # retries (fee above cap, RPC errors) within one submit() call
    max_replacements: int = 4  # fee bumps of one nonce within one submit() call
    backoff_base_s: float = 0.5
    backoff_max_s: float = 30.0
    gas_margin_pct: int = 25  # on top of eth_estimateGas (subscriber callbacks vary)


class _Again(Exception):
    """Internal: go round the state machine once more (after a wait)."""

    def __init__(self, reason: str, wait: bool = True) -> None:
        super().__init__(reason)
        self.reason, self.wait = reason, wait


class FeedSubmitter:
    """Submits rounds to the SolvencyFeed at `feed` on chain `chain_id`, from `operator_key`."""

    def __init__(self, store: Store, chain_id: int, w3: Any, feed: str, operator_key: bytes, policy: GasPolicy,
                 options: RelayOptions | None = None, on_event: EventHook | None = None,
                 sleep: Callable[[float], None] = time.sleep, name: str | None = None) -> None:
        self.store, self.chain_id, self.w3 = store, chain_id, w3
        self.name = name or str(chain_id)
        self.account = Account.from_key(operator_key)
        self.sender = str(self.account.address)
        self.feed_address = to_checksum_address(feed)
        self.feed = w3.eth.contract(address=self.feed_address, abi=load_artifact("SolvencyFeed")[0])
        self.policy = policy
        self.opt = options or RelayOptions()
        self.nonces = NonceManager(store, w3, chain_id, self.sender)
        self._on_event = on_event or (lambda _n, _d: None)
        self._sleep = sleep
        self._broadcast_here: set[str] = set()  # hashes this process handed to the node

    # ------------------------------------------------------------------ entry point

    def submit(self, round: int) -> SubmissionRecord:
        """Drive the (round, chain) submission as far as it can go now; returns its record.
        Terminal states: included, skipped, failed. Otherwise (retry/sent) call again later."""
        self.store.ensure_submission(round, self.chain_id)
        attempts = replacements = spins = 0
        # each pass either makes progress (a state change) or counts as an attempt with backoff
        max_spins = 4 * (self.opt.max_attempts + self.opt.max_replacements) + 8
        while True:
            sub = self.store.get_submission(round, self.chain_id)
            assert sub is not None
            if sub.state.terminal:
                return sub
            spins += 1
            if spins > max_spins:
                log.warning("chain %s round %d: no progress after %d passes (%s)", self.name, round, spins, sub.reason)
                return sub
            try:
                with self.nonces.lock:
                    if not self.nonces.reconciled:
                        self.nonces.reconcile()
                    replacements = self._step(round, replacements)
                continue
            except _Again as again:
                if not again.wait:
                    continue
                self._retry(round, again.reason)
            except (FeeAboveCap, ChainError) as exc:
                self._retry(round, str(exc))
            attempts += 1
            if attempts >= self.opt.max_attempts:
                sub = self.store.get_submission(round, self.chain_id)
                assert sub is not None
                log.warning("chain %s round %d: giving up for now after %d attempts (%s: %s)", self.name, round,
                            attempts, sub.state.value, sub.reason)
                return sub
            self._sleep(min(self.opt.backoff_max_s, self.opt.backoff_base_s * 2 ** (attempts - 1)))

    def _retry(self, round: int, reason: str) -> None:
        log.info("chain %s round %d: retry (%s)", self.name, round, reason)
        self.store.transition(round, self.chain_id, SubmissionState.RETRY, reason)
        self._on_event("retry", {"round": round, "chain_id": self.chain_id, "reason": reason})

    # ------------------------------------------------------------------ one pass

    def _step(self, round: int, replacements: int) -> int:
        txs = self.store.sent_txs(round, self.chain_id)
        # 1. what did earlier attempts (maybe another process) achieve?
        for tx in reversed(txs):
            if tx.status == "mined":
                continue
            receipt = self._receipt(tx.tx_hash)
            if receipt is not None:
                self._settle(round, tx, receipt)
                return replacements
        # "dropped" is final here: its nonce was taken by a transaction we did not make
        live = [tx for tx in txs if tx.status in ("sent", "replaced")]
        outstanding = max(live, key=lambda t: t.created_at) if live else None

        # 2. is the round still worth sending?
        skip = self._skip_reason(round)
        if skip is not None:
            if outstanding is None or self._nonce_used(outstanding.nonce):
                self.store.transition(round, self.chain_id, SubmissionState.SKIPPED, skip)
                self._on_event("skipped", {"round": round, "chain_id": self.chain_id, "reason": skip})
                return replacements
            if outstanding.kind != "cancel":
                # our transaction would now revert (or is pointless): free its nonce with a cheap no-op
                self._send_cancel(round, outstanding, skip)
            return self._await(round, self._latest_tx(round), replacements)

        if outstanding is not None:
            return self._await(round, outstanding, replacements)

        # 3.-5. a new transaction
        self._send_new(round)
        return self._await(round, self._latest_tx(round), replacements)

    def _latest_tx(self, round: int) -> SentTx:
        txs = [t for t in self.store.sent_txs(round, self.chain_id) if t.status in ("sent", "replaced")]
        if not txs:
            raise StorageError(f"round {round} chain {self.chain_id}: no transaction to wait for")
        return max(txs, key=lambda t: t.created_at)

    def _skip_reason(self, round: int) -> str | None:
        try:
            last = int(self.feed.functions.lastRound().call())
        except Exception as exc:  # noqa: BLE001 - any failure here means the chain is not usable now
            raise ChainError(f"chain {self.name}: cannot read the feed's last round: {exc}") from exc
        if last == round:
            return f"already on feed (feed's last round is {last})"
        if last > round:
            return f"superseded (the feed already has round {last})"
        newer = self.store.newest_signed_round()
        if newer > round:
            return f"superseded (round {newer} is signed locally)"
        return None

    # ------------------------------------------------------------------ new transaction

    def _checked_signatures(self, round: int, att: Attestation) -> list[bytes]:
        """Only signatures that recover, over THIS feed's digest, to a member of the feed's current
        signer set, each signer once; at least the feed's threshold of them."""
        try:
            members = {to_checksum_address(a) for a in self.feed.functions.signers().call()}
            threshold = int(self.feed.functions.threshold().call())
            version = int(self.feed.functions.signerSetVersion().call())
        except Exception as exc:  # noqa: BLE001
            raise ChainError(f"chain {self.name}: cannot read the feed's signer set: {exc}") from exc
        if att.signerSetVersion != version:
            raise AttestationError(f"the attestation is for signer set version {att.signerSetVersion}, the feed on "
                                   f"{self.name} is at version {version}; re-attest the round for the current set")
        digest = attestation_digest(att, self.chain_id, self.feed_address)
        chosen: list[bytes] = []
        seen: set[str] = set()
        dropped: list[str] = []
        for rec in self.store.signatures(round, self.chain_id):
            try:
                who = recover_signer(digest, rec.signature)
            except AttestationError as exc:
                dropped.append(f"{rec.signer} (invalid: {exc})")
                continue
            if who != rec.signer or rec.digest != digest:
                dropped.append(f"{rec.signer} (not over this feed's digest)")
            elif who not in members:
                dropped.append(f"{who} (not a registered signer of the feed)")
            elif who not in seen:
                seen.add(who)
                chosen.append(rec.signature)
        if dropped:
            log.warning("chain %s round %d: not sending signatures of %s", self.name, round, ", ".join(dropped))
            self._on_event("signatures_dropped", {"round": round, "chain_id": self.chain_id, "dropped": dropped})
        if len(chosen) < threshold:
            raise AttestationError(f"only {len(chosen)} signature(s) from registered signers of the feed on {self.name}, "
                                   f"its threshold is {threshold}" + (f"; not sent: {', '.join(dropped)}" if dropped else ""))
        return chosen

    def _send_new(self, round: int) -> None:
        att, bundle = self.store.get_attestation(round)
        try:
            sigs = self._checked_signatures(round, att)
        except AttestationError as exc:
            self._fail(round, str(exc))
            raise _Again("failed", wait=False) from None
        fees = current_fees(self.w3, self.policy)  # FeeAboveCap -> retry
        data = self.feed.encode_abi("submit", args=[att.as_tuple(), sigs, bundle])
        try:
            est = int(self.w3.eth.estimate_gas({"from": self.sender, "to": self.feed_address, "data": data}))
        except (ContractCustomError, ContractLogicError) as exc:
            reason = self._decode(exc)
            if "RoundNotIncreasing" in reason:
                raise _Again("the feed's round moved", wait=False) from None  # step 2 decides
            self._fail(round, f"the feed would revert: {reason}")
            raise _Again("failed", wait=False) from None
        except Exception as exc:  # noqa: BLE001
            raise ChainError(f"chain {self.name}: eth_estimateGas failed: {exc}") from exc
        gas = est + est * self.opt.gas_margin_pct // 100
        nonce = self.nonces.next()
        signed = self._sign({"to": self.feed_address, "data": data, "gas": gas, "value": 0}, nonce, fees)
        tx = self.store.record_sent(round, self.chain_id, self.sender, signed[0], signed[1], nonce, fees.max_fee_wei,
                                    fees.priority_fee_wei, kind="submit", allocate=True)
        self._on_event("sent_recorded", {"round": round, "chain_id": self.chain_id, "tx_hash": tx.tx_hash, "nonce": nonce})
        self._broadcast(round, tx)

    def _sign(self, fields: dict[str, Any], nonce: int, fees: Fees) -> tuple[str, bytes]:
        tx = {**fields, "type": 2, "chainId": self.chain_id, "nonce": nonce, "maxFeePerGas": fees.max_fee_wei,
              "maxPriorityFeePerGas": fees.priority_fee_wei}
        signed = self.account.sign_transaction(tx)
        return "0x" + bytes(signed.hash).hex(), bytes(signed.raw_transaction)

    def _broadcast(self, round: int, tx: SentTx) -> None:
        try:
            self.w3.eth.send_raw_transaction(tx.raw)
        except Exception as exc:  # noqa: BLE001
            msg = str(exc).lower()
            if "already" in msg and ("known" in msg or "imported" in msg):
                pass  # the node has exactly this transaction
            elif "nonce too low" in msg:
                # the nonce was used meanwhile (by a transaction of ours that we see mined, or another
                # sender): the next pass looks up receipts and the feed before doing anything else
                log.warning("chain %s: %s rejected: nonce too low", self.name, tx.tx_hash)
            elif "underpriced" in msg:
                raise _Again(f"replacement {tx.tx_hash} rejected as underpriced by the node") from None
            else:
                raise ChainError(f"chain {self.name}: broadcasting {tx.tx_hash} failed: {exc}") from exc
        self._broadcast_here.add(tx.tx_hash)
        self._on_event("broadcast", {"round": round, "chain_id": self.chain_id, "tx_hash": tx.tx_hash,
                                     "nonce": tx.nonce, "kind": tx.kind})

    # ------------------------------------------------------------------ waiting, replacing

    def _await(self, round: int, tx: SentTx, replacements: int) -> int:
        """Wait for `tx` (or any earlier transaction of this submission) to be mined; on timeout or
        when it left the pool, replace it with bumped fees. Returns the replacement count."""
        if not self._known(tx.tx_hash):
            if self._nonce_used(tx.nonce):
                # not pending, not mined, nonce consumed: by another transaction of ours (the next pass
                # reads its receipt) or by one this relayer never made
                if not self._any_receipt(round):
                    raise self._nonce_taken(round, tx)
                raise _Again(f"nonce {tx.nonce} used by an earlier transaction of this submission", wait=False)
            if tx.tx_hash not in self._broadcast_here:
                # recorded by an earlier process (maybe killed before broadcasting): send exactly it
                log.info("chain %s round %d: re-broadcasting recorded %s (nonce %d)", self.name, round, tx.tx_hash, tx.nonce)
                if tx.kind == "submit":
                    self.store.transition(round, self.chain_id, SubmissionState.SENT, None, tx_hash=tx.tx_hash)
                self._broadcast(round, tx)
            else:
                return self._replace(round, tx, replacements, dropped=True)
        deadline = time.monotonic() + self.opt.receipt_timeout_s
        while time.monotonic() < deadline:
            for cand in reversed(self.store.sent_txs(round, self.chain_id)):
                if cand.status == "mined":
                    continue
                receipt = self._receipt(cand.tx_hash)
                if receipt is not None:
                    self._settle(round, cand, receipt)
                    return replacements
            if not self._known(tx.tx_hash) and not self._nonce_used(tx.nonce):
                return self._replace(round, tx, replacements, dropped=True)
            time.sleep(self.opt.poll_interval_s)
        return self._replace(round, tx, replacements, dropped=False)

    def _any_receipt(self, round: int) -> bool:
        return any(self._receipt(t.tx_hash) is not None for t in self.store.sent_txs(round, self.chain_id))

    def _nonce_taken(self, round: int, tx: SentTx) -> _Again:
        self.store.mark_tx(tx.tx_hash, "dropped")
        reason = f"nonce {tx.nonce} was used by a transaction this relayer did not record"
        self.store.transition(round, self.chain_id, SubmissionState.DROPPED, reason, tx_hash=tx.tx_hash)
        self.nonces.reconcile()
        return _Again(reason, wait=False)

    def _replace(self, round: int, tx: SentTx, replacements: int, dropped: bool) -> int:
        if replacements >= self.opt.max_replacements:
            raise _Again(f"{tx.tx_hash} (nonce {tx.nonce}) still not mined after {replacements} replacement(s)")
        prev = Fees(tx.max_fee_wei, tx.priority_fee_wei)
        fees = bump_fees(prev, pending_base_fee(self.w3), suggested_tip(self.w3), self.policy)  # FeeAboveCap -> retry
        fields = self._decode_raw(tx.raw)
        why = "dropped from the node's pool" if dropped else f"not mined within {self.opt.receipt_timeout_s:g}s"
        if tx.kind == "submit":
            state = SubmissionState.DROPPED if dropped else SubmissionState.REPLACED
            self.store.transition(round, self.chain_id, state, f"{tx.tx_hash} {why}; replacing with fees x1.125",
                                  tx_hash=tx.tx_hash, tx_status="dropped" if dropped else None)
        hash_, raw = self._sign(fields, tx.nonce, fees)
        new = self.store.record_sent(round, self.chain_id, self.sender, hash_, raw, tx.nonce, fees.max_fee_wei,
                                     fees.priority_fee_wei, kind=tx.kind, note=tx.note)
        log.info("chain %s round %d: %s %s; replaced by %s (max fee %d -> %d, tip %d -> %d)", self.name, round,
                 tx.tx_hash, why, new.tx_hash, prev.max_fee_wei, fees.max_fee_wei, prev.priority_fee_wei, fees.priority_fee_wei)
        self._on_event("replaced", {"round": round, "chain_id": self.chain_id, "old": tx.tx_hash, "new": new.tx_hash,
                                    "dropped": dropped})
        self._broadcast(round, new)
        return replacements + 1

    def _send_cancel(self, round: int, tx: SentTx, reason: str) -> None:
        """Replace our pending submit with a 0-value transfer to ourselves at the same nonce: the
        nonce is consumed (no gap) and the feed does not get a transaction that can only revert."""
        prev = Fees(tx.max_fee_wei, tx.priority_fee_wei)
        fees = bump_fees(prev, pending_base_fee(self.w3), suggested_tip(self.w3), self.policy)
        hash_, raw = self._sign({"to": self.sender, "data": b"", "gas": CANCEL_GAS, "value": 0}, tx.nonce, fees)
        new = self.store.record_sent(round, self.chain_id, self.sender, hash_, raw, tx.nonce, fees.max_fee_wei,
                                     fees.priority_fee_wei, kind="cancel", note=reason)
        self._broadcast(round, new)

    def _settle(self, round: int, tx: SentTx, receipt: Any) -> None:
        """A transaction of this submission was mined: record the outcome. The transaction's `mined`
        mark goes in the same database transaction as the submission's outcome: a process dying in
        between must leave the transaction `sent`, so the restart looks its receipt up again (a
        `mined` mark alone would be skipped there and the round, ours, recorded as someone else's)."""
        block, gas = int(receipt["blockNumber"]), int(receipt["gasUsed"])
        if tx.kind == "cancel":
            reason = tx.note or "cancelled"
            self.store.transition(round, self.chain_id, SubmissionState.SKIPPED, reason, tx_hash=tx.tx_hash,
                                  block_number=block, gas_used=gas, tx_status="mined")
            self._gas_spent(gas)
            self._on_event("skipped", {"round": round, "chain_id": self.chain_id, "reason": reason})
        elif int(receipt["status"]) == 1:
            self.store.transition(round, self.chain_id, SubmissionState.INCLUDED, None, tx_hash=tx.tx_hash,
                                  block_number=block, gas_used=gas, tx_status="mined")
            self._gas_spent(gas)
            metrics.FEED_UPDATE_GAS.labels(chain=self.name).set(gas)
            log.info("chain %s round %d: included in block %d (%s, gas %d)", self.name, round, block, tx.tx_hash, gas)
            self._on_event("included", {"round": round, "chain_id": self.chain_id, "tx_hash": tx.tx_hash, "gas_used": gas})
        else:
            why = self._revert_reason(tx, block)
            skip = self._skip_reason(round)
            if skip is not None:
                # another transaction got the round (or a newer one) onto the feed first: nothing is lost
                reason = f"{skip}; our {tx.tx_hash} reverted in block {block}: {why}"
                self.store.transition(round, self.chain_id, SubmissionState.SKIPPED, reason, tx_hash=tx.tx_hash,
                                      block_number=block, gas_used=gas, tx_status="mined")
                self._gas_spent(gas)
                self._on_event("skipped", {"round": round, "chain_id": self.chain_id, "reason": reason})
            else:
                self._fail(round, f"{tx.tx_hash} reverted in block {block}: {why}", tx_hash=tx.tx_hash,
                           tx_status="mined", block_number=block, gas_used=gas)
                self._gas_spent(gas)

    def _gas_spent(self, gas: int) -> None:
        """Count a mined transaction's gas, right after its receipt was recorded (its `mined` mark
        committed): a transaction marked mined is never settled again, by this process or a restarted
        one, so each is counted once; one dying between the commit and this line takes its counter
        (which restarts at 0) with it."""
        metrics.FEED_UPDATE_GAS_TOTAL.labels(chain=self.name).inc(gas)

    def _fail(self, round: int, reason: str, tx_hash: str | None = None, tx_status: str | None = None,
              block_number: int | None = None, gas_used: int | None = None) -> None:
        log.error("chain %s round %d: failed: %s", self.name, round, reason)
        self.store.transition(round, self.chain_id, SubmissionState.FAILED, reason, tx_hash=tx_hash, tx_status=tx_status,
                              block_number=block_number, gas_used=gas_used)
        self._on_event("failed", {"round": round, "chain_id": self.chain_id, "reason": reason})

    # ------------------------------------------------------------------ chain reads

    def _receipt(self, tx_hash: str) -> Any | None:
        try:
            return self.w3.eth.get_transaction_receipt(tx_hash)
        except TransactionNotFound:
            return None
        except Exception as exc:  # noqa: BLE001
            raise ChainError(f"chain {self.name}: eth_getTransactionReceipt failed: {exc}") from exc

    def _known(self, tx_hash: str) -> bool:
        try:
            self.w3.eth.get_transaction(tx_hash)
            return True
        except TransactionNotFound:
            return False
        except Exception as exc:  # noqa: BLE001
            raise ChainError(f"chain {self.name}: eth_getTransactionByHash failed: {exc}") from exc

    def _nonce_used(self, nonce: int) -> bool:
        latest, _ = self.nonces.chain_counts()
        return latest > nonce

    def _decode(self, exc: Exception) -> str:
        data = getattr(exc, "data", None)
        if isinstance(data, dict):
            data = data.get("data")
        if isinstance(data, str) and data.startswith("0x") and len(data) >= 10:
            return decode_error("SolvencyFeed", data) or f"unknown error {data[:10]}"
        return str(exc)

    def _revert_reason(self, tx: SentTx, block: int) -> str:
        fields = self._decode_raw(tx.raw)
        try:
            self.w3.eth.call({"from": self.sender, "to": fields["to"], "data": fields["data"], "gas": fields["gas"]},
                             block - 1)
        except (ContractCustomError, ContractLogicError, Web3RPCError) as exc:
            return self._decode(exc)
        except Exception as exc:  # noqa: BLE001
            return f"(reason unavailable: {exc})"
        return "(the call succeeds when replayed on the parent block: out of gas or state changed within the block)"

    @staticmethod
    def _decode_raw(raw: bytes) -> dict[str, Any]:
        """to / data / gas / value of a stored EIP-1559 transaction (0x02 || rlp([...]), EIP-1559)."""
        if not raw or raw[0] != 2:
            raise HaltError("a stored transaction is not an EIP-1559 (type 2) transaction")
        items = rlp.decode(raw[1:])
        if not isinstance(items, list) or len(items) != 12:
            raise HaltError("a stored transaction does not decode as EIP-1559")
        to, value, data, gas = items[5], items[6], items[7], items[4]
        assert isinstance(to, bytes) and isinstance(data, bytes) and isinstance(gas, bytes) and isinstance(value, bytes)
        return {"to": to_checksum_address(to), "data": data, "gas": int.from_bytes(gas, "big"),
                "value": int.from_bytes(value, "big")}


__all__ = ["FeedSubmitter", "RelayError", "RelayOptions"]
