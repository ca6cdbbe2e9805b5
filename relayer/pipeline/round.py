"""One round, end to end (SPEC §1, issue 5 item 3): snapshot every chain → market data and book →
per-chain proofs (in parallel) → bundle → EIP-712 attestation → quorum signatures → submission to
every feed. Every step is persisted through the store before its side effect (STYLE 7), so a
restart resumes an unfinished round instead of repeating it:

  snapshotted / proven   proofs already stored are kept; the snapshot blocks are re-checked for
                         reorgs (a reorged round is failed, never signed; the next one is new)
  attested               signed (the signer refuses a different attestation for the round), sent
  signed / submitting    sent to the feeds that do not have it yet (the relay looks up what it
                         already sent before sending anything again)

Proofs are verified here, against the public inputs the feeds will derive from the attestation,
before anything is signed. Stage timings go to the store (state times), the metrics and the log.

The attestation's timestamp is the DATA time: the oldest snapshot block timestamp among the round's
chains (the round is only as fresh as its oldest chain), not the signing time, so a feed's maxAge,
`isSolvent(maxAge)`, `latestRoundData().startedAt` and a consumer's staleness bound measure how old
the data really is. It is a function of the stored snapshots, so a resumed round rebuilds the same
attestation. A round whose data is already older than some feed's maxAge is refused before signing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator

from eth_utils import to_checksum_address
from web3 import Web3

from relayer import metrics
from relayer.aggregate.bundle import ChainProof, ProofBundle
from relayer.attest.eip712 import INPUTS_PER_CHAIN, Attestation, ChainEntry, public_inputs
from relayer.attest.signer import QuorumSigner, Signer
from relayer.config import ChainConfig, RelayerConfig
from relayer.contracts import load_artifact
from relayer.errors import ChainError, HaltError, RelayerError, VerificationError
from relayer.keys_setup import SolvencyKeys
from relayer.pipeline.market import ChainStatement, chain_statement, load_book
from relayer.pipeline.prover import ChainProver, ProveJob
from relayer.storage import RoundState, Store, SubmissionState
from relayer.types import ChainSnapshot
from relayer.watch.reorg import ReorgTracker
from relayer.watch.failover import chain_web3
from relayer.watch.snapshot import take_snapshot

log = logging.getLogger(__name__)

RATIO_CAP = 2**255 - 1  # SolvencyFeed.RATIO_CAP: the ratio when nothing is owed
MAX_REORG_RETRIES = 3
# a round interrupted before its attestation is finished on restart only while its data is fresh
RESUME_MAX_AGE_S = 600


def ratio_e8(assets: int, liabilities: int) -> int:
    """floor(assets * 1e8 / liabilities), capped, exactly as SolvencyFeed computes it."""
    if liabilities == 0:
        return RATIO_CAP
    return min(assets * 10**8 // liabilities, RATIO_CAP)


@dataclass
class RoundOutcome:
    """What one `run_once` did. `status`: done | submitting | skipped | failed."""

    status: str
    round: int | None = None
    reason: str | None = None
    ratio_e8: int | None = None
    solvent: bool | None = None
    timings: dict[str, float] = field(default_factory=dict)
    submissions: dict[int, str] = field(default_factory=dict)  # chain id -> submission state
    proof_seconds: dict[str, float] = field(default_factory=dict)  # chain name -> seconds to prove


class _Timer:
    def __init__(self) -> None:
        self.t: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            dt = time.perf_counter() - t0
            self.t[name] = self.t.get(name, 0.0) + dt
            metrics.ROUND_STAGE_SECONDS.labels(stage=name).observe(dt)


def oldest_snapshot(snaps: Iterable[ChainSnapshot]) -> ChainSnapshot:
    """The snapshot with the oldest block timestamp (ties: the lowest chain id): the round's data time."""
    return min(snaps, key=lambda s: (s.timestamp, s.chain_id))


