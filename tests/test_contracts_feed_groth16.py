"""SolvencyFeed with the real Groth16Verifier (batched pairing check) on Anvil: proofs simulated
with a known-trapdoor key for exactly the public inputs the feed derives (12 per chain)."""

from __future__ import annotations

import random
from typing import Any

import pytest
from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode

from contract_helpers import connect, deploy_any, dev_address, snapshot
from relayer.attest.eip712 import Attestation, ChainEntry, public_inputs
from relayer.zk.solidity import deploy_verifier, encode_bundle, unsafe_simulated_proof, unsafe_trapdoor_key
from test_contracts_feed import MAX_AGE, MAX_DRIFT, SIGNER_IDS, Env, now, other_entry, own_entry, rejects, submit

pytestmark = pytest.mark.anvil


@pytest.fixture(scope="module")
def setup(anvil):  # type: ignore[no-untyped-def]
    w3 = connect(anvil)
    with snapshot(w3):
        rng = random.Random(20261126)
        vk, td = unsafe_trapdoor_key(12, rng)
        verifier = deploy_verifier(w3, vk)
        owner = w3.eth.accounts[0]
        feed = deploy_any(w3, "SolvencyFeed", [dev_address(i) for i in SIGNER_IDS], 2, verifier, MAX_AGE, MAX_DRIFT,
                          owner)
        yield Env(w3, feed, None, owner, w3.eth.accounts[1], w3.eth.chain_id), td, rng


@pytest.fixture()
def ctx(setup):  # type: ignore[no-untyped-def]
    with snapshot(setup[0].w3):
        yield setup


def proven(env: Env, td: Any, rng: random.Random, round: int, entries: list[ChainEntry],
           prove_round: int | None = None, order: list[int] | None = None) -> tuple[Attestation, bytes]:
    """An attestation and a bundle whose proofs are for the feed-derived inputs (optionally for
    another round's inputs, or with the proofs in another order)."""
    ts, v = now(env.w3), env.feed.functions.signerSetVersion().call()
    draft = Attestation.build(prove_round or round, ts, v, entries, b"")
    inputs = public_inputs(draft)
    proofs = [unsafe_simulated_proof(td, inputs[12 * i:12 * (i + 1)], rng) for i in range(len(draft.chains))]
    if order:
        proofs = [proofs[i] for i in order]
    bundle = encode_bundle(proofs)
    return Attestation.build(round, ts, v, entries, bundle), bundle


def test_real_batched_proofs_accepted(ctx: Any) -> None:
    env, td, rng = ctx
    att, bundle = proven(env, td, rng, 1, [own_entry(env.w3), other_entry(31338), other_entry(31339)])
    receipt = submit(env, att, bundle=bundle)
    assert env.feed.functions.lastRound().call() == 1
    print(f"submit gas, 3 chains, real batched Groth16 verification: {receipt['gasUsed']}")


def test_proofs_for_other_inputs_rejected(ctx: Any) -> None:
    env, td, rng = ctx
    entries = [own_entry(env.w3), other_entry(31338), other_entry(31339)]
    att, bundle = proven(env, td, rng, 2, entries, prove_round=3)  # proven for round 3, attested as 2
    rejects(env, att, "ProofRejected", bundle=bundle)
    att, bundle = proven(env, td, rng, 2, entries, order=[1, 0, 2])  # proofs swapped between chains
    rejects(env, att, "ProofRejected", bundle=bundle)


def test_bundle_with_wrong_version_or_count_rejected(ctx: Any) -> None:
    env, td, rng = ctx
    entries = [own_entry(env.w3), other_entry(31338)]
    att, bundle = proven(env, td, rng, 1, entries)
    # same proofs under an unknown version: the verifier reverts UnsupportedBundleVersion (passed
    # on as VerifierReverted); one proof short: the verifier answers false (ProofRejected). Each
    # case must fail with its own error, so a verifier that mixes them up is caught.
    _, proofs = abi_decode(["uint256", "uint256[8][]"], bundle)
    for bad, err in ((abi_encode(["uint256", "uint256[8][]"], [2, list(proofs)]), "VerifierReverted"),
                     (abi_encode(["uint256", "uint256[8][]"], [1, list(proofs)[:1]]), "ProofRejected")):
        bad_att = Attestation.build(1, att.timestamp, att.signerSetVersion, entries, bad)
        rejects(env, bad_att, err, bundle=bad)
