"""Start-up check that every configured feed matches this relayer (chain id, a SolvencyFeed at the
address, its verifier's key = the key we prove with, our keys registered, threshold within reach),
so a mismatch is refused at start with its fix instead of reverting after a full proof and signing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from eth_utils import to_checksum_address
from web3 import Web3
from eth_abi.exceptions import DecodingError
from web3.exceptions import BadFunctionCallOutput, ContractLogicError, InsufficientData

from relayer.attest.signer import Signer
from relayer.circuits.solvency import PUBLIC_INPUTS
from relayer.config import ChainConfig, RelayerConfig
from relayer.contracts import load_artifact
from relayer.errors import ChainError, ConfigError, RelayerError
from relayer.pipeline.round import feed_contract
from relayer.watch.failover import chain_web3
from relayer.watch.rpc import RpcClient, redact_url
from relayer.zk.groth16.types import VerifyingKey
from relayer.zk.solidity import vk_hash

log = logging.getLogger(__name__)

ZERO_ADDRESS = "0x" + "00" * 20

# What a contract that is not the one expected does to a view call: revert (no such function, no
# fallback) or answer bytes that do not decode. Anything else (transport failure, timeout, an RPC error
# such as a rate limit) means the RPC could not tell: "cannot check", never "not a SolvencyFeed".
_WRONG_CONTRACT = (ContractLogicError, BadFunctionCallOutput, InsufficientData, DecodingError)


@dataclass(frozen=True)
class FeedProblem:
    """One thing wrong with one chain's feed. `unreachable`: its RPC did not answer (nothing could
    be checked), otherwise the feed answered and does not match the configuration."""

    chain: str
    message: str
    unreachable: bool = False

    def __str__(self) -> str:
        return self.message


@dataclass
class FeedFacts:
    """What was read from one chain (for the start-up log line and the cross-feed checks)."""

    chain: ChainConfig
    signer_set_version: int | None = None
    threshold: int | None = None
    verifier: str | None = None
    problems: list[FeedProblem] = field(default_factory=list)


def _default_w3(timeout_s: float) -> Callable[[ChainConfig], Web3]:
    def make(chain: ChainConfig) -> Web3:
        # the endpoints the round pipeline reads the feed through (RoundPipeline.w3, failing over across
        # chain.rpc); one pass, no retries (web3 retries 5 times, each a full timeout): a node that
        # stalls costs the start one timeout before the next endpoint is asked
        return chain_web3(chain, timeout_s, passes=1)
    return make


def _where(chain: ChainConfig) -> str:
    return f"{chain.name} (chain id {chain.chain_id}), feed {to_checksum_address(chain.feed)}"


def _signer_label(s: Signer) -> str:
    path = getattr(s, "path", None)
    return f"{s.address} ({path})" if path is not None else s.address


def _check_chain_ids(chain: ChainConfig, timeout_s: float, facts: FeedFacts) -> bool:
    """Every endpoint that answers eth_chainId answers the configured chain id, and at least as many
    answer as a snapshot needs (chains.<name>.rpc_quorum, default all); the per-round snapshot checks
    the same, relayer.watch.snapshot.take_snapshot; here it is told before any proof."""
    ok = True
    silent: list[str] = []
    for url in chain.rpc:
        try:
            client = RpcClient(url, timeout_s)
            got = client.chain_id()
        except ChainError as exc:
            silent.append(f"{_where(chain)}: cannot check it, the RPC does not answer: {exc}")
            continue
        if got != chain.chain_id:
            facts.problems.append(FeedProblem(chain.name, (
                f"{_where(chain)}: wrong chain: expected chain id {chain.chain_id} (chains.{chain.name}.chain_id), "
                f"the RPC {redact_url(url)} serves chain id {got}; every signature would be over the wrong EIP-712 "
                f"domain. Fix chains.{chain.name}.rpc or chains.{chain.name}.chain_id")))
            ok = False
    if len(chain.rpc) - len(silent) < chain.rpc_answers_needed:
        facts.problems += [FeedProblem(chain.name, m, unreachable=True) for m in silent]
        ok = False
    else:
        for m in silent:  # enough others answer: rounds go on without it (rpc_quorum), as this check does
            log.warning("preflight: %s (rpc_quorum %d of %d is met)", m, chain.rpc_answers_needed, len(chain.rpc))
    return ok


class _Unreachable(Exception):
    pass


def _call(fn: Any, what: str) -> Any:
    """One view call. A revert or an undecodable answer propagates (_WRONG_CONTRACT: the contract
    is not what we expected); any other failure is _Unreachable (the RPC did not tell)."""
    try:
        return fn.call()
    except _WRONG_CONTRACT:
        raise
    except Exception as exc:  # web3 raises many unrelated types (requests', its own, OSError)
        raise _Unreachable(f"{what}: {type(exc).__name__}: {exc}") from None


def check_chain(cfg: RelayerConfig, chain: ChainConfig, signers: Sequence[Signer], vk: VerifyingKey,
                w3_for_chain: Callable[[ChainConfig], Web3], timeout_s: float) -> FeedFacts:
    """All the checks of one chain's feed that need no other chain (see check_feeds)."""
    facts = FeedFacts(chain)
    where = _where(chain)
    fix_feed = (f"fix chains.{chain.name}.feed (the SolvencyFeed address your deployment printed; "
                "`relayer devnet up` writes it into the chains.toml it generates)")
    if not _check_chain_ids(chain, timeout_s, facts):
        return facts  # the wrong chain (or none): what is at the address there says nothing
    w3 = w3_for_chain(chain)
    feed_addr = to_checksum_address(chain.feed)
    try:
        try:
            code = w3.eth.get_code(feed_addr)
        except Exception as exc:  # web3 raises many unrelated types
            raise _Unreachable(f"eth_getCode: {type(exc).__name__}: {exc}") from None
        if len(code) == 0:
            facts.problems.append(FeedProblem(chain.name, (
                f"{where}: not a SolvencyFeed: expected the feed contract, found no code at this address (an "
                f"externally owned account, or nothing deployed there on this chain); {fix_feed}")))
            return facts
        feed = feed_contract(w3, feed_addr)
        try:
            version = int(_call(feed.functions.signerSetVersion(), "signerSetVersion()"))
            threshold = int(_call(feed.functions.threshold(), "threshold()"))
            members = [to_checksum_address(a) for a in _call(feed.functions.signers(), "signers()")]
            verifier = to_checksum_address(_call(feed.functions.verifier(), "verifier()"))
            max_age = int(_call(feed.functions.maxAge(), "maxAge()"))
            int(_call(feed.functions.lastRound(), "lastRound()"))
            registered = {s.address: bool(_call(feed.functions.isSigner(to_checksum_address(s.address)), "isSigner()"))
                          for s in signers}
        except _WRONG_CONTRACT as exc:  # a revert or an answer that does not decode: another contract
            facts.problems.append(FeedProblem(chain.name, (
                f"{where}: not a SolvencyFeed: expected a contract answering SolvencyFeed's views "
                f"(signerSetVersion, threshold, signers, verifier, maxAge, lastRound, isSigner), found a contract "
                f"that does not ({type(exc).__name__}: {str(exc)[:160]}); {fix_feed}")))
            return facts
        facts.signer_set_version, facts.threshold, facts.verifier = version, threshold, verifier
        margin = cfg.relayer.inclusion_margin_s
        if margin >= max_age:
            # the round refuses such data before proving (RoundPipeline.data_age_problem), so every round would fail
            facts.problems.append(FeedProblem(chain.name, (
                f"{where}: relayer.inclusion_margin_s = {margin} s leaves no time under the feed's maxAge of "
                f"{max_age} s: every round would be refused as too old. Lower relayer.inclusion_margin_s below "
                f"{max_age} (or have the owner raise the feed's maxAge with setMaxAge)")))
        _check_verifier(cfg, chain, w3, verifier, vk, facts)
        _check_signers(cfg, chain, signers, version, threshold, members, registered, facts)
    except _Unreachable as exc:
        facts.problems.append(FeedProblem(chain.name, f"{where}: cannot check it, the RPC {redact_url(chain.rpc[0])} "
                                          f"stopped answering: {exc}", unreachable=True))
    return facts


