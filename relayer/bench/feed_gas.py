"""Gas per SolvencyFeed update as a function of the number of chains (SPEC §8): on a fresh anvil, the
real Groth16Verifier (12 public inputs per proof) and SolvencyFeeds with several quorums and subscriber
counts receive signed rounds of 1..8 chain entries (this chain's among them), measured by receipt gasUsed.

    relayer bench feed-gas --chains 1-8 --quorums 1/1,2/3,3/5 --subscribers 0,2
"""

from __future__ import annotations

import json
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_utils import keccak

from relayer.aggregate.bundle import ChainProof, ProofBundle
from relayer.attest.eip712 import (
    INPUTS_PER_CHAIN,
    Attestation,
    ChainEntry,
    attestation_digest,
    public_inputs,
    sign_attestation,
)
from relayer.circuits.solvency import Capacity, ChainContext, SolvencyCircuit, expected_public
from relayer.errors import ChainError, ConfigError, VerificationError
from relayer.risk.ledger import Book
from relayer.zk.groth16.types import VerifyingKey

# This anvil's chain: the feed's own entry, so the blockhash() check runs on every submission.
OWN_CHAIN_ID = 31337
# The other chains, added in this order as n grows (Ethereum, OP, BNB, Polygon, Base, Arbitrum,
# Avalanche): real chain ids, so the calldata has realistic zero bytes.
OTHER_CHAIN_IDS: tuple[int, ...] = (1, 10, 56, 137, 8453, 42161, 43114)
MAX_CHAINS = 1 + len(OTHER_CHAIN_IDS)
MAX_AGE = 3600
MAX_FUTURE_DRIFT = 60
# Gas limit of every submit: gasUsed does not depend on it; high enough for 16 subscribers.
SUBMIT_GAS_LIMIT = 8_000_000
# Smallest solvency circuit that takes the synthetic books (4 instruments): the key's shape (12 public
# inputs) is all that matters for gas; the circuit size changes nothing on chain.
CAPACITY = Capacity(accounts=2, instruments=4, scenarios=1)
PROOF_MODES = ("real", "simulated")
HEALTHY_BOOK_TRIES = 200
# EIP-2028 calldata cost; EIP-7623's floor (Prague) only applies to transactions doing almost no
# execution, never to a submit, so intrinsic gas = 21,000 + these.
TX_BASE_GAS = 21_000
CALLDATA_ZERO_GAS = 4
CALLDATA_NONZERO_GAS = 16

Log = Callable[[str], None]


@dataclass(frozen=True)
class Quorum:
    """`threshold` signatures required out of `signers` registered ones (each submit carries exactly
    `threshold` signatures: the cheapest acceptable submission)."""

    threshold: int
    signers: int

    def __post_init__(self) -> None:
        if not 1 <= self.threshold <= self.signers <= 255:
            raise ConfigError(f"quorum {self.threshold}-of-{self.signers}: need 1 <= threshold <= signers <= 255")

    @classmethod
    def parse(cls, text: str) -> Quorum:
        """'2/3' or '2-of-3'."""
        t = text.strip().replace("-of-", "/")
        parts = t.split("/")
        if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
            raise ConfigError(f"quorum {text!r}: expected THRESHOLD/SIGNERS, e.g. 2/3")
        return cls(int(parts[0]), int(parts[1]))

    def __str__(self) -> str:
        return f"{self.threshold}-of-{self.signers}"


def parse_chain_counts(text: str) -> list[int]:
    """'1-8', '1,2,4' or a mix; each in 1..MAX_CHAINS, returned sorted without repeats."""
    out: set[int] = set()
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            if "-" in part:
                lo, hi = (int(x) for x in part.split("-", 1))
                if lo > hi:
                    raise ValueError
                out.update(range(lo, hi + 1))
            else:
                out.add(int(part))
        except ValueError:
            raise ConfigError(f"chain counts {text!r}: {part!r} is not N or LO-HI") from None
    bad = sorted(n for n in out if not 1 <= n <= MAX_CHAINS)
    if not out or bad:
        raise ConfigError(f"chain counts {text!r}: each must be in 1..{MAX_CHAINS} (got {bad or 'none'})")
    return sorted(out)


