"""Submit a signed round to every chain's feed concurrently (one thread per chain), and resume
unfinished rounds after a restart. A chain that is down or reverting only affects its own
submission: the others are sent, mined and recorded on their own threads.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from web3 import Web3

from relayer.config import ChainConfig, RelayerConfig
from relayer.errors import HaltError, RelayError
from relayer.relay.submitter import EventHook, FeedSubmitter, RelayOptions
from relayer.storage import RoundState, Store, SubmissionRecord, SubmissionState
from relayer.watch.failover import chain_web3

log = logging.getLogger(__name__)


def http_web3(url: str, timeout: float = 10.0) -> Web3:
    """A Web3 on one URL, no failover (for tools and tests; the relay uses failover_web3)."""
    return Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": timeout}))


def failover_web3(chain: ChainConfig, timeout: float = 10.0) -> Web3:
    """The relay's Web3 for `chain`: every endpoint of chain.rpc, moving on from one that does not
    answer (relayer.watch.failover; re-sending a signed transaction elsewhere is safe, same hash)."""
    return chain_web3(chain, timeout)


class Relay:
    def __init__(self, store: Store, submitters: Sequence[FeedSubmitter], on_event: EventHook | None = None) -> None:
        ids = [s.chain_id for s in submitters]
        if len(set(ids)) != len(ids):
            raise RelayError(f"two submitters for the same chain: {ids}")
        self.store = store
        self.submitters = {s.chain_id: s for s in submitters}
        self._on_event = on_event or (lambda _n, _d: None)

    @classmethod
    def from_config(cls, store: Store, config: RelayerConfig, operator_key: bytes, options: RelayOptions | None = None,
                    on_event: EventHook | None = None,
                    web3_factory: Callable[[ChainConfig], Any] = failover_web3) -> Relay:
        """One submitter per configured chain, through `web3_factory(chain)`: by default a Web3 that
        sends to the first endpoint of the chain's rpc list that answers (a submission needs one node
        that accepts the transaction; the watcher cross-checks the others)."""
        subs = [FeedSubmitter(store, c.chain_id, web3_factory(c), c.feed, operator_key, c.gas, options,
                              on_event=on_event, name=c.name) for c in config.chains]
        return cls(store, subs, on_event)

    def relay_round(self, round: int, chains: Sequence[int] | None = None) -> dict[int, SubmissionRecord]:
        """Submit `round` to every chain (or `chains`) in parallel; returns each submission's record.
        The round becomes `done` when every submission is included or skipped, `failed` when all
        are settled and one failed (even if others were included: its reason names both); otherwise
        it stays `submitting` for a later call."""
        rec = self.store.get_round(round)
        if rec is None:
            raise RelayError(f"no round {round} in the store")
        if rec.state not in (RoundState.SIGNED, RoundState.SUBMITTING):
            raise RelayError(f"round {round} is {rec.state.value}; only a signed round can be relayed")
        if rec.state == RoundState.SIGNED:
            self.store.advance_round(round, RoundState.SUBMITTING)  # before the first transaction exists
        targets = [self.submitters[c] for c in (chains if chains is not None else sorted(self.submitters))]
        halts: list[HaltError] = []
        out: dict[int, SubmissionRecord] = {}
        with ThreadPoolExecutor(max_workers=max(1, len(targets)), thread_name_prefix="relay") as pool:
            futures = {s.chain_id: pool.submit(self._one, s, round) for s in targets}
            for chain_id, fut in futures.items():
                try:
                    out[chain_id] = fut.result()
                except HaltError as exc:
                    halts.append(exc)
        self._finish(round)
        if halts:
            raise halts[0]
        return out

    def _one(self, sub: FeedSubmitter, round: int) -> SubmissionRecord:
        try:
            return sub.submit(round)
        except HaltError:
            raise
        except Exception as exc:  # noqa: BLE001 - one chain's surprise must not stop the others
            log.exception("chain %s round %d: unexpected error", sub.name, round)
            reason = f"unexpected error: {type(exc).__name__}: {exc}"
            cur = self.store.get_submission(round, sub.chain_id)
            if cur is None:
                raise  # it failed before its submission existed (e.g. the store): the cause, not an AssertionError
            if not cur.state.terminal:
                return self.store.transition(round, sub.chain_id, SubmissionState.RETRY, reason)
            return cur

    def _finish(self, round: int) -> None:
        subs = {s.chain_id: s for s in self.store.submissions(round)}
        if set(subs) != set(self.submitters) or not all(s.state.terminal for s in subs.values()):
            return
        failed = [f"{c}: {s.reason}" for c, s in sorted(subs.items()) if s.state == SubmissionState.FAILED]
        included = [str(c) for c, s in sorted(subs.items()) if s.state == SubmissionState.INCLUDED]
        if failed:
            # still `failed` when other feeds took it (the operator must look at the failed feed); the
            # reason says where it landed, and the publish triggers count it as published there
            # (RoundPipeline.last_published), so the next round waits for the heartbeat or a deviation
            where = f"; included on {', '.join(included)}" if included else ""
            self.store.advance_round(round, RoundState.FAILED, "submission failed on " + "; ".join(failed) + where)
        else:
            self.store.advance_round(round, RoundState.DONE)
        self._on_event("round_finished", {"round": round, "failed": failed})

    def resume(self) -> dict[int, dict[int, SubmissionRecord]]:
        """Continue every signed or submitting round, oldest first (an older one that a newer
        signed round supersedes ends as skipped(superseded) without a transaction)."""
        out: dict[int, dict[int, SubmissionRecord]] = {}
        for rec in self.store.rounds([RoundState.SIGNED, RoundState.SUBMITTING]):
            out[rec.round] = self.relay_round(rec.round)
        return out

    def status(self, round: int) -> Mapping[int, SubmissionRecord]:
        return {s.chain_id: s for s in self.store.submissions(round)}