def _check_verifier(cfg: RelayerConfig, chain: ChainConfig, w3: Web3, verifier: str, vk: VerifyingKey,
                    facts: FeedFacts) -> None:
    where = _where(chain)
    key_dir = cfg.relayer.circuit_dir
    ours = "0x" + vk_hash(vk).hex()
    n_ours = len(vk.ic) - 1
    deploy_fix = (f"a feed's verifier is set once: deploy a Groth16Verifier from the verifying key in {key_dir} and "
                  "a new SolvencyFeed using it (then update chains." + chain.name + ".feed)")
    if verifier == ZERO_ADDRESS:
        facts.problems.append(FeedProblem(chain.name, (
            f"{where}: expected a proof verifier with verifying key hash {ours}, found none (verifier() is the zero "
            f"address: every submission would revert VerifierNotSet); the feed's owner must call setVerifier() with "
            f"a Groth16Verifier deployed from the verifying key in {key_dir}")))
        return
    abi, _ = load_artifact("Groth16Verifier")
    v = w3.eth.contract(address=verifier, abi=abi)
    try:
        theirs = "0x" + bytes(_call(v.functions.vkHash(), "verifier vkHash()")).hex()
        n_theirs = int(_call(v.functions.nPublic(), "verifier nPublic()"))
    except _WRONG_CONTRACT as exc:
        facts.problems.append(FeedProblem(chain.name, (
            f"{where}: its verifier {verifier} is not a Groth16Verifier (vkHash()/nPublic() fail: "
            f"{type(exc).__name__}: {str(exc)[:160]}); expected one holding verifying key hash {ours}; {deploy_fix}")))
        return
    if n_theirs != len(PUBLIC_INPUTS):
        facts.problems.append(FeedProblem(chain.name, (
            f"{where}: its verifier {verifier} takes {n_theirs} public inputs per proof, expected {len(PUBLIC_INPUTS)} "
            f"(the solvency circuit's, in the order the feed derives them); it was deployed for another circuit; "
            f"{deploy_fix}")))
    if theirs != ours:
        facts.problems.append(FeedProblem(chain.name, (
            f"{where}: its verifier {verifier} holds verifying key hash {theirs}, expected {ours} (the key this "
            f"relayer proves with, relayer.circuit_dir = {key_dir}); every proof would be rejected (ProofRejected). "
            f"Point relayer.circuit_dir at the key folder the verifier was deployed from (`relayer circuit info "
            f"DIR` prints its vk_hash), or {deploy_fix}")))
    elif n_ours != n_theirs:  # same hash, different count: impossible unless the local key is broken
        facts.problems.append(FeedProblem(chain.name, f"{where}: the verifying key in {key_dir} has {n_ours} public "
                                          f"inputs, its verifier {n_theirs}; rerun `relayer circuit setup`"))


