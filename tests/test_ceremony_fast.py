"""The compiled ceremony paths: per-point G1/G2 scaling and the group-FFT Lagrange conversion equal the
plain-int code they replace (kept as the reference), reject bad input, and a ceremony built on them still
gives keys whose proofs verify; snarkjs's own Lagrange basis judges the conversion."""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

import numpy as np
import pytest

from relayer.errors import FormatError, ProverError, ToolError
from relayer.zk import curve
from relayer.zk.circuit import Circuit
from relayer.zk.curve import G1, G1_GEN, G2, G2_GEN, g1_mul, g2_mul
from relayer.zk.field import Q, R, array_to_g1, array_to_g2, fr_root_of_unity, g1_to_array, g2_to_array, ints_to_limbs
from relayer.zk.groth16 import qap as qapmod
from relayer.zk.groth16 import scale_kernel as sk
from relayer.zk.groth16.prover import prove
from relayer.zk.groth16.setup import (
    PowersOfTau,
    _lagrange_points,
    _lagrange_points_plain,
    lagrange_from_ptau,
    phase1_contribute,
    phase1_new,
    phase1_verify,
    phase1_verify_contribution,
    phase2_contribute,
    phase2_new,
    phase2_verify_contribution,
)
from relayer.zk.groth16.verifier import verify

RNG = random.Random(20261126)

# Scalars that exercise the NAF recoding from k and 3k: the ends of Fr, runs of ones (long carries in 3k),
# single bits and runs that cross the 64-bit limb boundaries, and random values.
EDGE_SCALARS = [
    0, 1, 2, 3, 7, R - 1, R - 2, (R - 1) // 2,
    (1 << 64) - 1, 1 << 63, 1 << 64, (1 << 128) - 1, (1 << 127) + (1 << 64), (1 << 192) - 1, (1 << 253) - 1,
    1 << 253, int("10" * 126 + "1", 2), int("110" * 84, 2),
]


@pytest.fixture(scope="module", autouse=True)
def compiled() -> None:
    """Every comparison below is compiled vs plain: make sure the compiled path is the one taken."""
    assert curve._compiled_scaling() is sk


def _g1_points(k: int) -> list:  # type: ignore[type-arg]
    return [g1_mul(G1_GEN, RNG.randrange(1, R)) for _ in range(k)]


def _g2_points(k: int) -> list:  # type: ignore[type-arg]
    return [g2_mul(G2_GEN, RNG.randrange(1, R)) for _ in range(k)]


# --- each point times its own scalar -----------------------------------------------------------
def test_each_g1_equals_plain_ints() -> None:
    pts = _g1_points(len(EDGE_SCALARS)) + [None, G1_GEN, G1_GEN]
    ks = EDGE_SCALARS + [5, R + 5, -3]  # R + 5 and -3 are reduced mod r by scale_each_g1
    got = curve.scale_each_g1(pts, ks)
    assert got == curve._scale_each_g1_plain(pts, ks)
    assert got[0] is None and got[1] == pts[1] and got[len(EDGE_SCALARS)] is None  # k = 0, k = 1, infinity
    assert got[5] == curve.g1_neg(pts[5])  # r − 1
    assert got[-2] == g1_mul(G1_GEN, 5) and got[-1] == curve.g1_neg(g1_mul(G1_GEN, 3))
    # many random pairs, through the array entry point (what phase 1 calls)
    pts = _g1_points(40)
    ks = [RNG.randrange(R) for _ in pts]
    assert array_to_g1(sk.scale_each_g1_array(g1_to_array(pts), ks)) == curve._scale_each_g1_plain(pts, ks)