def signer_key(i: int) -> bytes:
    """Deterministic throwaway signer key i (benchmark only; nothing of value is ever behind it)."""
    return keccak(b"relayer-bench-feed-gas/signer/%d" % i)


class _Statements:
    """Proofs for the feed's 12-input statements: real (dev setup of the solvency circuit, cpu
    backend) or simulated under a known-trapdoor key (same pairings, same calldata size)."""

    def __init__(self, mode: str, log: Log) -> None:
        from relayer.risk.market import compact_grid, compute_market_data
        from relayer.risk.synthetic import default_instruments, default_market_inputs

        if mode not in PROOF_MODES:
            raise ConfigError(f"proof mode {mode!r}: one of {', '.join(PROOF_MODES)}")
        self.mode = mode
        self.market = compute_market_data(default_instruments(), default_market_inputs(),
                                          compact_grid(CAPACITY.scenarios))
        self.prove_s: list[float] = []
        self.info: dict[str, Any] = {"mode": mode}
        t0 = time.perf_counter()
        if mode == "real":
            from relayer.zk.backends import get_backend
            from relayer.zk.groth16.setup import dev_setup

            self.sc = SolvencyCircuit(CAPACITY)
            self.r1cs = self.sc.circuit.compile()
            log(f"feed-gas: development setup of the solvency circuit {CAPACITY} ({self.r1cs.n_constraints} constraints)")
            self.pk = dev_setup(self.r1cs, "cpu")
            self.backend = get_backend("cpu")
            self.vk: VerifyingKey = self.pk.vk
            self.info.update(circuit=f"solvency {CAPACITY}", constraints=self.r1cs.n_constraints,
                             key="development setup (dev_setup, cpu backend)")
        else:
            from relayer.zk.solidity import unsafe_trapdoor_key

            self.rng = random.Random(20261126)
            self.vk, self.td = unsafe_trapdoor_key(INPUTS_PER_CHAIN, self.rng)
            self.info.update(key="unsafe_trapdoor_key (simulated proofs for the exact feed-derived inputs)")
        self.info["setup_s"] = round(time.perf_counter() - t0, 2)
        if self.vk.n_public != INPUTS_PER_CHAIN:
            raise VerificationError(f"key has {self.vk.n_public} public inputs, the feed derives {INPUTS_PER_CHAIN}")

    def healthy_book(self, ctx: ChainContext) -> tuple[Book, list[int]]:
        """The first synthetic book (seeds from 1000 * round) of a healthy venue with open positions:
        maintenance margin > 0, no bad debt, no under-margined account. Fixing the zero pattern keeps
        rounds and chains comparable: the verifier skips the ecMul of a zero input, and a slot going
        from zero to non-zero costs 20,000 gas instead of 2,900."""
        from relayer.risk.synthetic import generate_book

        for seed in range(1000 * ctx.round, 1000 * ctx.round + HEALTHY_BOOK_TRIES):
            book = generate_book(ctx.chain_id, CAPACITY.accounts, seed)
            want = expected_public(ctx, book, self.market, CAPACITY)
            if want[7] > 0 and want[8] == 0 and want[9] == 0:
                return book, want
        raise ChainError(f"chain {ctx.chain_id} round {ctx.round}: no healthy synthetic book in {HEALTHY_BOOK_TRIES} seeds")

    def prove(self, ctx: ChainContext) -> ChainProof:
        """A proof of chain `ctx`'s statement over a healthy synthetic book: its public inputs are
        what the circuit outputs (real) or what the native evaluator computes (simulated)."""
        book, want = self.healthy_book(ctx)
        t0 = time.perf_counter()
        if self.mode == "real":
            from relayer.zk.groth16.prover import prove

            proof, public = prove(self.pk, self.sc.witness(self.sc.inputs(ctx, book, self.market)), self.backend,
                                  r1cs=self.r1cs)
            if public != want:
                raise VerificationError(f"chain {ctx.chain_id}: circuit outputs differ from the native evaluation")
        else:
            from relayer.zk.solidity import unsafe_simulated_proof

            proof, public = unsafe_simulated_proof(self.td, want, self.rng), want
        self.prove_s.append(time.perf_counter() - t0)
        return ChainProof(ctx.chain_id, proof, tuple(public), self.mode)


