"""Groth16 verification: single proofs and random-linear-combination batches.

Pairings: `relayer.zk.pairing` (pure-Python optimal ate; tests/test_pairing.py checks it against py_ecc,
and tests/test_groth16.py checks this verifier against a py_ecc pairing product).

Single (Groth 2016, eq. in snarkjs `groth16_verify.js`):
    e(−A, B) · e(vk_x, γ) · e(C, δ) · e(α, β) = 1,   vk_x = IC_0 + Σ x_i · IC_i.
Batch of n proofs under one key, with coefficients ρ_k from Fiat–Shamir over the key, every proof and
every input (derived exactly as the on-chain Groth16VerifierBase does):
    Π_k e(−ρ_k A_k, B_k) · e(Σ ρ_k vk_x_k, γ) · e(Σ ρ_k C_k, δ) · e((Σ ρ_k) α, β) = 1   (n + 3 pairs).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from eth_hash.auto import keccak

from relayer.errors import ProverError
from relayer.zk.curve import G1, g1_lincomb, g1_mul, g1_neg, g1_valid, g2_valid
from relayer.zk.field import R, G1Point, G2Point
from relayer.zk.groth16.types import Proof, VerifyingKey
from relayer.zk.pairing import pairing_product_is_one

# One copy of the contract's word layouts (VK words and their hash, the 8 proof words): the ones the
# contracts and their tests pin, in relayer.zk.solidity. Re-exported here for the batch seed.
from relayer.zk.solidity import encode_proof, vk_hash

log = logging.getLogger(__name__)


def _pairing_product_is_one(pairs: Sequence[tuple[G1Point, G2Point]], fixed_last: bool = False) -> bool:
    """Π e(P_i, Q_i) == 1 with one multi-Miller loop and one final exponentiation (relayer.zk.pairing;
    fixed_last: the last pair is a key constant (e(α, β)) whose Miller value is cached."""
    if fixed_last and pairs:
        return pairing_product_is_one(pairs[:-1], fixed=pairs[-1:])
    return pairing_product_is_one(pairs)


def _inputs_ok(vk: VerifyingKey, public: Sequence[int]) -> bool:
    if len(public) != vk.n_public:
        log.info("verify: %d public signals given, the key expects %d", len(public), vk.n_public)
        return False
    for i, x in enumerate(public):
        # never reduce: x and x + r would otherwise both verify (input malleability)
        if not isinstance(x, int) or not 0 <= x < R:
            log.info("verify: public signal %d is not an integer in [0, r)", i)
            return False
    return True


def _proof_ok(proof: Proof) -> bool:
    if not (g1_valid(proof.a) and g1_valid(proof.c) and g2_valid(proof.b)):
        log.info("verify: a proof point is not on the curve / not in the G2 subgroup")
        return False
    return True


def public_accumulator(vk: VerifyingKey, public: Sequence[int]) -> G1Point:
    """vk_x = IC_0 + Σ public[i] · IC_{i+1}."""
    return g1_lincomb(vk.ic, [1, *public])


def verify(vk: VerifyingKey, public: Sequence[int], proof: Proof) -> bool:
    """True iff the proof verifies for these public signals (out-of-range inputs → False)."""
    if not _inputs_ok(vk, public) or not _proof_ok(proof):
        return False
    vk_x = public_accumulator(vk, public)
    return _pairing_product_is_one(
        [(g1_neg(proof.a), proof.b), (vk_x, vk.gamma_g2), (proof.c, vk.delta_g2), (vk.alpha_g1, vk.beta_g2)],
        fixed_last=True,
    )


def _word(v: int) -> bytes:
    return v.to_bytes(32, "big")


def batch_coefficients(vk: VerifyingKey, items: Sequence[tuple[Sequence[int], Proof]]) -> list[int]:
    """Fiat–Shamir coefficients, the same as contracts/src/Groth16VerifierBase.sol:
    seed = keccak256(vkHash ‖ every proof as 8 words [A.x, A.y, B.x.c1, B.x.c0, B.y.c1, B.y.c0, C.x, C.y]
    ‖ every proof's public inputs), ρ_0 = 1, ρ_i = keccak256(seed ‖ uint256(i)) mod r.
    Everything the prover controls is in the seed, so no ρ can be chosen after the fact.
    """
    buf = bytearray(vk_hash(vk))
    for _public, proof in items:
        for v in encode_proof(proof):
            buf += _word(v)
    for public, _proof in items:
        for v in public:
            buf += _word(v)
    seed = keccak(bytes(buf))
    return [1] + [int.from_bytes(keccak(seed + _word(i)), "big") % R for i in range(1, len(items))]


def verify_batch(vk: VerifyingKey, items: Sequence[tuple[Sequence[int], Proof]]) -> bool:
    """All proofs valid under vk, checked with one multi-pairing of len(items) + 3 pairs."""
    if not items:
        raise ProverError("verify_batch needs at least one (public, proof) pair")
    for public, proof in items:
        if not _inputs_ok(vk, public) or not _proof_ok(proof):
            return False
    rhos = batch_coefficients(vk, items)
    pairs: list[tuple[G1Point, G2Point]] = []
    acc_x = G1.inf
    acc_c = G1.inf
    for rho, (public, proof) in zip(rhos, items):
        pairs.append((g1_mul(g1_neg(proof.a), rho), proof.b))
        acc_x = G1.add(acc_x, G1.from_affine(g1_mul(public_accumulator(vk, public), rho)))
        acc_c = G1.add(acc_c, G1.from_affine(g1_mul(proof.c, rho)))
    pairs.append((G1.to_affine(acc_x), vk.gamma_g2))
    pairs.append((G1.to_affine(acc_c), vk.delta_g2))
    pairs.append((g1_mul(vk.alpha_g1, sum(rhos) % R), vk.beta_g2))
    return _pairing_product_is_one(pairs)