def test_each_g2_equals_plain_ints() -> None:
    pts = _g2_points(len(EDGE_SCALARS)) + [None, G2_GEN]
    ks = EDGE_SCALARS + [5, R + 7]
    got = curve.scale_each_g2(pts, ks)
    assert got == curve._scale_each_g2_plain(pts, ks)
    assert got[0] is None and got[1] == pts[1] and got[len(EDGE_SCALARS)] is None
    assert got[5] == curve.g2_neg(pts[5])
    assert got[-1] == g2_mul(G2_GEN, 7)
    # and against py_ecc, an independent implementation
    from py_ecc import optimized_bn128 as bn

    for p, k, q in zip(pts[:6], ks[:6], got[:6]):
        assert q == curve.from_py_ecc_g2(bn.multiply(curve.to_py_ecc_g2(p), k))


def test_glv_endomorphism_constants_and_split() -> None:
    """φ(x, y) = (βx, y) is [λ] on G1 for the pair the kernel uses, and every split is short and exact."""
    assert pow(sk.GLV_BETA, 3, Q) == 1 != sk.GLV_BETA and pow(sk.GLV_LAMBDA, 3, R) == 1 != sk.GLV_LAMBDA
    for p in _g1_points(3):
        assert (sk.GLV_BETA * p[0] % Q, p[1]) == g1_mul(p, sk.GLV_LAMBDA)
        assert (sk.GLV_BETA * p[0] % Q, p[1]) != g1_mul(p, sk.GLV_LAMBDA * sk.GLV_LAMBDA)  # not the other root
    for k in EDGE_SCALARS + [RNG.randrange(R) for _ in range(2000)]:
        k1, k2 = sk.glv_split(k)
        assert (k1 + sk.GLV_LAMBDA * k2 - k) % R == 0
        assert abs(k1) < 1 << sk.GLV_BITS and abs(k2) < 1 << sk.GLV_BITS


def test_scale_all_g2_uses_one_scalar_for_every_point() -> None:
    pts = _g2_points(3)
    k = RNG.randrange(R)
    assert curve.scale_all_g2(pts, k) == [g2_mul(p, k) for p in pts]


def test_each_scaling_rejects_bad_input() -> None:
    off_curve = (1, 3)
    with pytest.raises(FormatError, match="not on the curve"):
        curve.scale_each_g1([G1_GEN, off_curve], [2, 3])
    with pytest.raises(FormatError, match=">= q"):
        curve.scale_each_g1([(1, 2 + Q)], [2])
    with pytest.raises(FormatError, match="not on the curve"):
        curve.scale_each_g2([((1, 0), (2, 0))], [2])
    with pytest.raises(FormatError, match="2 scalars for 1"):
        curve.scale_each_g1([G1_GEN], [2, 3])
    with pytest.raises(FormatError, match="1 scalars for 2"):
        curve.scale_each_g2([G2_GEN, G2_GEN], [2])
    # limb arrays are taken as given: an unreduced one (3k would overflow four limbs) is refused
    with pytest.raises(FormatError, match="not reduced"):
        sk.scale_each_g1_array(g1_to_array([G1_GEN, G1_GEN]), ints_to_limbs([1, R]))
    with pytest.raises(FormatError, match="not reduced"):
        sk.scale_each_g2_array(g2_to_array([G2_GEN]), ints_to_limbs([(1 << 256) - 1]))


def test_each_scaling_without_numba_takes_the_plain_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(curve, "_compiled_scaling", lambda: None)
    pts = _g1_points(3)
    assert curve.scale_each_g1(pts, [4, 0, R - 1]) == [g1_mul(pts[0], 4), None, curve.g1_neg(pts[2])]


# --- the Lagrange conversion -------------------------------------------------------------------
@pytest.fixture(scope="module")
def ptau5() -> PowersOfTau:
    return phase1_contribute(phase1_new(5), name="fast-path test")


@pytest.mark.parametrize("n", [1, 2, 4, 8, 16, 32])
def test_lagrange_g1_equals_plain(ptau5: PowersOfTau, n: int) -> None:
    want = _lagrange_points_plain(ptau5.tau_g1, G1, n)
    assert _lagrange_points(ptau5.tau_g1, G1, n) == want
    assert array_to_g1(sk.lagrange_array("g1", g1_to_array(ptau5.alpha_tau_g1), n)) == _lagrange_points_plain(
        ptau5.alpha_tau_g1, G1, n)