@dataclass(frozen=True)
class _RoundData:
    round: int
    entries: tuple[ChainEntry, ...]
    bundle: bytes
    inputs: tuple[int, ...]  # the feed-derived public inputs (for a standalone verifyBundle)


def _round_data(w3: Any, st: _Statements, chain_ids: Sequence[int], round_no: int) -> _RoundData:
    """One round's chain entries, read off the proofs' public inputs as the pipeline does, and the
    bundle, checked locally against the inputs the feed will derive (ProofBundle.verify)."""
    w3.provider.make_request("evm_mine", [])
    # a past block by the time the submits are mined, and still within blockhash()'s 256 blocks for all
    # of them (about 10 blocks per measured feed, at most 9 feeds per n): the hash check really runs
    own = w3.eth.get_block("latest")
    proofs = []
    for cid in chain_ids:
        if cid == OWN_CHAIN_ID:
            number, bhash = int(own["number"]), bytes(own["hash"])
        else:  # another chain: a plausible height and hash (the feed only checks its own chain's)
            number, bhash = 20_000_000 + 300 * round_no + cid % 1000, keccak(b"block/%d/%d" % (cid, round_no))
        # vault assets above the book's liabilities (a solvent venue); different every round
        assets = 9 * 10**12 + 10**9 * round_no + cid
        proofs.append(st.prove(ChainContext(cid, number, bhash, assets, round_no)))
    bundle = ProofBundle.build(proofs)
    entries = []
    for p in bundle.proofs:
        pub = p.public
        entries.append(ChainEntry(
            chainId=p.chain_id, blockNumber=pub[1], blockHash=((pub[2] << 128) | pub[3]).to_bytes(32, "big"),
            assets=pub[5], liabilities=pub[6], maintenanceMargin=pub[7], badDebt=pub[8], underMargined=pub[9],
            root=pub[10].to_bytes(32, "big"), marketCommitment=pub[4].to_bytes(32, "big"), proofDigest=p.digest))
    probe = Attestation.build(round_no, 0, 1, entries, bundle.encode())
    derived = public_inputs(probe)
    bundle.verify(st.vk, [derived[i * INPUTS_PER_CHAIN:(i + 1) * INPUTS_PER_CHAIN] for i in range(len(entries))])
    return _RoundData(round_no, tuple(entries), bundle.encode(), tuple(derived))


def _calldata(data: bytes) -> dict[str, int]:
    zeros = data.count(0)
    return {"calldata_bytes": len(data), "calldata_zero_bytes": zeros,
            "intrinsic_gas": TX_BASE_GAS + CALLDATA_ZERO_GAS * zeros + CALLDATA_NONZERO_GAS * (len(data) - zeros)}


def _call_gas(w3: Any, tx_hash: bytes, targets: dict[str, str]) -> dict[str, int]:
    """Gas used by the submit's direct calls to `targets` (address -> label), summed per label, from
    the callTracer of the anvil this benchmark started (it always has one)."""
    reply = w3.provider.make_request("debug_traceTransaction", ["0x" + tx_hash.hex().removeprefix("0x"),
                                                                {"tracer": "callTracer"}])
    top = reply.get("result") if isinstance(reply, dict) else None
    if not isinstance(top, dict):
        raise ChainError(f"debug_traceTransaction (callTracer) gave no trace: {reply!r}")
    out = {label: 0 for label in set(targets.values())}
    for call in top.get("calls") or []:
        label = targets.get(str(call.get("to", "")).lower())
        if label is not None:
            out[label] += int(call["gasUsed"], 16)
    return out


def _send(w3: Any, fn: Any, tx: dict[str, Any], what: str) -> Any:
    h = fn.transact(tx)
    receipt = w3.eth.wait_for_transaction_receipt(h)
    if receipt["status"] != 1:
        raise ChainError(f"{what}: transaction {h.hex()} reverted")
    return receipt