def feed_contract(w3: Web3, address: str) -> Any:
    abi, _ = load_artifact("SolvencyFeed")
    return w3.eth.contract(address=to_checksum_address(address), abi=abi)


class RoundPipeline:
    """Runs rounds for one config. Not thread-safe: the daemon runs one round at a time."""

    def __init__(
        self,
        cfg: RelayerConfig,
        store: Store,
        keys: SolvencyKeys,
        signers: Sequence[Signer],
        relay: Any,
        *,
        backend: str | None = None,
        prover_workers: int | None = None,
        rpc_timeout_s: float = 10.0,
        progress: Callable[[str], None] = lambda m: None,
    ) -> None:
        self.cfg = cfg
        self.store = store
        self.keys = keys
        self.signers = list(signers)
        self.relay = relay
        self.progress = progress
        self.rpc_timeout_s = rpc_timeout_s
        be = backend or cfg.relayer.prover
        self.prover = ChainProver(keys, be, prover_workers)
        self.quorum = QuorumSigner(self.signers, cfg.relayer.quorum, store)
        self.trackers = {c.chain_id: ReorgTracker(c, rpc_timeout_s) for c in cfg.chains}
        self._w3: dict[int, Web3] = {}
        self._proof_s: dict[str, float] = {}

    # ------------------------------------------------------------------ helpers

    def w3(self, chain: ChainConfig) -> Web3:
        if chain.chain_id not in self._w3:
            # every rpc endpoint in turn, on connection-level failures only (relayer.watch.failover)
            self._w3[chain.chain_id] = chain_web3(chain, self.rpc_timeout_s)
        return self._w3[chain.chain_id]

    def chain_by_id(self, chain_id: int) -> ChainConfig:
        for c in self.cfg.chains:
            if c.chain_id == chain_id:
                return c
        raise ChainError(f"chain id {chain_id} is not in the config")

    def feed_state(self, chain: ChainConfig) -> tuple[int, int]:
        """(lastRound, signerSetVersion) of the chain's feed."""
        try:
            f = feed_contract(self.w3(chain), chain.feed)
            return int(f.functions.lastRound().call()), int(f.functions.signerSetVersion().call())
        except Exception as exc:  # web3 raises many unrelated types
            raise ChainError(f"{chain.name}: cannot read the feed at {chain.feed}: {exc}") from None

    def close(self) -> None:
        self.prover.close()

    # ------------------------------------------------------------------ the round

    def snapshot_all(self) -> dict[int, ChainSnapshot]:
        """Every chain's snapshot, taken concurrently; any chain that cannot be snapshotted fails
        the attempt (a round attests all chains or none: a missing chain would hide its liabilities)."""
        def one(c: ChainConfig) -> ChainSnapshot:
            return take_snapshot(c, timeout_s=self.rpc_timeout_s)

        with ThreadPoolExecutor(max_workers=len(self.cfg.chains)) as ex:
            futs = {c.chain_id: ex.submit(one, c) for c in self.cfg.chains}
            out: dict[int, ChainSnapshot] = {}
            errors: list[str] = []
            for cid, f in futs.items():
                try:
                    out[cid] = f.result()
                    metrics.CHAIN_HEAD.labels(chain=self.chain_by_id(cid).name).set(int(out[cid].block_number))
                except RelayerError as exc:
                    name = self.chain_by_id(cid).name
                    msg = str(exc)
                    errors.append(msg if msg.startswith(name) else f"{name}: {msg}")
        if errors:
            raise ChainError("snapshot failed, no round this time: " + "; ".join(errors))
        return out

    def feed_clock(self, chain: ChainConfig) -> tuple[int, int]:
        """(maxAge of the chain's feed, the time its next block will at least have): the feed reverts
        AttestationTooOld for an attestation older than maxAge at the including block's time, which
        is at least the head's timestamp and, on a live chain, about the wall clock."""
        try:
            w3 = self.w3(chain)
            max_age = int(feed_contract(w3, chain.feed).functions.maxAge().call())
            head_time = int(w3.eth.get_block("latest")["timestamp"])
        except Exception as exc:  # web3 raises many unrelated types
            raise ChainError(f"{chain.name}: cannot read the feed's maxAge or the head at {chain.feed}: {exc}") from None
        return max_age, max(head_time, int(time.time()))

    def data_age_problem(self, round_no: int, oldest: ChainSnapshot) -> str | None:
        """Why a round whose data time is `oldest`'s block timestamp is too old for some feed: older
        than its maxAge (it would revert AttestationTooOld), or within `inclusion_margin_s` of it (it
        would revert if its transaction took that long to be mined); or None. ChainError when a feed
        cannot be read."""
        margin = self.cfg.relayer.inclusion_margin_s
        for c in self.cfg.chains:
            max_age, now = self.feed_clock(c)
            age = now - oldest.timestamp
            where = (f"round {round_no}: its data time is {oldest.chain_name}'s snapshot block {oldest.block_number} "
                     f"(timestamp {oldest.timestamp}, the oldest of the round's chains), {age} s before {c.name}'s "
                     f"clock; {c.name}'s feed accepts data at most {max_age} s old (maxAge)")
            if age > max_age:
                return (f"{where} and would revert AttestationTooOld. {oldest.chain_name} may have stopped producing "
                        "blocks (an anvil devnet mines only on transactions: mine a block) or its RPC serves a stale "
                        "head; not signing")
            if age + margin > max_age:
                if margin >= max_age:
                    return (f"{where}, and relayer.inclusion_margin_s = {margin} s leaves no time at all under it: "
                            f"lower inclusion_margin_s below {max_age} (or raise the feed's maxAge); not signing")
                return (f"{where}: only {max_age - age} s would be left for its transaction to be mined, less than "
                        f"relayer.inclusion_margin_s = {margin} s, and it would likely revert AttestationTooOld. "
                        f"{oldest.chain_name} may be producing blocks slowly or its RPC serves a stale head; not signing")
        return None

    def check_data_age(self, round_no: int, oldest: ChainSnapshot) -> None:
        """Refuse (ChainError) a round whose data is already older than some feed's maxAge: signing
        it is useless, every transaction to that feed would revert."""
        problem = self.data_age_problem(round_no, oldest)
        if problem is not None:
            raise ChainError(problem)

    def next_round_number(self) -> int:
        """One more than the last round in the store and on every feed. A feed that cannot be read
        fails the attempt: a round attests all chains or none, and a number below that feed's last
        round would be refused there (RoundNotIncreasing) after everything was proven and signed."""
        last = self.store.last_round_number()
        for c in self.cfg.chains:
            try:
                last = max(last, self.feed_state(c)[0])
            except ChainError as exc:
                raise ChainError(f"cannot number the next round, no round this time: {exc}") from None
        return last + 1

    def last_published(self) -> Attestation | None:
        """The attestation of the newest round that reached a feed: done, submitting, or included on
        at least one feed whatever its final state (a round `failed` on one feed is on the others; left
        out, every interval would re-prove and republish to all feeds, heartbeat and deviation ignored)."""
        published = {rec.round for rec in self.store.rounds([RoundState.DONE, RoundState.SUBMITTING])}
        published.update(self.store.rounds_with_submission_state(SubmissionState.INCLUDED))
        for round_no in sorted(published, reverse=True):
            try:
                return self.store.get_attestation(round_no)[0]
            except HaltError:
                raise  # a stored attestation that fails its own hash: corrupt database, never skipped
            except RelayerError:
                continue
        return None

    def should_publish(self, assets: int, liabilities: int, now: float) -> str | None:
        """Why to publish now (first round, heartbeat due, deviation, solvency flip), or None.
        `now` is the candidate round's data time (its oldest snapshot block timestamp)."""
        last = self.last_published()
        if last is None:
            return "first round"
        # last.timestamp is the published round's data time, so the heartbeat is measured in data time:
        # it fires when the data we could attest now is heartbeat_s newer than what the feeds hold. (With
        # the wall clock here, a chain that stopped producing blocks would republish the same data time
        # every interval once the heartbeat is due, refreshing nothing for the feeds' consumers.)
        if now - last.timestamp >= self.cfg.relayer.heartbeat_s:
            return f"heartbeat ({int(now - last.timestamp)} s of newer data since round {last.round})"
        old, new = ratio_e8(last.totalAssets, last.totalLiabilities), ratio_e8(assets, liabilities)
        if (last.totalAssets >= last.totalLiabilities) != (assets >= liabilities):
            return "solvency changed"
        # from a ratio of 0 no relative move is defined: any non-zero ratio is a move, 0 again is not
        # (otherwise a venue with no assets would republish every interval, the heartbeat ignored)
        if (new != 0) if old == 0 else abs(new - old) * 10_000 > self.cfg.relayer.deviation_bps * old:
            return f"ratio moved from {old / 1e8:.4f} to {new / 1e8:.4f} (threshold {self.cfg.relayer.deviation_bps} bps)"
        return None

    def run_once(self, force: bool = False) -> RoundOutcome:
        """Resume unfinished rounds, then take a new round if a trigger fires (or `force`)."""
        # an earlier round still missing on some feed is driven first; if a new round follows, the
        # relay skips the older one where it is superseded (the feed then catches up with the newest)
        self.resume()
        for attempt in range(MAX_REORG_RETRIES + 1):
            out = self._new_round(force)
            if out.status != "failed" or not (out.reason or "").startswith("reorg"):
                return out
            log.warning("round %s: %s; taking a new snapshot (attempt %d)", out.round, out.reason, attempt + 2)
        return out

    def _new_round(self, force: bool) -> RoundOutcome:
        timer = _Timer()
        t_start = time.perf_counter()
        self.progress("snapshotting chains")
        with timer.stage("snapshot"):
            try:
                snaps = self.snapshot_all()
            except RelayerError:
                metrics.ROUNDS.labels(outcome="no_snapshot").inc()
                raise
        with timer.stage("statement"):
            try:
                round_no = self.next_round_number()
            except RelayerError:
                metrics.ROUNDS.labels(outcome="feed_unreadable").inc()
                raise
            stmts: dict[int, ChainStatement] = {}
            for c in self.cfg.chains:
                stmts[c.chain_id] = chain_statement(c, snaps[c.chain_id], load_book(c), self.keys.spec, round_no)
        total_a = sum(s.context.assets for s in stmts.values())
        total_l = sum(s.risk.liabilities for s in stmts.values())
        oldest = oldest_snapshot(snaps.values())
        reason = "forced" if force else self.should_publish(total_a, total_l, oldest.timestamp)
        if reason is None:
            metrics.ROUNDS.labels(outcome="skipped").inc()
            return RoundOutcome("skipped", None, "no trigger: ratio within the deviation and heartbeat not due",
                                ratio_e8(total_a, total_l), total_a >= total_l, timer.t)
        # data already too old for a feed: refused now, before minutes of proving (checked again
        # before signing, as proving takes time)
        try:
            self.check_data_age(round_no, oldest)
        except RelayerError:
            metrics.ROUNDS.labels(outcome="stale_data").inc()
            raise
        log.info("round %d: publishing (%s)", round_no, reason)
        snapshot_ids = {cid: self.store.save_snapshot(s) for cid, s in snaps.items()}
        self.store.create_round(round_no, snapshot_ids)
        metrics.LAST_ROUND.set(round_no)
        for cid, s in snaps.items():
            self.trackers[cid].record(s)
        try:
            out = self._prove_and_publish(round_no, stmts, timer, oldest)
        except HaltError:
            raise
        except RelayerError as exc:
            return self._failed(round_no, exc, timer)
        metrics.ROUND_SECONDS.observe(time.perf_counter() - t_start)
        out.timings = timer.t
        out.proof_seconds = dict(self._proof_s)
        log.info("round %d: %s in %.1fs (%s)", round_no, out.status, time.perf_counter() - t_start,
                 ", ".join(f"{k} {v:.2f}s" for k, v in timer.t.items()))
        return out

    def _failed(self, round_no: int, exc: RelayerError, timer: _Timer) -> RoundOutcome:
        """A round that could not be attested is failed (never signed); the next one is new."""
        rec = self.store.get_round(round_no)
        if rec is not None and rec.state in (RoundState.SNAPSHOTTED, RoundState.PROVEN, RoundState.ATTESTED):
            self.store.advance_round(round_no, RoundState.FAILED, str(exc)[:500])
        metrics.ROUNDS.labels(outcome="failed").inc()
        log.error("round %d failed: %s", round_no, exc)
        return RoundOutcome("failed", round_no, str(exc), timings=timer.t)

    def _prove_and_publish(self, round_no: int, stmts: Mapping[int, ChainStatement], timer: _Timer,
                           oldest: ChainSnapshot, have: Mapping[int, ChainProof] | None = None) -> RoundOutcome:
        """Prove the chains of `stmts` that `have` lacks (the others keep their stored proofs),
        bundle, verify, re-check the blocks, attest (data time: `oldest`'s block), sign, submit."""
        have = dict(have or {})
        todo = {cid: st for cid, st in stmts.items() if cid not in have}
        # ---- prove (chains in parallel); every proof stored as soon as it exists
        self._proof_s = {}
        if todo:
            self.progress(f"round {round_no}: proving {len(todo)} chain(s) with {self.prover.backend_name}"
                          + (f" (keeping {len(have)} stored proof(s))" if have else ""))
        with timer.stage("prove"):
            proofs = {**have, **self._prove(round_no, todo)}
        # ---- bundle + attestation, and the local verification the feeds will repeat
        with timer.stage("aggregate"):
            att, bundle = self._attest(round_no, proofs, oldest)
        self.store.advance_round(round_no, RoundState.PROVEN)
        # ---- the blocks must still be canonical before anyone signs them
        with timer.stage("reorg_check"):
            self._check_reorgs(round_no, list(proofs))
        self.store.save_attestation(att, bundle.encode())  # -> attested
        return self._sign_and_submit(att, bundle.encode(), timer)

    def _prove(self, round_no: int, stmts: Mapping[int, ChainStatement]) -> dict[int, ChainProof]:
        if not stmts:
            return {}
        jobs = [ProveJob(cid, s.context, s.book, s.market, s.public) for cid, s in stmts.items()]
        proofs: dict[int, ChainProof] = {}

        def done(p: ChainProof) -> None:
            # stored at once: a crash while another chain is proving keeps this proof for the restart
            pid = self.store.save_proof(p.chain_id, stmts[p.chain_id].context.block_number, p.digest, p.proof,
                                        p.public, p.backend)
            self.store.set_round_proof(round_no, p.chain_id, pid)
            proofs[p.chain_id] = p
            name = stmts[p.chain_id].chain
            self._proof_s[name] = round(p.seconds, 3)
            metrics.PROOF_SECONDS.labels(backend=p.backend, chain=name).observe(p.seconds)
            self.progress(f"round {round_no}: {name} proven in {p.seconds:.1f}s ({p.backend})")

        results = self.prover.prove_all(jobs, on_done=done)
        # a chain whose prover failed is proven once more; the chains already proven keep their proofs
        again = [j for j in jobs if isinstance(results[j.chain_id], RelayerError)]
        if again:
            log.warning("round %d: proving again %s", round_no, ", ".join(stmts[j.chain_id].chain for j in again))
            results.update(self.prover.prove_all(again, on_done=done))
        errors = [f"{stmts[cid].chain}: {res}" for cid, res in results.items() if isinstance(res, RelayerError)]
        if errors:
            raise VerificationError("proving failed: " + "; ".join(errors))
        return proofs

    def _attest(self, round_no: int, proofs: Mapping[int, ChainProof],
                oldest: ChainSnapshot) -> tuple[Attestation, ProofBundle]:
        """The attestation's chain entries are read off each proof's public inputs (the layout the
        feed derives them in), so entry and proof cannot disagree; then the bundle is verified
        against the inputs the feeds will derive from the attestation. Its timestamp is the data
        time, `oldest`'s block timestamp (deterministic for the round's stored snapshots)."""
        if {c.chain_id for c in self.cfg.chains} != set(proofs):
            raise VerificationError(f"round {round_no}: proofs for chains {sorted(proofs)}, configured "
                                    f"{sorted(c.chain_id for c in self.cfg.chains)}")
        bundle = ProofBundle.build(list(proofs.values()))
        entries = []
        for cid in bundle.chain_ids:
            pub = proofs[cid].public
            if pub[0] != cid or pub[11] != round_no:
                raise VerificationError(f"chain {cid}: its proof is for chain {pub[0]} round {pub[11]}, not round {round_no}")
            entries.append(ChainEntry(
                chainId=cid, blockNumber=pub[1], blockHash=((pub[2] << 128) | pub[3]).to_bytes(32, "big"),
                assets=pub[5], liabilities=pub[6], maintenanceMargin=pub[7], badDebt=pub[8], underMargined=pub[9],
                root=pub[10].to_bytes(32, "big"), marketCommitment=pub[4].to_bytes(32, "big"),
                proofDigest=proofs[cid].digest))
        versions = {self.feed_state(c)[1] for c in self.cfg.chains}
        if len(versions) != 1:
            raise ChainError(f"the feeds disagree on the signer set version ({sorted(versions)}); rotate them together")
        self.check_data_age(round_no, oldest)  # before anything is signed
        att = Attestation.build(round_no, int(oldest.timestamp), versions.pop(), entries, bundle.encode())
        derived = public_inputs(att)
        expected = [derived[i * INPUTS_PER_CHAIN:(i + 1) * INPUTS_PER_CHAIN] for i in range(len(entries))]
        bundle.verify(self.keys.vk, expected)  # VerificationError: nothing is signed
        return att, bundle

    def _check_reorgs(self, round_no: int, chain_ids: Sequence[int]) -> None:
        for cid in chain_ids:
            event = self.trackers[cid].check()
            if event is not None:
                raise ChainError(f"reorg: {event}")

    def _sign_and_submit(self, att: Attestation, bundle: bytes, timer: _Timer) -> RoundOutcome:
        domains = [(c.chain_id, c.feed) for c in self.cfg.chains]
        with timer.stage("sign"):
            sigs = self.quorum.sign_round(att, domains)  # -> signed (persisted before release)
        with timer.stage("submit"):
            out = self._submit(att, bundle, sigs)
        return out

    def _submit(self, att: Attestation, bundle: bytes, sigs: Mapping[int, Sequence[Any]]) -> RoundOutcome:
        """Hand the signed round to the relay (all feeds in parallel; it moves the round to
        submitting, then done / failed once every feed has answered)."""
        self.progress(f"round {att.round}: submitting to {len(self.cfg.chains)} feed(s)")
        results = self.relay.relay_round(att.round)
        states = {cid: r.state.value for cid, r in results.items()}
        # gas is counted by the submitter when a receipt is first recorded (once per mined transaction,
        # reverts and cancels included), not here: this runs again for every resumed round
        included = [cid for cid, r in results.items() if r.state == SubmissionState.INCLUDED]
        for cid in included:
            metrics.FEED_LAST_ROUND.labels(chain=self.chain_by_id(cid).name).set(att.round)
        ratio = ratio_e8(att.totalAssets, att.totalLiabilities)
        if included:  # the ratio the relayer last published: only once some feed holds it
            metrics.FEED_RATIO_E8.set(ratio)
        solvent = att.totalAssets >= att.totalLiabilities
        rec = self.store.get_round(att.round)
        state = rec.state if rec is not None else RoundState.SUBMITTING
        if state in (RoundState.DONE, RoundState.FAILED):
            metrics.ROUNDS.labels(outcome=state.value).inc()
            return RoundOutcome(state.value, att.round, rec.reason if rec else None, ratio, solvent, submissions=states)
        metrics.ROUNDS.labels(outcome="submitting").inc()
        pending = ", ".join(f"{self.chain_by_id(c).name}: {s}" for c, s in states.items()
                            if s not in ("included", "skipped", "failed"))
        return RoundOutcome("submitting", att.round, f"not on every feed yet ({pending}); retried next run", ratio,
                            solvent, submissions=states)

    # ------------------------------------------------------------------ restart

    def resume(self) -> RoundOutcome | None:
        """Finish what a previous run left: a round stopped while proving continues with the
        proofs it already stored (only the missing chains are proven; its blocks are re-checked
        for reorgs), unless it is older than RESUME_MAX_AGE_S (then it is failed and a new round
        follows); rounds attested/signed/submitting are signed (same attestation only) and sent.
        Returns the outcome of the newest resumed round, if any."""
        last: RoundOutcome | None = None
        for rec in self.store.rounds([RoundState.SNAPSHOTTED, RoundState.PROVEN]):
            if time.time() - rec.created_at > RESUME_MAX_AGE_S:
                self.store.advance_round(rec.round, RoundState.FAILED,
                                         f"interrupted before its attestation more than {RESUME_MAX_AGE_S} s ago; stale")
                continue
            last = self._resume_proving(rec.round)
        for rec in self.store.rounds([RoundState.ATTESTED, RoundState.SIGNED, RoundState.SUBMITTING]):
            att, bundle = self.store.get_attestation(rec.round)
            log.info("resuming round %d from state %s", rec.round, rec.state.value)
            timer = _Timer()
            try:
                if rec.state == RoundState.ATTESTED:
                    # not signed yet: data that aged past a feed's maxAge while the relayer was down is
                    # failed here, never signed (a feed that cannot be read leaves it for the next run)
                    snaps = [self.store.get_snapshot(sid) for sid in self.store.round_snapshots(rec.round).values()]
                    problem = self.data_age_problem(rec.round, oldest_snapshot(snaps))
                    if problem is not None:
                        last = self._failed(rec.round, ChainError(problem), timer)
                        continue
                last = self._sign_and_submit(att, bundle, timer)
            except HaltError:
                raise
            except RelayerError as exc:
                log.error("resuming round %d: %s", rec.round, exc)
                last = RoundOutcome("submitting", rec.round, str(exc))
        return last


    def _resume_proving(self, round_no: int) -> RoundOutcome:
        timer = _Timer()
        log.info("resuming round %d from its stored snapshots and proofs", round_no)
        try:
            sids = self.store.round_snapshots(round_no)
            if set(sids) != {c.chain_id for c in self.cfg.chains}:
                raise ChainError(f"round {round_no} was taken for chains {sorted(sids)}; the config now has others")
            snaps = {cid: self.store.get_snapshot(sid) for cid, sid in sids.items()}
            for cid, snap in snaps.items():
                self.trackers[cid].record(snap)
            stored = self.store.round_proofs(round_no)
            have = {cid: ChainProof(cid, r.proof, tuple(r.public_inputs), r.backend) for cid, r in stored.items()}
            stmts = {c.chain_id: chain_statement(c, snaps[c.chain_id], load_book(c), self.keys.spec, round_no)
                     for c in self.cfg.chains if c.chain_id not in have}
            return self._prove_and_publish(round_no, stmts, timer, oldest_snapshot(snaps.values()), have)
        except HaltError:
            raise
        except RelayerError as exc:
            return self._failed(round_no, exc, timer)


__all__ = ["RESUME_MAX_AGE_S", "RoundOutcome", "RoundPipeline", "feed_contract", "oldest_snapshot", "ratio_e8"]