@pytest.mark.parametrize("n", [1, 2, 4, 8])
def test_lagrange_g2_equals_plain(ptau5: PowersOfTau, n: int) -> None:
    assert _lagrange_points(ptau5.tau_g2, G2, n) == _lagrange_points_plain(ptau5.tau_g2, G2, n)


@pytest.mark.parametrize("n", [1, 2, 4, 8, 16])
def test_h_basis_equals_odd_outputs_of_the_plain_2n_transform(ptau5: PowersOfTau, n: int) -> None:
    want = _lagrange_points_plain(ptau5.tau_g1[: 2 * n], G1, 2 * n)[1::2]
    assert array_to_g1(sk.lagrange_odd_g1_array(g1_to_array(ptau5.tau_g1), n)) == want


def test_h_basis_with_infinity_and_equal_halves() -> None:
    """The differences [τ^m]P − [τ^{m+n}]P meet every case: either side infinity, both, equal points
    (difference ∞), opposite points (difference 2P)."""
    n = 8
    pts = _g1_points(2 * n)
    pts[1] = None  # first half ∞
    pts[n + 2] = None  # second half ∞
    pts[3] = pts[n + 3] = None  # both
    pts[n + 4] = pts[4]  # equal
    pts[n + 5] = curve.g1_neg(pts[5])  # opposite
    want = _lagrange_points_plain(pts, G1, 2 * n)[1::2]
    assert array_to_g1(sk.lagrange_odd_g1_array(g1_to_array(pts), n)) == want
    # τ = 1: every difference is ∞, and so is every odd Lagrange point (L_odd(1) = 0)
    assert array_to_g1(sk.lagrange_odd_g1_array(g1_to_array([G1_GEN] * 2 * n), n)) == [None] * n
    with pytest.raises(FormatError, match="needs 16"):
        sk.lagrange_odd_g1_array(g1_to_array(pts[:15]), n)