def _deploy(w3: Any, name: str, *args: Any, sender: str) -> tuple[Any, int]:
    """Deploy package contract `name`; (contract, the creation transaction's gasUsed)."""
    from relayer.contracts import load_artifact

    abi, bytecode = load_artifact(name)
    receipt = _send(w3, w3.eth.contract(abi=abi, bytecode=bytecode).constructor(*args), {"from": sender},
                    f"deploying {name}")
    return w3.eth.contract(address=receipt["contractAddress"], abi=abi), int(receipt["gasUsed"])


def _deploy_feed(w3: Any, verifier: str, quorum: Quorum, subscribers: int, owner: str) -> tuple[Any, list[str], int]:
    """A fresh SolvencyFeed (cold storage) with `subscribers` LendingGuards subscribed; its deploy gas."""
    signers = [Account.from_key(signer_key(i)).address for i in range(quorum.signers)]
    feed, deploy_gas = _deploy(w3, "SolvencyFeed", signers, quorum.threshold, verifier, MAX_AGE, MAX_FUTURE_DRIFT,
                               owner, sender=owner)
    guards = []
    for _ in range(subscribers):
        guard, _gas = _deploy(w3, "LendingGuard", feed.address, MAX_AGE, sender=owner)
        _send(w3, feed.functions.subscribe(guard.address), {"from": owner}, "subscribe")
        guards.append(str(guard.address))
    return feed, guards, deploy_gas


def _submit(w3: Any, feed: Any, rd: _RoundData, quorum: Quorum, submitter: str, verifier: str,
            guards: list[str]) -> dict[str, Any]:
    """Sign and send round `rd` to `feed`; the receipt's gasUsed with its breakdown. Raises when the
    round is not accepted (status 0, or lastRound did not move to this round)."""
    w3.provider.make_request("evm_mine", [])
    ts = int(w3.eth.get_block("latest")["timestamp"])
    version = int(feed.functions.signerSetVersion().call())
    att = Attestation.build(rd.round, ts, version, list(rd.entries), rd.bundle)
    digest = attestation_digest(att, int(w3.eth.chain_id), str(feed.address))
    sigs = [sign_attestation(digest, signer_key(i)) for i in range(quorum.threshold)]
    fn = feed.functions.submit(att.as_tuple(), sigs, rd.bundle)
    from web3.exceptions import ContractCustomError, ContractLogicError, Web3RPCError

    try:
        estimate = int(fn.estimate_gas({"from": submitter}))
    except (ContractCustomError, ContractLogicError, Web3RPCError) as exc:
        # a benchmark of rejected rounds would measure the wrong thing: stop, naming the error
        raise ChainError(f"submit round {rd.round} ({len(rd.entries)} chains, {quorum}): the feed rejects it: "
                         f"{_revert_name(feed, exc)}") from None
    receipt = _send(w3, fn, {"from": submitter, "gas": SUBMIT_GAS_LIMIT}, f"submit round {rd.round}")
    last = int(feed.functions.lastRound().call())
    if last != rd.round:
        raise ChainError(f"submit round {rd.round}: mined but the feed's lastRound is {last}")
    from web3.logs import DISCARD

    # the guards' own events (Paused/Unpaused) are in the receipt too: not ours to decode
    failed = feed.events.SubscriberFailed().process_receipt(receipt, errors=DISCARD)
    if failed:
        raise ChainError(f"submit round {rd.round}: {len(failed)} subscriber call(s) failed")
    own = next(e for e in rd.entries if e.chainId == OWN_CHAIN_ID)
    age = int(receipt["blockNumber"]) - own.blockNumber
    if not 0 < age <= 256:
        # blockhash() answers 0 past 256 blocks and the feed then skips its hash check: a cheaper,
        # different code path. Measure fewer variants per chain count instead.
        raise ChainError(f"submit round {rd.round}: own block {own.blockNumber} is {age} blocks old at inclusion; "
                         "the blockhash() check would not run (at most 256): fewer quorums or subscriber counts")
    tx = w3.eth.get_transaction(receipt["transactionHash"])
    row: dict[str, Any] = {"round": rd.round, "gas_used": int(receipt["gasUsed"]), "estimate_gas": estimate,
                           **_calldata(bytes(tx["input"])), "own_block_age": age, "accepted": True}
    targets = {verifier.lower(): "verifier", **{g.lower(): "subscribers" for g in guards}}
    calls = _call_gas(w3, bytes(receipt["transactionHash"]), targets)
    row["verifier_call_gas"] = calls["verifier"]
    row["subscriber_calls_gas"] = calls.get("subscribers", 0)
    # the feed's own work: EIP-712 hashing, ecrecover per signature, input derivation, storage, events,
    # and the cost of making the calls themselves (cold account access, memory for the inputs)
    row["feed_logic_gas"] = row["gas_used"] - row["intrinsic_gas"] - calls["verifier"] - row["subscriber_calls_gas"]
    return row


