"""Groth16 verification with py_ecc's BN254 pairing: single proofs and random-linear-combination batches.

Single (Groth 2016, eq. in snarkjs `groth16_verify.js`):
    e(−A, B) · e(vk_x, γ) · e(C, δ) · e(α, β) = 1,   vk_x = IC_0 + Σ x_i · IC_i.
Batch of n proofs under one key, with coefficients ρ_k from Fiat–Shamir over every proof and input:
    Π_k e(−ρ_k A_k, B_k) · e(Σ ρ_k vk_x_k, γ) · e(Σ ρ_k C_k, δ) · e((Σ ρ_k) α, β) = 1   (n + 3 pairs).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from eth_utils import keccak
from py_ecc import optimized_bn128 as bn

from relayer.errors import ProverError
from relayer.zk.field import R, G1Point, G2Point
from relayer.zk.groth16.ec import G1, g1_lincomb, g1_neg, g1_valid, g1_mul, g2_valid
from relayer.zk.groth16.types import Proof, VerifyingKey

log = logging.getLogger(__name__)


def to_py_ecc_g1(p: G1Point) -> Any:
    if p is None:
        return bn.Z1
    return (bn.FQ(p[0]), bn.FQ(p[1]), bn.FQ.one())


def to_py_ecc_g2(p: G2Point) -> Any:
    if p is None:
        return bn.Z2
    return (bn.FQ2([p[0][0], p[0][1]]), bn.FQ2([p[1][0], p[1][1]]), bn.FQ2.one())


def _pairing_product_is_one(pairs: Sequence[tuple[G1Point, G2Point]]) -> bool:
    """Π e(P_i, Q_i) == 1 with one final exponentiation (Miller loops multiplied first)."""
    acc = bn.FQ12.one()
    for p, q in pairs:
        if p is None or q is None:
            continue  # e(O, Q) = e(P, O) = 1
        acc = acc * bn.pairing(to_py_ecc_g2(q), to_py_ecc_g1(p), final_exponentiate=False)
    return bn.final_exponentiate(acc) == bn.FQ12.one()


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
        [(g1_neg(proof.a), proof.b), (vk_x, vk.gamma_g2), (proof.c, vk.delta_g2), (vk.alpha_g1, vk.beta_g2)]
    )


def _word(v: int) -> bytes:
    return v.to_bytes(32, "big")


def batch_coefficients(items: Sequence[tuple[Sequence[int], Proof]]) -> list[int]:
    """Fiat–Shamir coefficients ρ_k = keccak256(seed ‖ uint256(k)) mod r.

    seed = keccak256 of, for every proof in order, the 32-byte big-endian words
    A.x, A.y, B.x.c1, B.x.c0, B.y.c1, B.y.c0, C.x, C.y (the EVM precompile order), then its public
    signals. Every byte the prover controls goes into the seed, so no ρ can be chosen adaptively.
    """
    buf = bytearray()
    for public, proof in items:
        a = proof.a or (0, 0)
        c = proof.c or (0, 0)
        b = proof.b or ((0, 0), (0, 0))
        for v in (a[0], a[1], b[0][1], b[0][0], b[1][1], b[1][0], c[0], c[1], *public):
            buf += _word(v)
    seed = keccak(bytes(buf))
    out = []
    for k in range(len(items)):
        rho = int.from_bytes(keccak(seed + _word(k)), "big") % R
        out.append(rho or 1)  # a zero coefficient would drop a proof from the check
    return out


def verify_batch(vk: VerifyingKey, items: Sequence[tuple[Sequence[int], Proof]]) -> bool:
    """All proofs valid under vk, checked with one multi-pairing of len(items) + 3 pairs."""
    if not items:
        raise ProverError("verify_batch needs at least one (public, proof) pair")
    for public, proof in items:
        if not _inputs_ok(vk, public) or not _proof_ok(proof):
            return False
    rhos = batch_coefficients(items)
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