def test_lagrange_basis_is_l_k_at_tau() -> None:
    """From powers of a known τ (and α, β), every converted point is [L_k(τ)]·P, independently of
    the plain group FFT: checked against Fr values from qap.lagrange_at / h_lagrange_at."""
    tau, alpha, beta = (RNG.randrange(2, R) for _ in range(3))
    power, n = 3, 8
    pw = [pow(tau, j, R) for j in range(2 * n)]
    ptau = PowersOfTau(
        power=power,
        tau_g1=[g1_mul(G1_GEN, x) for x in pw],
        tau_g2=[g2_mul(G2_GEN, x) for x in pw[:n]],
        alpha_tau_g1=[g1_mul(G1_GEN, alpha * x) for x in pw[:n]],
        beta_tau_g1=[g1_mul(G1_GEN, beta * x) for x in pw[:n]],
        beta_g2=g2_mul(G2_GEN, beta),
    )
    basis = lagrange_from_ptau(ptau, n)
    lag = qapmod.lagrange_at(tau, n)
    assert basis.tau_g1 == [g1_mul(G1_GEN, x) for x in lag]
    assert basis.tau_g2 == [g2_mul(G2_GEN, x) for x in lag]
    assert basis.alpha_tau_g1 == [g1_mul(G1_GEN, alpha * x) for x in lag]
    assert basis.beta_tau_g1 == [g1_mul(G1_GEN, beta * x) for x in lag]
    assert basis.h_g1 == [g1_mul(G1_GEN, x) for x in qapmod.h_lagrange_at(tau, n)]
    half = lagrange_from_ptau(ptau, n // 2)  # a smaller domain from the same powers
    assert half.tau_g1 == [g1_mul(G1_GEN, x) for x in qapmod.lagrange_at(tau, n // 2)]


def test_lagrange_of_tau_one_is_generator_then_infinity() -> None:
    """τ = 1 (a fresh ceremony): L_0(1) = 1, L_k(1) = 0, so the FFT must produce infinity (in its
    intermediate layers too) and keep it: [G, ∞, ∞, ...]."""
    p = phase1_new(4)
    assert _lagrange_points(p.tau_g1, G1, 16) == [G1_GEN] + [None] * 15
    assert _lagrange_points(p.tau_g2, G2, 8) == [G2_GEN] + [None] * 7


def test_off_by_one_twiddles_are_caught(ptau5: PowersOfTau, monkeypatch: pytest.MonkeyPatch) -> None:
    """The comparisons above can fail: twiddles shifted by one power, or of the wrong root, give
    different points."""
    want = _lagrange_points_plain(ptau5.tau_g1, G1, 8)
    real = sk._twiddle_powers
    monkeypatch.setattr(sk, "_twiddle_powers", lambda n: [x * pow(fr_root_of_unity(n), -1, R) % R for x in real(n)])
    assert _lagrange_points(ptau5.tau_g1, G1, 8) != want
    monkeypatch.setattr(sk, "_twiddle_powers", lambda n: [pow(x, -1, R) for x in real(n)])  # ω instead of ω⁻¹
    got = _lagrange_points(ptau5.tau_g1, G1, 8)
    assert got != want and sorted(map(str, got)) == sorted(map(str, want))  # same points, wrong order
    monkeypatch.setattr(sk, "_twiddle_powers", real)
    assert _lagrange_points(ptau5.tau_g1, G1, 8) == want


def test_lagrange_rejects_bad_input(ptau5: PowersOfTau) -> None:
    with pytest.raises(FormatError, match="power of two"):
        sk.lagrange_array("g1", g1_to_array(ptau5.tau_g1), 12)
    with pytest.raises(FormatError, match="4 points for a Lagrange basis that needs 8"):
        sk.lagrange_array("g1", g1_to_array(ptau5.tau_g1[:4]), 8)
    bad = list(ptau5.tau_g1[:8])
    bad[3] = (1, 3)
    with pytest.raises(FormatError, match="not on the curve"):
        sk.lagrange_array("g1", g1_to_array(bad), 8)
    with pytest.raises(ProverError, match="only cover"):
        lagrange_from_ptau(phase1_new(2), 8)


# --- the ceremony on the compiled paths --------------------------------------------------------
def _circuit() -> Circuit:
    c = Circuit("fast")
    x = c.public_input("x")
    y = c.private_input("y")
    t = c.mul(x, y, "t")
    u = c.mul(t, y, "u")
    c.output("out", u + x)
    return c


def test_phase1_then_phase2_keys_prove_and_verify() -> None:
    p0 = phase1_new(3)
    p1 = phase1_contribute(p0, name="alice", entropy=b"dice")
    phase1_verify_contribution(p0, p1)
    p2 = phase1_contribute(p1, name="bob")
    phase1_verify_contribution(p1, p2)
    c = _circuit()
    k0 = phase2_new(c.compile(), p2)
    k1 = phase2_contribute(k0, name="carol")
    phase2_verify_contribution(k0, k1)
    from relayer.zk.backends import get_backend

    proof, public = prove(k1, c.witness({"x": 3, "y": 5}), get_backend("cpu"))
    assert verify(k1.vk, public, proof)
    assert not verify(k1.vk, [public[0] + 1, *public[1:]], proof)


@pytest.mark.parametrize("part", ["tau_g1", "tau_g2", "alpha_tau_g1", "beta_tau_g1"])
def test_phase1_verify_on_msms_catches_each_tampered_list(part: str) -> None:
    p = phase1_contribute(phase1_new(3))
    phase1_verify(p)
    pts = getattr(p, part)
    pts[2] = g2_mul(pts[2], 3) if part == "tau_g2" else g1_mul(pts[2], 3)
    with pytest.raises(ProverError, match="powers of tau"):
        phase1_verify(p)


def test_phase1_verify_refuses_points_off_the_curve_and_short_lists() -> None:
    p = phase1_contribute(phase1_new(2))
    p.alpha_tau_g1[1] = (1, 3)
    with pytest.raises(ProverError, match="not on the curve"):
        phase1_verify(p)
    q = phase1_contribute(phase1_new(2))
    q.tau_g1 = q.tau_g1[:-1]
    with pytest.raises(ProverError, match="needs 2n"):
        phase1_verify(q)


def test_phase1_verify_on_the_reference_backend() -> None:
    p = phase1_contribute(phase1_new(2))
    phase1_verify(p, backend="reference")
    p.beta_tau_g1[1] = g1_mul(p.beta_tau_g1[1], 2)
    with pytest.raises(ProverError, match="β·τ|beta"):
        phase1_verify(p, backend="reference")


# --- snarkjs judges the Lagrange conversion ------------------------------------------------------
def _snarkjs(d: Path, *args: str) -> None:
    from relayer.tools import snarkjs_cmd

    res = subprocess.run([*snarkjs_cmd(), *args], cwd=d, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, f"snarkjs {' '.join(args[:2])}: {res.stdout}\n{res.stderr}"


def test_lagrange_from_snarkjs_monomials_equals_snarkjs_prepared_ptau(tmp_path: Path) -> None:
    """snarkjs `powersoftau prepare phase2` computes the Lagrange basis (sections 12-15) from the
    monomial sections 2-6 of the same file: our conversion of those monomials must give its points."""
    from relayer.tools import snarkjs_cmd
    from relayer.zk.formats.binfile import read_container
    from relayer.zk.formats.zkey_file import _g1_array, _g2_array, read_snarkjs_ptau

    try:
        snarkjs_cmd()
    except ToolError as exc:
        pytest.fail(f"snarkjs not installed (run scripts/bootstrap): {exc}")
    _snarkjs(tmp_path, "powersoftau", "new", "bn128", "4", "p0.ptau")
    _snarkjs(tmp_path, "powersoftau", "contribute", "p0.ptau", "p1.ptau", "--name=one", "-e=ceremony fast test")
    _snarkjs(tmp_path, "powersoftau", "prepare", "phase2", "p1.ptau", "pf.ptau")
    bf = read_container(tmp_path / "pf.ptau", "ptau", 1)
    src = "pf.ptau"
    tau_g1 = array_to_g1(_g1_array(bytes(bf.section(2)), src, "tauG1"))  # 2·16 − 1 powers
    ptau = PowersOfTau(
        power=4,
        tau_g1=tau_g1 + [None],  # the one power snarkjs omits is never read for n ≤ 8
        tau_g2=array_to_g2(_g2_array(bytes(bf.section(3)), src, "tauG2")),
        alpha_tau_g1=array_to_g1(_g1_array(bytes(bf.section(4)), src, "alphaTauG1")),
        beta_tau_g1=array_to_g1(_g1_array(bytes(bf.section(5)), src, "betaTauG1")),
        beta_g2=array_to_g2(_g2_array(bytes(bf.section(6)), src, "betaG2"))[0],
    )
    for n in (4, 8):
        ours = lagrange_from_ptau(ptau, n)
        theirs = read_snarkjs_ptau(tmp_path / "pf.ptau", n)
        for name in ("tau_g1", "tau_g2", "alpha_tau_g1", "beta_tau_g1", "h_g1"):
            assert getattr(ours, name) == getattr(theirs, name), (n, name)
        assert ours.tau_g1 != theirs.alpha_tau_g1  # the comparison is between different lists


def test_each_scaling_handles_an_array_of_ten_thousand_points() -> None:
    """Large enough for every thread and many normalisation chunks: spot-check rows against plain ints."""
    n = 10_000
    base = g1_to_array([g1_mul(G1_GEN, 7)])
    pts = np.repeat(base, n, axis=0)
    ks = [RNG.randrange(R) for _ in range(n)]
    out = sk.scale_each_g1_array(pts, ks)
    for i in (0, 1, 4999, 9998, 9999):
        assert array_to_g1(out[i : i + 1])[0] == g1_mul(G1_GEN, 7 * ks[i])