def _revert_name(contract: Any, exc: Exception) -> str:
    """The custom error a revert carries, by name when `contract`'s ABI knows its selector."""
    data = getattr(exc, "data", None)
    if isinstance(data, dict):
        data = data.get("data")
    text = data if isinstance(data, str) else str(exc)
    sel = text.removeprefix("0x")[:8]
    for item in contract.abi:
        if item.get("type") == "error":
            sig = f"{item['name']}({','.join(i['type'] for i in item['inputs'])})"
            if keccak(text=sig)[:4].hex() == sel:
                return f"{item['name']} (0x{text.removeprefix('0x')})"
    return text


def _verify_bundle_tx(w3: Any, verifier: str, rd: _RoundData, sender: str) -> dict[str, Any]:
    """verifyBundle alone as a real transaction (a view, but a transaction runs it all the same)."""
    from relayer.zk.solidity import verifier_contract

    fn = verifier_contract(w3, verifier).functions.verifyBundle(list(rd.inputs), len(rd.entries), rd.bundle)
    if fn.call({"from": sender}) is not True:
        raise VerificationError("the deployed verifier rejects the bundle being measured")
    receipt = _send(w3, fn, {"from": sender}, "verifyBundle")
    tx = w3.eth.get_transaction(receipt["transactionHash"])
    cd = _calldata(bytes(tx["input"]))
    return {"gas_used": int(receipt["gasUsed"]), **cd, "execution_gas": int(receipt["gasUsed"]) - cd["intrinsic_gas"]}


