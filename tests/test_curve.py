"""relayer.zk.curve (plain-int BN254 G1/G2) against py_ecc's optimized_bn128: add, double, mul, neg,
batch affine conversion, linear combinations, point validation (with the points that must fail), and
that the product modules that use it do not load py_ecc."""

from __future__ import annotations

import random
import subprocess
import sys

import pytest
from curve_helpers import first_twist_point
from py_ecc import optimized_bn128 as bn

from relayer.zk import curve
from relayer.zk.field import Q, R

RNG = random.Random(20261126)
GROUPS = {
    "g1": (curve.G1, curve.G1_GEN, curve.g1_add, curve.g1_mul, curve.g1_neg, curve.to_py_ecc_g1, curve.from_py_ecc_g1, bn.G1),
    "g2": (curve.G2, curve.G2_GEN, curve.g2_add, curve.g2_mul, curve.g2_neg, curve.to_py_ecc_g2, curve.from_py_ecc_g2, bn.G2),
}


@pytest.mark.parametrize("group", GROUPS)
def test_generators_and_conversions_are_py_ecc_s(group: str) -> None:
    _, gen, *_rest, to_b, from_b, b_gen = GROUPS[group]
    assert from_b(b_gen) == gen
    assert from_b(to_b(gen)) == gen
    assert to_b(None) == (bn.Z1 if group == "g1" else bn.Z2) and from_b(to_b(None)) is None


@pytest.mark.parametrize("group", GROUPS)
def test_group_operations_equal_py_ecc(group: str) -> None:
    _, gen, add, mul, neg, to_b, from_b, b_gen = GROUPS[group]
    # edge scalars: 0, 1, 2, r−1, r (wraps to 0), r + 5, negative, and random ones
    for k in (0, 1, 2, R - 1, R, R + 5, -3, RNG.randrange(R), RNG.randrange(R)):
        assert mul(gen, k) == from_b(bn.multiply(b_gen, k % R)), k
    p = mul(gen, RNG.randrange(1, R))
    q = mul(gen, RNG.randrange(1, R))
    assert add(p, q) == from_b(bn.add(to_b(p), to_b(q)))
    assert add(p, p) == from_b(bn.double(to_b(p)))  # the doubling branch of the addition formula
    assert add(p, neg(p)) is None and from_b(bn.add(to_b(p), to_b(neg(p)))) is None
    assert neg(p) == from_b(bn.neg(to_b(p)))
    assert add(None, p) == p and add(p, None) == p and neg(None) is None and mul(None, 7) is None


def test_lincomb_and_batch_scaling_equal_py_ecc() -> None:
    pts = [curve.g1_mul(curve.G1_GEN, RNG.randrange(1, R)) for _ in range(5)] + [None]
    ks = [RNG.randrange(R) for _ in pts[:-1]] + [12345]
    want = bn.Z1
    for p, k in zip(pts, ks):
        want = bn.add(want, bn.multiply(curve.to_py_ecc_g1(p), k))
    assert curve.g1_lincomb(pts, ks) == curve.from_py_ecc_g1(want)
    # scalars are taken mod r, and a combination that cancels is infinity
    assert curve.g1_lincomb(pts[:1], [ks[0] + R]) == curve.g1_mul(pts[0], ks[0])
    assert curve.g1_lincomb([pts[0], pts[0]], [1, R - 1]) is None
    k = RNG.randrange(R)
    assert curve.scale_all_g1(pts, k) == [curve.from_py_ecc_g1(bn.multiply(curve.to_py_ecc_g1(p), k)) for p in pts]
    g2s = [curve.g2_mul(curve.G2_GEN, RNG.randrange(1, R)) for _ in range(2)] + [None]
    assert curve.scale_each_g2(g2s, [3, 5, 7]) == [curve.from_py_ecc_g2(bn.multiply(curve.to_py_ecc_g2(p), s)) for p, s in zip(g2s, [3, 5, 7])]
    assert curve.scale_all_g1_fast(pts, k) == curve.scale_all_g1(pts, k)


def test_point_checks_reject_what_they_must() -> None:
    g1, g2 = curve.G1_GEN, curve.G2_GEN
    assert curve.is_on_curve_g1(g1) and curve.g1_valid(g1) and curve.g1_valid(None)
    for bad in ((1, 3), (1 + Q, 2), (1, 2 + Q), (-1, 2)):
        assert not curve.is_on_curve_g1(bad) and not curve.g1_valid(bad), bad
    assert curve.is_on_curve_g2(g2) and curve.g2_valid(g2) and curve.g2_valid(None)
    (x0, x1), (y0, y1) = g2
    assert not curve.is_on_curve_g2(((x0, x1), (y0, (y1 + 1) % Q)))
    assert not curve.is_on_curve_g2(((x0 + Q, x1), (y0, y1)))  # the same point with a non-canonical coordinate
    assert not curve.g2_valid(((x0, x1 + Q), (y0, y1)))
    # on the twist but outside the order-r subgroup: on_curve says yes, valid says no
    pt = first_twist_point()
    assert curve.is_on_curve_g2(pt) and bn.is_on_curve(curve.to_py_ecc_g2(pt), bn.b2)
    assert not curve.g2_valid(pt)
    assert not curve.G2.in_subgroup(pt)  # the slow r·P test agrees


def test_product_path_does_not_load_py_ecc() -> None:
    """py_ecc is the tests' oracle and the reference backend's arithmetic; the curve, pairing,
    verifier, key, snarkjs-format, Solidity-encoding and bundle modules must not import it (its
    pairing costs ~0.4 s where relayer.zk.pairing takes ~7 ms, its scalar multiplications 3–6×)."""
    code = (
        "import sys\n"
        "import relayer.zk.curve, relayer.zk.pairing, relayer.zk.groth16.verifier\n"
        "import relayer.zk.groth16.keys, relayer.zk.formats.snarkjs_json, relayer.zk.formats.zkey_file\n"
        "import relayer.zk.solidity, relayer.aggregate.bundle\n"
        "print('py_ecc' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "False", out.stderr


def test_unsafe_trapdoor_proofs_built_with_curve_verify() -> None:
    """relayer.zk.solidity builds its simulated (trapdoor) keys and proofs with this module: the local
    verifier accepts them for their inputs only, and the encoders reject a point moved off the curve."""
    import random as _random

    from relayer.errors import FormatError
    from relayer.zk import solidity as S
    from relayer.zk.groth16.types import Proof
    from relayer.zk.groth16.verifier import verify

    rng = _random.Random(7)
    vk, td = S.unsafe_trapdoor_key(2, rng)
    assert vk.alpha_g1 == curve.g1_mul(curve.G1_GEN, td.alpha) and vk.delta_g2 == curve.g2_mul(curve.G2_GEN, td.delta)
    public = [5, R - 1]
    proof = S.unsafe_simulated_proof(td, public, rng)
    assert verify(vk, public, proof)
    assert not verify(vk, [6, R - 1], proof)
    assert len(S.encode_proof(proof)) == 8
    (x0, x1), y = proof.b
    with pytest.raises(FormatError, match="proof B"):
        S.encode_proof(Proof(proof.a, ((x0, (x1 + 1) % Q), y), proof.c))
    with pytest.raises(FormatError, match="proof A"):
        S.encode_proof(Proof((proof.a[0] + Q, proof.a[1]), proof.b, proof.c))
