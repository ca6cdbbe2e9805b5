"""BN254 G1/G2 point arithmetic on plain ints, in the `relayer.zk.field` conventions (the one copy).

G1 = (x, y), G2 = ((x0, x1), (y0, y1)) with x = x0 + x1·u, None = infinity. Jacobian coordinates over
Fq (G1) and Fq2 = Fq[u]/(u²+1) (G2); formulas dbl-2009-l and add-2007-bl for a = 0 curves
(hyperelliptic.org EFD). For setup updates, prover glue, key checks and tests; hot loops (MSM, NTT)
live in the backends. py_ecc conversions at the end serve the `reference` backend and tests only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from relayer.zk.field import Q, R, G1Point, G2Point
from relayer.zk.pairing import _naf, g2_in_subgroup

Fq2 = tuple[int, int]

# Generators: EIP-196 G1 = (1, 2); G2 from EIP-197 / py_ecc bn128, x = x0 + x1*u.
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
B1 = 3
# b' = 3 / (9 + u) in Fq2 (the twist), from py_ecc bn128 `b2` (tests/test_pairing.py checks it
# against the value relayer.zk.pairing computes)
B2: Fq2 = (
    19485874751759354771024239261021720505790618469301721065564631296452457478373,
    266929791119991161246907387137283842545076965332900288569378510910307636690,
)


# --- field ops: the same small protocol for Fq (ints) and Fq2 (pairs) ---------------------------
class _Fq:
    zero = 0
    one = 1

    @staticmethod
    def add(a: int, b: int) -> int:
        return (a + b) % Q

    @staticmethod
    def sub(a: int, b: int) -> int:
        return (a - b) % Q

    @staticmethod
    def mul(a: int, b: int) -> int:
        return a * b % Q

    @staticmethod
    def small(a: int, k: int) -> int:
        return a * k % Q

    @staticmethod
    def inv(a: int) -> int:
        return pow(a, -1, Q)

    @staticmethod
    def is_zero(a: int) -> bool:
        return a % Q == 0


class _Fq2:
    zero = (0, 0)
    one = (1, 0)

    @staticmethod
    def add(a: Fq2, b: Fq2) -> Fq2:
        return ((a[0] + b[0]) % Q, (a[1] + b[1]) % Q)

    @staticmethod
    def sub(a: Fq2, b: Fq2) -> Fq2:
        return ((a[0] - b[0]) % Q, (a[1] - b[1]) % Q)

    @staticmethod
    def mul(a: Fq2, b: Fq2) -> Fq2:
        # (a0 + a1 u)(b0 + b1 u) with u^2 = -1
        return ((a[0] * b[0] - a[1] * b[1]) % Q, (a[0] * b[1] + a[1] * b[0]) % Q)

    @staticmethod
    def small(a: Fq2, k: int) -> Fq2:
        return (a[0] * k % Q, a[1] * k % Q)

    @staticmethod
    def inv(a: Fq2) -> Fq2:
        d = pow((a[0] * a[0] + a[1] * a[1]) % Q, -1, Q)
        return (a[0] * d % Q, (-a[1]) * d % Q)

    @staticmethod
    def is_zero(a: Fq2) -> bool:
        return a[0] % Q == 0 and a[1] % Q == 0


Jac = tuple[Any, Any, Any]


class _Group:
    """Short Weierstrass y^2 = x^3 + b over F, Jacobian (X, Y, Z) with x = X/Z^2, y = Y/Z^3."""

    def __init__(self, f: Any, b: Any) -> None:
        self.f = f
        self.b = b
        self.inf: Jac = (f.one, f.one, f.zero)

    def from_affine(self, p: Any) -> Jac:
        return self.inf if p is None else (p[0], p[1], self.f.one)

    def to_affine(self, p: Jac) -> Any:
        f = self.f
        if f.is_zero(p[2]):
            return None
        zi = f.inv(p[2])
        zi2 = f.mul(zi, zi)
        return (f.mul(p[0], zi2), f.mul(p[1], f.mul(zi2, zi)))

    def batch_to_affine(self, pts: Sequence[Jac]) -> list[Any]:
        """Affine forms of many points with one inversion (Montgomery's trick)."""
        f = self.f
        zs = [p[2] for p in pts]
        prefix = []
        acc = f.one
        for z in zs:
            prefix.append(acc)
            if not f.is_zero(z):
                acc = f.mul(acc, z)
        inv = f.inv(acc)
        out: list[Any] = [None] * len(pts)
        for i in range(len(pts) - 1, -1, -1):
            z = zs[i]
            if f.is_zero(z):
                continue
            zi = f.mul(inv, prefix[i])
            inv = f.mul(inv, z)
            zi2 = f.mul(zi, zi)
            out[i] = (f.mul(pts[i][0], zi2), f.mul(pts[i][1], f.mul(zi2, zi)))
        return out

    def is_on_curve(self, p: Any) -> bool:
        if p is None:
            return True
        f = self.f
        x, y = p
        return f.sub(f.mul(y, y), f.add(f.mul(f.mul(x, x), x), self.b)) == f.zero

    def double(self, p: Jac) -> Jac:
        f = self.f
        X, Y, Z = p
        if f.is_zero(Z) or f.is_zero(Y):
            return self.inf
        A = f.mul(X, X)
        B = f.mul(Y, Y)
        C = f.mul(B, B)
        t = f.add(X, B)
        D = f.small(f.sub(f.sub(f.mul(t, t), A), C), 2)
        E = f.small(A, 3)
        F = f.mul(E, E)
        X3 = f.sub(F, f.small(D, 2))
        Y3 = f.sub(f.mul(E, f.sub(D, X3)), f.small(C, 8))
        Z3 = f.small(f.mul(Y, Z), 2)
        return (X3, Y3, Z3)

    def add(self, p: Jac, q: Jac) -> Jac:
        f = self.f
        if f.is_zero(p[2]):
            return q
        if f.is_zero(q[2]):
            return p
        X1, Y1, Z1 = p
        X2, Y2, Z2 = q
        Z1Z1 = f.mul(Z1, Z1)
        Z2Z2 = f.mul(Z2, Z2)
        U1 = f.mul(X1, Z2Z2)
        U2 = f.mul(X2, Z1Z1)
        S1 = f.mul(f.mul(Y1, Z2), Z2Z2)
        S2 = f.mul(f.mul(Y2, Z1), Z1Z1)
        if U1 == U2:
            return self.double(p) if S1 == S2 else self.inf
        H = f.sub(U2, U1)
        I2 = f.small(H, 2)
        I = f.mul(I2, I2)
        J = f.mul(H, I)
        rr = f.small(f.sub(S2, S1), 2)
        V = f.mul(U1, I)
        X3 = f.sub(f.sub(f.mul(rr, rr), J), f.small(V, 2))
        Y3 = f.sub(f.mul(rr, f.sub(V, X3)), f.small(f.mul(S1, J), 2))
        zs = f.add(Z1, Z2)
        Z3 = f.mul(f.sub(f.sub(f.mul(zs, zs), Z1Z1), Z2Z2), H)
        return (X3, Y3, Z3)

    def neg(self, p: Jac) -> Jac:
        return (p[0], self.f.sub(self.f.zero, p[1]), p[2])

    def mul(self, p: Jac, k: int) -> Jac:
        """k * p by left-to-right double-and-add; k taken as given (callers reduce mod r)."""
        if k < 0:
            return self.mul(self.neg(p), -k)
        acc = self.inf
        for bit in bin(k)[2:] if k else "":
            acc = self.double(acc)
            if bit == "1":
                acc = self.add(acc, p)
        return acc

    def in_subgroup(self, p: Any) -> bool:
        """r * p == infinity (needed for G2, whose curve has a cofactor)."""
        if p is None:
            return True
        return self.f.is_zero(self.mul(self.from_affine(p), R)[2])


G1 = _Group(_Fq, B1)
G2 = _Group(_Fq2, B2)


# --- affine conveniences ------------------------------------------------------------------------
def g1_add(p: G1Point, q: G1Point) -> G1Point:
    return G1.to_affine(G1.add(G1.from_affine(p), G1.from_affine(q)))


def g2_add(p: G2Point, q: G2Point) -> G2Point:
    return G2.to_affine(G2.add(G2.from_affine(p), G2.from_affine(q)))


def g1_mul(p: G1Point, k: int) -> G1Point:
    """[k]p for any integer k, reduced mod r (every G1 point has order r)."""
    return G1.to_affine(G1.mul(G1.from_affine(p), k % R))


def g2_mul(p: G2Point, k: int) -> G2Point:
    """[k]p for any integer k, reduced mod r (points of G2 proper have order r; use G2.mul for others)."""
    return G2.to_affine(G2.mul(G2.from_affine(p), k % R))


def g1_neg(p: G1Point) -> G1Point:
    return None if p is None else (p[0], (-p[1]) % Q)


def g2_neg(p: G2Point) -> G2Point:
    return None if p is None else (p[0], ((-p[1][0]) % Q, (-p[1][1]) % Q))


def g1_lincomb(points: Sequence[G1Point], scalars: Sequence[int]) -> G1Point:
    """Small sum of scalars[i] * points[i] (tens of terms; big ones go through a backend MSM)."""
    acc = G1.inf
    for p, k in zip(points, scalars):
        k %= R
        if k and p is not None:
            acc = G1.add(acc, G1.mul(G1.from_affine(p), k))
    return G1.to_affine(acc)


def scale_all_g1(points: Sequence[G1Point], k: int) -> list[G1Point]:
    """[k] * p for every p (one scalar, many bases: setup contributions)."""
    k %= R
    return G1.batch_to_affine([G1.mul(G1.from_affine(p), k) for p in points])


def scale_all_g2(points: Sequence[G2Point], k: int) -> list[G2Point]:
    """[k] * p for every p in G2 (compiled per-point kernel when numba is usable)."""
    return scale_each_g2(points, [k] * len(points))


def _compiled_scaling() -> Any:
    """The compiled scaling module, or None where numba (or a kernel it needs) is unusable; the
    plain-int path gives the same points, slower."""
    try:
        from relayer.zk.groth16 import scale_kernel
    except ImportError as exc:
        import logging

        logging.getLogger(__name__).info("compiled point scaling unavailable (%s); using plain Python", exc)
        return None
    return scale_kernel


def scale_each_g1(points: Sequence[G1Point], ks: Sequence[int]) -> list[G1Point]:
    """[ks[i]] * points[i] (phase-1 updates: τ^i scales the i-th power); FormatError for a point off
    the curve or a length mismatch."""
    from relayer.errors import FormatError
    from relayer.zk.field import array_to_g1, g1_to_array

    if len(points) != len(ks):
        raise FormatError(f"{len(ks)} scalars for {len(points)} G1 points")
    sk = _compiled_scaling() if points else None
    if sk is None:
        return _scale_each_g1_plain(points, ks)
    return array_to_g1(sk.scale_each_g1_array(g1_to_array(points), [k % R for k in ks]))


def scale_each_g2(points: Sequence[G2Point], ks: Sequence[int]) -> list[G2Point]:
    """[ks[i]] * points[i] in G2 (the curve equation is checked, not the subgroup)."""
    from relayer.errors import FormatError
    from relayer.zk.field import array_to_g2, g2_to_array

    if len(points) != len(ks):
        raise FormatError(f"{len(ks)} scalars for {len(points)} G2 points")
    sk = _compiled_scaling() if points else None
    if sk is None:
        return _scale_each_g2_plain(points, ks)
    return array_to_g2(sk.scale_each_g2_array(g2_to_array(points), [k % R for k in ks]))


def _scale_each_g1_plain(points: Sequence[G1Point], ks: Sequence[int]) -> list[G1Point]:
    """Plain-int scale_each_g1 (the fallback, and the reference the compiled kernel is tested against)."""
    return G1.batch_to_affine([G1.mul(G1.from_affine(p), k % R) for p, k in zip(points, ks, strict=True)])


def _scale_each_g2_plain(points: Sequence[G2Point], ks: Sequence[int]) -> list[G2Point]:
    return G2.batch_to_affine([G2.mul(G2.from_affine(p), k % R) for p, k in zip(points, ks, strict=True)])


def is_on_curve_g1(p: G1Point) -> bool:
    """Coordinates in [0, q) and y² = x³ + 3 (infinity counts as on the curve). G1 has cofactor 1,
    so this is also membership in the order-r group."""
    if p is None:
        return True
    return 0 <= p[0] < Q and 0 <= p[1] < Q and G1.is_on_curve(p)


def is_on_curve_g2(p: G2Point) -> bool:
    """Coordinates in [0, q) and y² = x³ + 3/(9+u) over Fq2; no subgroup check (see g2_valid)."""
    if p is None:
        return True
    if not all(0 <= c < Q for c in (*p[0], *p[1])):
        return False
    return G2.is_on_curve(p)


g1_valid = is_on_curve_g1  # G1: on the curve is all a valid point needs (cofactor 1)


def g2_valid(p: G2Point) -> bool:
    """Coordinates in range, on the twist, and in the order-r subgroup."""
    return is_on_curve_g2(p) and g2_in_subgroup(p)  # endomorphism test, ≈100× faster than r·P


# --- one scalar times many G1 points (phase-2 contributions) -------------------------------------


def _g1_scale_chunk(args: tuple[list[G1Point], int]) -> list[G1Point]:
    """k·P for each affine P: NAF double-and-add with mixed (Jacobian + affine) additions, formulas
    dbl-2009-l and madd-2007-bl inlined on ints (≈3× the generic path; this loop is the phase-2 cost)."""
    points, k = args
    naf = _naf(k % R)
    q = Q
    out: list[Jac] = []
    for p in points:
        if p is None:
            out.append(G1.inf)
            continue
        px, py = p
        X, Y, Z = 1, 1, 0
        for d in naf:
            if Z:  # double (dbl-2009-l); Z3 uses the old Y
                A = X * X % q
                B = Y * Y % q
                C = B * B % q
                t = X + B
                D = 2 * (t * t - A - C) % q
                E = 3 * A % q
                X3 = (E * E - 2 * D) % q
                Z = 2 * Y * Z % q
                Y = (E * (D - X3) - 8 * C) % q
                X = X3
            if d:
                qy = py if d == 1 else q - py
                if not Z:
                    X, Y, Z = px, qy, 1
                    continue
                # mixed add (madd-2007-bl)
                Z1Z1 = Z * Z % q
                U2 = px * Z1Z1 % q
                S2 = qy * Z % q * Z1Z1 % q
                H = (U2 - X) % q
                rr = 2 * (S2 - Y) % q
                if H == 0:
                    if rr == 0:  # P == current point: double the affine point instead
                        X, Y, Z = G1.double((px, qy, 1))
                    else:
                        X, Y, Z = 1, 1, 0
                    continue
                HH = H * H % q
                I = 4 * HH % q
                J = H * I % q
                V = X * I % q
                X3 = (rr * rr - J - 2 * V) % q
                Y = (rr * (V - X3) - 2 * Y * J) % q
                t = Z + H
                Z = (t * t - Z1Z1 - HH) % q
                X = X3
        out.append((X, Y, Z))
    return G1.batch_to_affine(out)


def scale_all_g1_fast(points: Sequence[G1Point], k: int, workers: int | None = None) -> list[G1Point]:
    """[k]·p for every p, split over processes for large inputs (phase-2 δ updates of big keys)."""
    import os
    from concurrent.futures import ProcessPoolExecutor

    pts = list(points)
    workers = workers or os.cpu_count() or 1
    if len(pts) < 4096 or workers == 1:
        return _g1_scale_chunk((pts, k))
    size = -(-len(pts) // (workers * 4))
    chunks = [(pts[i : i + size], k) for i in range(0, len(pts), size)]
    with ProcessPoolExecutor(max_workers=workers) as ex:
        parts = list(ex.map(_g1_scale_chunk, chunks))
    return [p for part in parts for p in part]


# --- py_ecc conversions (the `reference` backend and tests; py_ecc is imported only when used) ----
def to_py_ecc_g1(p: G1Point) -> Any:
    from py_ecc import optimized_bn128 as b

    return b.Z1 if p is None else (b.FQ(p[0]), b.FQ(p[1]), b.FQ.one())


def to_py_ecc_g2(p: G2Point) -> Any:
    from py_ecc import optimized_bn128 as b

    if p is None:
        return b.Z2
    (x0, x1), (y0, y1) = p
    return (b.FQ2([x0, x1]), b.FQ2([y0, y1]), b.FQ2.one())


def from_py_ecc_g1(p: Any) -> G1Point:
    from py_ecc import optimized_bn128 as b

    if b.is_inf(p):
        return None
    x, y = b.normalize(p)
    return (int(x), int(y))


def from_py_ecc_g2(p: Any) -> G2Point:
    from py_ecc import optimized_bn128 as b

    if b.is_inf(p):
        return None
    x, y = b.normalize(p)
    return ((int(x.coeffs[0]), int(x.coeffs[1])), (int(y.coeffs[0]), int(y.coeffs[1])))