def run(chain_counts: Sequence[int], quorums: Sequence[Quorum], subscriber_counts: Sequence[int],
        proofs: str = "real", out: Path | None = None, log: Log = lambda _m: None) -> dict[str, Any]:
    """Measure every (n chains, quorum, subscribers) on a fresh feed: round 1 (cold storage) and
    round 2 (warm); write the JSON to `out` when given. Returns the result dict."""
    from web3 import Web3

    from relayer.bench.machine import describe_machine
    from relayer.devnet.anvil import start_anvil
    from relayer.zk.solidity import VERIFIER_CONTRACT, vk_constructor_args, vk_hash

    counts = sorted(set(chain_counts))
    if not counts or not all(1 <= n <= MAX_CHAINS for n in counts):
        raise ConfigError(f"chain counts must be in 1..{MAX_CHAINS}, got {list(chain_counts)}")
    if not quorums:
        raise ConfigError("give at least one quorum")
    if not subscriber_counts or not all(0 <= s <= 16 for s in subscriber_counts):
        raise ConfigError(f"subscriber counts must be in 0..16 (the feed's MAX_SUBSCRIBERS), got {list(subscriber_counts)}")
    t_start = time.perf_counter()
    st = _Statements(proofs, log)
    result: dict[str, Any] = {
        "benchmark": "feed-gas",
        "machine": describe_machine(),
        "proofs": st.info,
        "method": ("receipt gasUsed of real submit transactions on anvil (estimate_gas recorded beside it); "
                   "each (n, quorum, subscribers) on a freshly deployed SolvencyFeed: round 1 writes cold "
                   "storage, round 2 overwrites it (warm). Each submit carries exactly `threshold` signatures. "
                   "verifier_call_gas / subscriber_calls_gas: gasUsed of the feed's calls from anvil's callTracer; "
                   "intrinsic_gas = 21000 + EIP-2028 calldata; feed_logic_gas = the rest. Every chain's book is "
                   "healthy (maintenance margin > 0, badDebt = underMargined = 0) in both rounds: the verifier skips "
                   "the ecMul of a zero public input (~6.8k gas less each) and a storage slot going from zero to "
                   "non-zero costs 20,000 instead of 2,900, so the zero pattern is held fixed."),
        "own_chain_id": OWN_CHAIN_ID,
        "chain_order": [OWN_CHAIN_ID, *OTHER_CHAIN_IDS],
        "subscriber_contract": "LendingGuard (the example consumer: pause/unpause bookkeeping)",
        "submissions": [],
        "verify_bundle_tx": {},
    }
    with tempfile.TemporaryDirectory(prefix="bench-feed-gas-") as tmp:
        chain = start_anvil(OWN_CHAIN_ID, log_dir=tmp)
        try:
            w3 = Web3(Web3.HTTPProvider(chain.rpc_url, request_kwargs={"timeout": 60}))
            owner, submitter = w3.eth.accounts[0], w3.eth.accounts[1]
            result["node"] = str(w3.client_version)
            info = w3.provider.make_request("anvil_nodeInfo", [])  # type: ignore[arg-type]
            result["hardfork"] = (info.get("result") or {}).get("hardFork") if isinstance(info, dict) else None
            vcontract, vgas = _deploy(w3, VERIFIER_CONTRACT, *vk_constructor_args(st.vk), sender=owner)
            if bytes(vcontract.functions.vkHash().call()) != vk_hash(st.vk):
                raise ChainError(f"the deployed verifier at {vcontract.address} holds another key")
            verifier = str(vcontract.address)
            result["verifier"] = {"contract": VERIFIER_CONTRACT, "n_public": st.vk.n_public, "deploy_gas": vgas}
            for n in counts:
                ids = sorted([OWN_CHAIN_ID, *OTHER_CHAIN_IDS[:n - 1]])
                log(f"feed-gas: {n} chain(s) {ids}: proving {2 * n} statements ({st.mode})")
                rounds = [_round_data(w3, st, ids, r) for r in (1, 2)]
                result["verify_bundle_tx"][str(n)] = _verify_bundle_tx(w3, verifier, rounds[0], submitter)
                for q in quorums:
                    for subs in subscriber_counts:
                        feed, guards, feed_deploy = _deploy_feed(w3, verifier, q, subs, owner)
                        for rd in rounds:
                            row = _submit(w3, feed, rd, q, submitter, verifier, guards)
                            row.update(n_chains=n, chain_ids=ids, quorum=str(q), threshold=q.threshold,
                                       signers=q.signers, subscribers=subs,
                                       storage="cold" if rd.round == 1 else "warm", feed_deploy_gas=feed_deploy)
                            result["submissions"].append(row)
                        log(f"feed-gas: n={n} {q} subs={subs}: " + ", ".join(
                            f"round {r['round']} {r['gas_used']:,}" for r in result["submissions"][-len(rounds):]))
        finally:
            chain.stop()
    if st.prove_s:
        result["proofs"]["prove_s_median"] = round(statistics.median(st.prove_s), 3)
        result["proofs"]["count"] = len(st.prove_s)
    result["summary"] = summarize(result)
    result["elapsed_s"] = round(time.perf_counter() - t_start, 1)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp_out = out.with_suffix(".tmp")
        tmp_out.write_text(json.dumps(result, indent=2) + "\n")
        tmp_out.replace(out)
    return result


