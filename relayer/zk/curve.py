"""BN254 G1/G2 group operations on plain ints (the `relayer.zk.field` point conventions).

Small and slow on purpose: for tests, setup checks and converting a handful of points. The
arithmetic is py_ecc `optimized_bn128` (EIP-196/197 curve); these wrappers only convert between
its classes and our tuples (G1 = (x, y), G2 = ((x0, x1), (y0, y1)), None = infinity).
"""

from __future__ import annotations

from typing import Any

from py_ecc import optimized_bn128 as _b

from relayer.zk.field import Q, R, G1Point, G2Point

# Generators (EIP-196 G1 = (1, 2); G2 from EIP-197 / py_ecc bn128).
G1_GEN: G1Point = (1, 2)
G2_GEN: G2Point = (
    (
        10857046999023057135944570762232829481370756359578518086990519993285655852781,
        11559732032986387107991004021392285783925812861821192530917403151452391805634,
    ),
    (
        8495653923123431417604973247489272438418190587263600148770280649306958101930,
        4082367875863433681332203403145435568316851327593401208105741076214120093531,
    ),
)


def to_py_ecc_g1(p: G1Point) -> Any:
    if p is None:
        return _b.Z1
    return (_b.FQ(p[0]), _b.FQ(p[1]), _b.FQ.one())


def to_py_ecc_g2(p: G2Point) -> Any:
    if p is None:
        return _b.Z2
    (x0, x1), (y0, y1) = p
    return (_b.FQ2([x0, x1]), _b.FQ2([y0, y1]), _b.FQ2.one())


def from_py_ecc_g1(p: Any) -> G1Point:
    if _b.is_inf(p):
        return None
    x, y = _b.normalize(p)
    return (int(x), int(y))


def from_py_ecc_g2(p: Any) -> G2Point:
    if _b.is_inf(p):
        return None
    x, y = _b.normalize(p)
    return ((int(x.coeffs[0]), int(x.coeffs[1])), (int(y.coeffs[0]), int(y.coeffs[1])))


def is_on_curve_g1(p: G1Point) -> bool:
    """y^2 = x^3 + 3 with canonical coordinates (infinity counts as on the curve)."""
    if p is None:
        return True
    x, y = p
    if not (0 <= x < Q and 0 <= y < Q):
        return False
    return (y * y - x * x * x - 3) % Q == 0


def is_on_curve_g2(p: G2Point) -> bool:
    """y^2 = x^3 + 3/(9+u) over Fq2 with canonical coordinates (no subgroup check)."""
    if p is None:
        return True
    (x0, x1), (y0, y1) = p
    if not all(0 <= v < Q for v in (x0, x1, y0, y1)):
        return False
    return bool(_b.is_on_curve(to_py_ecc_g2(p), _b.b2))


def g1_add(p: G1Point, q: G1Point) -> G1Point:
    return from_py_ecc_g1(_b.add(to_py_ecc_g1(p), to_py_ecc_g1(q)))


def g1_neg(p: G1Point) -> G1Point:
    return None if p is None else (p[0], (-p[1]) % Q)


def g1_mul(p: G1Point, k: int) -> G1Point:
    """[k]p for any integer k (reduced mod r, since every G1 point has order r)."""
    return from_py_ecc_g1(_b.multiply(to_py_ecc_g1(p), k % R))


def g2_add(p: G2Point, q: G2Point) -> G2Point:
    return from_py_ecc_g2(_b.add(to_py_ecc_g2(p), to_py_ecc_g2(q)))


def g2_neg(p: G2Point) -> G2Point:
    if p is None:
        return None
    return (p[0], ((-p[1][0]) % Q, (-p[1][1]) % Q))


def g2_mul(p: G2Point, k: int) -> G2Point:
    """[k]p for any integer k (reduced mod r: points of G2 proper have order r)."""
    return from_py_ecc_g2(_b.multiply(to_py_ecc_g2(p), k % R))