def _check_signers(cfg: RelayerConfig, chain: ChainConfig, signers: Sequence[Signer], version: int, threshold: int,
                   members: Sequence[str], registered: dict[str, bool], facts: FeedFacts) -> None:
    where = _where(chain)
    ok = [s for s in signers if registered.get(s.address)]
    for s in signers:
        if not registered.get(s.address):
            facts.problems.append(FeedProblem(chain.name, (
                f"{where}: operator key {_signer_label(s)} is not a registered signer: expected it in the feed's "
                f"current signer set, found set version {version} = [{', '.join(members)}] without it (its "
                f"signatures would be dropped). Register it: the feed's owner calls rotateSigners([...the current "
                f"signers..., {s.address}], threshold) on every feed; or remove its keystore from relayer.keys")))
    if threshold > len(ok):
        facts.problems.append(FeedProblem(chain.name, (
            f"{where}: the feed needs {threshold} signatures (threshold), found only {len(ok)} registered signer(s) "
            f"among the {len(signers)} configured key(s); every submission would revert NotEnoughSignatures. Add "
            f"keystores of registered signers to relayer.keys, or have the owner register more of them")))
    if cfg.relayer.quorum < threshold:
        facts.problems.append(FeedProblem(chain.name, (
            f"{where}: relayer.quorum = {cfg.relayer.quorum} is below the feed's threshold {threshold}: the relayer "
            f"would count a round with {cfg.relayer.quorum} signature(s) as signed, and the feed would revert it "
            f"NotEnoughSignatures. Set relayer.quorum = {threshold} (or RELAYER_QUORUM={threshold})")))