def summarize(result: dict[str, Any]) -> dict[str, Any]:
    """Marginal costs read off the measurements (integer gas, means rounded down): per extra chain
    (cold and warm rounds, the middle quorum, fewest subscribers), per extra signature (warm, across
    quorums at equal n and subscribers) and per subscriber (warm, middle quorum)."""
    subs = result["submissions"]
    quorums = list(dict.fromkeys(r["quorum"] for r in subs))
    ref = quorums[len(quorums) // 2]
    s0 = min(r["subscribers"] for r in subs)
    key = {(r["n_chains"], r["quorum"], r["subscribers"], r["storage"]): r for r in subs}
    ns = sorted({r["n_chains"] for r in subs})
    out: dict[str, Any] = {"reference": f"{ref}, {s0} subscribers"}
    for storage in ("cold", "warm"):
        steps = [(key[(b, ref, s0, storage)]["gas_used"] - key[(a, ref, s0, storage)]["gas_used"]) // (b - a)
                 for a, b in zip(ns, ns[1:])]
        if steps:
            out[f"per_chain_{storage}"] = {"mean": sum(steps) // len(steps), "steps": steps}
    thr = {r["quorum"]: r["threshold"] for r in subs}
    sig = [(key[(n, q2, s, "warm")]["gas_used"] - key[(n, q1, s, "warm")]["gas_used"]) // (thr[q2] - thr[q1])
           for n in ns for s in {r["subscribers"] for r in subs} for q1, q2 in zip(quorums, quorums[1:])
           if thr[q2] != thr[q1] and (n, q2, s, "warm") in key and (n, q1, s, "warm") in key]
    if sig:
        out["per_signature_warm"] = {"mean": sum(sig) // len(sig), "min": min(sig), "max": max(sig)}
    per_sub = [(key[(n, ref, s, "warm")]["gas_used"] - key[(n, ref, s0, "warm")]["gas_used"]) // (s - s0)
               for n in ns for s in {r["subscribers"] for r in subs} if s != s0]
    if per_sub:
        out["per_subscriber_warm"] = {"mean": sum(per_sub) // len(per_sub), "min": min(per_sub), "max": max(per_sub)}
    return out


def markdown_table(result: dict[str, Any]) -> str:
    """The README table: one line per n, gas for each quorum (warm round, no subscribers), the cold
    first round and the subscriber cost for the middle quorum, and verifyBundle alone."""
    subs = result["submissions"]
    quorums = list(dict.fromkeys(r["quorum"] for r in subs))
    sub_counts = sorted({r["subscribers"] for r in subs})
    ref = quorums[len(quorums) // 2]
    extra_subs = [s for s in sub_counts if s]

    def pick(n: int, q: str, s: int, storage: str) -> dict[str, Any] | None:
        return next((r for r in subs if r["n_chains"] == n and r["quorum"] == q and r["subscribers"] == s
                     and r["storage"] == storage), None)

    head = ["chains", "calldata (B)", f"{ref} first round", *(f"{q} later round" for q in quorums),
            *(f"+{s} subscribers ({ref}, later)" for s in extra_subs), "verifier call", "verifyBundle tx alone"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for n in sorted({r["n_chains"] for r in subs}):
        base = pick(n, ref, sub_counts[0], "warm")
        cold = pick(n, ref, sub_counts[0], "cold")
        if base is None or cold is None:
            continue
        cells = [str(n), f"{base['calldata_bytes']:,}", f"{cold['gas_used']:,}"]
        for q in quorums:
            r = pick(n, q, sub_counts[0], "warm")
            cells.append(f"{r['gas_used']:,}" if r else "–")
        for s in extra_subs:
            r = pick(n, ref, s, "warm")
            cells.append(f"+{r['gas_used'] - base['gas_used']:,}" if r else "–")
        cells.append(f"{base['verifier_call_gas']:,}" if "verifier_call_gas" in base else "–")
        vb = result["verify_bundle_tx"].get(str(n))
        cells.append(f"{vb['gas_used']:,}" if vb else "–")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


__all__ = ["Quorum", "parse_chain_counts", "run", "summarize", "markdown_table", "signer_key", "OWN_CHAIN_ID", "OTHER_CHAIN_IDS",
           "CAPACITY", "PROOF_MODES"]
