"""Read-only views for operators: `relayer status` (chains, feeds, signer balances, rounds with
stage timings), `relayer verify ROUND` (re-verify a stored round off-chain and on every feed's own
verifier and state) and account inclusion against the on-chain root. No password needed."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from eth_utils import keccak, to_checksum_address
from web3 import Web3

from relayer.aggregate.bundle import ChainProof, ProofBundle, proof_digest
from relayer.attest.eip712 import INPUTS_PER_CHAIN, attestation_digest, public_inputs
from relayer.circuits.merkle_sum import InclusionProof, LeafData, MerkleSumTree
from relayer.config import ChainConfig, RelayerConfig
from relayer.contracts import load_artifact
from relayer.errors import ChainError, StorageError, VerificationError
from relayer.keys_setup import load_solvency_keys
from relayer.pipeline.market import chain_statement, load_book
from relayer.pipeline.round import feed_contract, ratio_e8
from relayer.storage import RoundState, Store, SubmissionRecord, SubmissionState
from relayer.watch.failover import chain_web3
from relayer.watch.rpc import redact_url

log = logging.getLogger(__name__)

_STATE_ORDER = [s.value for s in (RoundState.SNAPSHOTTED, RoundState.PROVEN, RoundState.ATTESTED, RoundState.SIGNED,
                                  RoundState.SUBMITTING, RoundState.DONE)]


def _w3(chain: ChainConfig, timeout_s: float) -> Web3:
    return chain_web3(chain, timeout_s)  # fails over across chain.rpc on connection-level failures


def keystore_addresses(cfg: RelayerConfig, problems: list[str] | None = None) -> list[str]:
    """Operator addresses from the keystores' public `address` field (no password needed). A keystore
    that is missing, unreadable or has no valid address is skipped and, with `problems`, said there."""
    out = []
    for i, p in enumerate(cfg.relayer.keys):
        try:
            obj = json.loads(Path(p).read_text())
            addr = obj.get("address") if isinstance(obj, dict) else None
            if not addr:
                raise ValueError("it has no 'address' field")
            out.append(to_checksum_address("0x" + str(addr).removeprefix("0x")))
        except (OSError, ValueError) as exc:
            if problems is not None:
                problems.append(f"relayer.keys[{i}]: keystore {p}: {exc.strerror if isinstance(exc, OSError) else exc}")
    if not cfg.relayer.keys and problems is not None:
        problems.append("relayer.keys lists no keystore: the relayer cannot sign")
    return out


def stage_durations(stage_times: dict[str, float]) -> dict[str, float]:
    """Seconds between consecutive round states (e.g. snapshotted->proven = proving)."""
    # snapshotted is written after the snapshots and statements; proven after the proofs and the bundle
    # check; attested after the reorg check; signed after the quorum; done after every feed answered
    names = {"proven": "prove", "attested": "attest", "signed": "sign", "submitting": "queue", "done": "submit"}
    out: dict[str, float] = {}
    prev = stage_times.get("snapshotted")
    for st in _STATE_ORDER[1:]:
        t = stage_times.get(st)
        if t is not None and prev is not None:
            out[names[st]] = round(t - prev, 3)
            prev = t
    return out


def status(cfg: RelayerConfig, store: Store | None = None, rounds: int = 5, timeout_s: float = 5.0) -> dict[str, Any]:
    store = store or Store(cfg.relayer.database_url)
    # what `relayer round` would refuse to start with, said here too (status itself still answers)
    problems: list[str] = []
    operators = keystore_addresses(cfg, problems)
    for c in cfg.chains:
        if c.ledger is not None and not Path(c.ledger).is_file():
            problems.append(f"{c.name}: ledger {c.ledger} does not exist")
    all_rounds = store.rounds()
    chains = []
    for c in cfg.chains:
        row: dict[str, Any] = {"name": c.name, "chain_id": c.chain_id, "feed": c.feed}
        # the newest round with a stored proof for this chain (whatever became of the round after: a
        # round that failed on one feed was still proven): its snapshot block is the last proven block
        row["last_proven_block"] = None
        for rec in reversed(all_rounds):
            if c.chain_id not in store.round_proofs(rec.round):
                continue
            sid = store.round_snapshots(rec.round).get(c.chain_id)
            if sid is not None:
                row["last_proven_block"] = int(store.get_snapshot(sid).block_number)
                break
        try:
            w3 = _w3(c, timeout_s)
            served = int(w3.eth.chain_id)
            if served != c.chain_id:
                problems.append(f"{c.name}: {getattr(w3.provider, 'current_endpoint', redact_url(c.rpc[0]))} serves "
                                f"chain id {served}, the config says {c.chain_id}")
            row["head"] = int(w3.eth.block_number)
            f = feed_contract(w3, c.feed)
            row["feed_round"] = int(f.functions.lastRound().call())
            rd = f.functions.latestRoundData().call()
            row["feed_ratio_e8"] = int(rd[1])
            row["feed_updated_at"] = int(rd[3])
            row["signer_balances_wei"] = {a: int(w3.eth.get_balance(a)) for a in operators}
            row["error"] = None
        except Exception as exc:  # a chain that is down is shown as down, the others still are
            row.update(head=None, feed_round=None, feed_ratio_e8=None, signer_balances_wei={}, error=str(exc)[:200])
        chains.append(row)
    round_rows = []
    for rec in all_rounds[-rounds:]:
        subs = {s.chain_id: s.state.value + (f" ({s.reason})" if s.reason and s.state.value != "included" else "")
                for s in store.submissions(rec.round)}
        round_rows.append({"round": rec.round, "state": rec.state.value, "reason": rec.reason,
                           "stage_seconds": stage_durations(rec.stage_times), "submissions": subs})
    return {"chains": chains, "rounds": round_rows, "operators": operators, "problems": problems}


def verify_round(cfg: RelayerConfig, round_no: int, store: Store | None = None, timeout_s: float = 10.0) -> dict[str, Any]:
    """Re-verify stored round `round_no`: bundle digest, proof digests, the batched Groth16 check
    against the inputs derived from the attestation (off-chain), then per feed: the feed's own
    verifier on the same inputs and whether the feed accepted this round with these totals.
    Raises VerificationError when the off-chain check fails; feed results are reported per chain."""
    store = store or Store(cfg.relayer.database_url)
    att, bundle_bytes = store.get_attestation(round_no)
    if keccak(bundle_bytes) != att.bundleDigest:
        raise VerificationError(f"round {round_no}: stored bundle does not hash to the attested bundleDigest")
    keys = load_solvency_keys(cfg.relayer.circuit_dir)
    derived = public_inputs(att)
    proofs = []
    for i, e in enumerate(att.chains):
        try:
            rec = store.get_proof(e.proofDigest)
        except StorageError:
            raise VerificationError(f"round {round_no}: no stored proof with chain {e.chainId}'s proofDigest") from None
        if proof_digest(rec.proof) != e.proofDigest:
            raise VerificationError(f"round {round_no}: chain {e.chainId}'s stored proof does not match its digest")
        proofs.append(ChainProof(e.chainId, rec.proof, tuple(derived[i * INPUTS_PER_CHAIN:(i + 1) * INPUTS_PER_CHAIN])))
    bundle = ProofBundle.build(proofs)
    if bundle.encode() != bundle_bytes:
        raise VerificationError(f"round {round_no}: the stored proofs do not re-encode to the stored bundle")
    bundle.verify(keys.vk)
    result: dict[str, Any] = {"round": round_no, "offchain": "ok", "ratio_e8": ratio_e8(att.totalAssets, att.totalLiabilities),
                              "solvent": att.totalAssets >= att.totalLiabilities, "dev_setup": keys.dev, "feeds": []}
    verifier_abi = load_artifact("IProofBundleVerifier")[0]
    subs = {s.chain_id: s for s in store.submissions(round_no)}
    snap_blocks = {cid: store.get_snapshot(sid).block_number for cid, sid in store.round_snapshots(round_no).items()}
    for c in cfg.chains:
        fr: dict[str, Any] = {"name": c.name, "chain_id": c.chain_id}
        try:
            w3 = _w3(c, timeout_s)
            f = feed_contract(w3, c.feed)
            v = w3.eth.contract(address=f.functions.verifier().call(), abi=verifier_abi)
            fr["verifier_accepts"] = bool(v.functions.verifyBundle(derived, len(att.chains), bundle_bytes).call())
            digest = attestation_digest(att, c.chain_id, c.feed)
            accepted = _round_accepted_logs(w3, f, round_no, subs.get(c.chain_id), snap_blocks.get(c.chain_id))
            fr["accepted"] = any(bytes(ev["args"]["digest"]) == digest for ev in accepted)
            fr["accepted_count"] = len(accepted)
            fr["feed_last_round"] = int(f.functions.lastRound().call())
            fr["error"] = None
        except Exception as exc:
            fr.update(verifier_accepts=None, accepted=None, error=str(exc)[:200])
        result["feeds"].append(fr)
    return result


# blocks per eth_getLogs request: within what hosted RPCs accept for one call
LOG_WINDOW = 10_000


def _round_accepted_logs(w3: Web3, feed: Any, round_no: int, sub: SubmissionRecord | None,
                         snapshot_block: int | None) -> list[Any]:
    """The feed's RoundAccepted events for `round_no`, read where they can be: the block our submission
    was included in when this relayer recorded one; otherwise from the round's snapshot block on this
    chain (a round cannot be accepted before it) to the head, in LOG_WINDOW-block requests; never from
    block 0, which hosted RPCs refuse."""
    ev = feed.events.RoundAccepted()
    flt = {"round": round_no}
    if sub is not None and sub.state == SubmissionState.INCLUDED and sub.block_number is not None:
        found = ev.get_logs(from_block=sub.block_number, to_block=sub.block_number, argument_filters=flt)
        if found:
            return list(found)
    start = snapshot_block if snapshot_block is not None else (sub.block_number if sub and sub.block_number else None)
    if start is None:
        raise VerificationError(f"round {round_no}: no snapshot block for this chain in the database to search from")
    head = int(w3.eth.block_number)
    out: list[Any] = []
    for lo in range(start, head + 1, LOG_WINDOW):
        out += ev.get_logs(from_block=lo, to_block=min(lo + LOG_WINDOW - 1, head), argument_filters=flt)
    return out


def inclusion_proof(cfg: RelayerConfig, chain: ChainConfig, account_id: int, round_no: int | None = None,
                    store: Store | None = None, timeout_s: float = 10.0) -> tuple[InclusionProof, dict[str, Any]]:
    """The account's Merkle-sum path in `chain`'s tree of round `round_no` (default: the feed's
    latest round), checked against the root the feed holds on chain."""
    store = store or Store(cfg.relayer.database_url)
    w3 = _w3(chain, timeout_s)
    f = feed_contract(w3, chain.feed)
    try:
        latest = f.functions.latestAttestation().call()
    except Exception as exc:
        raise ChainError(f"{chain.name}: cannot read the feed's latest attestation: {exc}") from None
    feed_round = int(latest[0])
    round_no = feed_round if round_no is None else round_no
    if round_no != feed_round:
        raise ChainError(f"{chain.name}: the feed's latest round is {feed_round}; it holds only that round's roots")
    entries = {int(e[0]): e for e in latest[12]}
    if chain.chain_id not in entries:
        raise ChainError(f"{chain.name}: round {round_no} on the feed has no entry for chain {chain.chain_id}")
    onchain_root = int.from_bytes(bytes(entries[chain.chain_id][8]), "big")
    sid = store.round_snapshots(round_no).get(chain.chain_id)
    if sid is None:
        raise StorageError(f"round {round_no} is not in this relayer's database")
    keys = load_solvency_keys(cfg.relayer.circuit_dir)
    stmt = chain_statement(chain, store.get_snapshot(sid), load_book(chain), keys.spec, round_no)
    tree = MerkleSumTree([LeafData(r.id, r.salt, r.owed, r.requirement) for r in stmt.risk.accounts],
                         keys.spec.capacity.accounts)
    if tree.root.hash != onchain_root:
        raise VerificationError(f"{chain.name}: the current ledger's tree root differs from round {round_no}'s on-chain "
                                "root (the book changed since); the path can only be built from that round's book")
    # the chain entry's published totals (ChainEntry: ..., liabilities [4], maintenanceMargin [5], ..., root [8])
    onchain_owed, onchain_req = int(entries[chain.chain_id][4]), int(entries[chain.chain_id][5])
    proof = tree.proof(account_id)
    proof.verify(onchain_root, onchain_owed, onchain_req)
    info = {"chain": chain.name, "chain_id": chain.chain_id, "feed": chain.feed, "round": round_no,
            "root": f"0x{onchain_root:064x}", "liabilities": onchain_owed, "maintenanceMargin": onchain_req,
            "account": account_id}
    return proof, info


__all__ = ["inclusion_proof", "keystore_addresses", "stage_durations", "status", "verify_round"]