def check_feeds(cfg: RelayerConfig, signers: Sequence[Signer], vk: VerifyingKey, *,
                w3_for_chain: Callable[[ChainConfig], Web3] | None = None,
                rpc_timeout_s: float = 10.0) -> list[FeedProblem]:
    """Every problem found on every configured chain's feed (chains read in parallel; empty: all
    match). Reads only views; needs no proof, signature or transaction."""
    w3_for = w3_for_chain or _default_w3(rpc_timeout_s)
    problems: list[FeedProblem] = []
    if len(vk.ic) - 1 != len(PUBLIC_INPUTS):
        problems.append(FeedProblem("*", (
            f"the verifying key in relayer.circuit_dir = {cfg.relayer.circuit_dir} has {len(vk.ic) - 1} public "
            f"inputs, expected {len(PUBLIC_INPUTS)} (the solvency circuit's): not a solvency key folder; point "
            "relayer.circuit_dir at one, or create one with `relayer circuit setup --out DIR`")))

    def one(c: ChainConfig) -> FeedFacts:
        try:
            return check_chain(cfg, c, signers, vk, w3_for, rpc_timeout_s)
        except RelayerError as exc:  # e.g. an rpc URL RpcClient refuses
            return FeedFacts(c, problems=[FeedProblem(c.name, f"{_where(c)}: cannot check it: {exc}", True)])

    with ThreadPoolExecutor(max_workers=len(cfg.chains)) as ex:
        all_facts = list(ex.map(one, cfg.chains))
    for f in all_facts:
        problems += f.problems
    # the round signs one attestation, carrying one signer set version, for every feed (round.py _attest)
    versions = {f.chain.name: f.signer_set_version for f in all_facts if f.signer_set_version is not None}
    if len(set(versions.values())) > 1:
        want = max(versions.values())
        for f in all_facts:
            v = f.signer_set_version
            if v is not None and v != want:
                problems.append(FeedProblem(f.chain.name, (
                    f"{_where(f.chain)}: signer set version {v}, expected {want} like the other feeds "
                    f"({', '.join(f'{n}: {x}' for n, x in versions.items())}): one attestation carries one version, "
                    f"so every round would revert WrongSignerSetVersion on some feed. Rotate the signer sets together "
                    f"(rotateSigners with the same signers and threshold on every feed)")))
    for f in all_facts:
        if not f.problems:
            log.info("preflight: %s: feed %s ok (verifier %s, signer set version %s, threshold %s of %d key(s))",
                     f.chain.name, f.chain.feed, f.verifier, f.signer_set_version, f.threshold, len(signers))
    return problems


def require_feeds_match(cfg: RelayerConfig, signers: Sequence[Signer], vk: VerifyingKey, *,
                        w3_for_chain: Callable[[ChainConfig], Web3] | None = None,
                        rpc_timeout_s: float = 10.0) -> float:
    """check_feeds, raising when anything is wrong: ConfigError when a feed answered and does not
    match (the config or the feed must change), ChainError when the only problems are RPCs that did
    not answer (nothing could be checked; the start fails, as it would fail every round). Returns
    the seconds it took."""
    t0 = time.perf_counter()
    problems = check_feeds(cfg, signers, vk, w3_for_chain=w3_for_chain, rpc_timeout_s=rpc_timeout_s)
    dt = time.perf_counter() - t0
    if not problems:
        log.info("preflight: %d feed(s) match the configuration (%.2f s)", len(cfg.chains), dt)
        return dt
    lines = "\n".join(f"  - {p}" for p in problems)
    if all(p.unreachable for p in problems):
        raise ChainError(f"preflight: cannot check {len({p.chain for p in problems})} feed(s) at start, their RPC "
                         f"does not answer or fails (nothing proven or signed; start again when it is back):\n{lines}")
    raise ConfigError(f"preflight: {len(problems)} problem(s) with the configured feeds; every round would fail "
                      f"(most after a full proof and signing), so nothing is started:\n{lines}")


__all__ = ["FeedFacts", "FeedProblem", "check_chain", "check_feeds", "require_feeds_match"]
