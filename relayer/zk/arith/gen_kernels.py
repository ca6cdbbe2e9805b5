"""Generator of `relayer/zk/arith/kernels.py`: unrolled BN254 limb arithmetic and kernels for numba.

numba cannot index tuples in registers or specialise on a field type without cost, so the field
code is unrolled here and the curve/MSM code is written once and instantiated for G1 (over Fq)
and G2 (over Fq2) by name substitution. Run `python -m relayer.zk.arith.gen_kernels` after
editing; a test fails when kernels.py is stale.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from relayer.zk.field import Q, R

OUT = Path(__file__).with_name("kernels.py")
N = 4  # 64-bit limbs


def _limbs(v: int) -> list[int]:
    return [(v >> (64 * i)) & ((1 << 64) - 1) for i in range(N)]


def _const_tuple(name: str, v: int) -> str:
    return f"{name} = ({', '.join(f'np.uint64({x:#x})' for x in _limbs(v))})\n"


def _mont_tuple(v: int) -> str:
    return "(" + ", ".join(f"np.uint64({x:#x})" for x in _limbs(v * (1 << 256) % Q)) + ")"


def _field(p: str, mod: int) -> str:
    """Montgomery arithmetic mod `mod` (R = 2^256) with prefix `p` (fq/fr)."""
    P = p.upper()
    inv = (-pow(mod, -1, 1 << 64)) % (1 << 64)
    r1 = (1 << 256) % mod
    r2 = (1 << 512) % mod
    out = [f"# ---- {p}: Montgomery arithmetic mod {mod} (R = 2^256) ----\n"]
    for i, x in enumerate(_limbs(mod)):
        out.append(f"{P}_P{i} = np.uint64({x:#x})\n")
    out.append(f"{P}_INV = np.uint64({inv:#x})  # -p^-1 mod 2^64\n")
    out.append(_const_tuple(f"{P}_ONE", r1))
    out.append(_const_tuple(f"{P}_R2", r2))
    out.append(_const_tuple(f"{P}_PM2", mod - 2))  # exponent for Fermat inversion
    out.append(_const_tuple(f"{P}_MOD", mod))
    out.append(f"{P}_ZERO = (Z, Z, Z, Z)\n\n")

    # CIOS Montgomery multiplication (Koc, Acar, Kaliski 1996), fully unrolled, in the "no-carry"
    # form valid when the top limb of p is < 2^63 - 1 (both BN254 moduli): the running sum then
    # never needs a fifth limb (gnark-crypto, "Faster Montgomery multiplication", 2020).
    assert mod >> 192 < (1 << 63) - 1
    a = ", ".join(f"a{i}" for i in range(N))
    b = ", ".join(f"b{i}" for i in range(N))
    lines = [f"@njit(cache=True)\ndef {p}_mul(a, b):\n", f"    {a} = a\n", f"    {b} = b\n"]
    for i in range(N):
        t0_in = "Z" if i == 0 else "t0"
        lines.append(f"    t0, A = mac({t0_in}, a0, b{i}, Z)\n")
        lines.append(f"    m = t0 * {P}_INV\n")
        lines.append(f"    _, C = mac(t0, m, {P}_P0, Z)\n")
        for j in range(1, N):
            tj_in = "Z" if i == 0 else f"t{j}"
            lines.append(f"    t{j}, A = mac({tj_in}, a{j}, b{i}, A)\n")
            lines.append(f"    t{j - 1}, C = mac(t{j}, m, {P}_P{j}, C)\n")
        lines.append(f"    t{N - 1} = C + A\n")
    lines.append(_final_sub(p, "t", "False"))
    out.append("".join(lines) + "\n\n")

    out.append(
        f"@njit(cache=True, inline=\"always\")\ndef {p}_sqr(a):\n    return {p}_mul(a, a)\n\n\n"
        f"@njit(cache=True, inline=\"always\")\ndef {p}_add(a, b):\n"
        f"    {a} = a\n    {b} = b\n"
        + "".join(
            f"    t{i}, c = adc(a{i}, b{i}, {'Z' if i == 0 else 'c'})\n" for i in range(N)
        )
        + _final_sub(p, "t", "c != Z")
        + "\n\n"
        f"@njit(cache=True, inline=\"always\")\ndef {p}_sub(a, b):\n"
        f"    {a} = a\n    {b} = b\n"
        + "".join(
            f"    t{i}, br = sbb(a{i}, b{i}, {'Z' if i == 0 else 'br'})\n" for i in range(N)
        )
        + "    if br != Z:\n"
        + "".join(
            f"        t{i}, c = adc(t{i}, {P}_P{i}, {'Z' if i == 0 else 'c'})\n" for i in range(N)
        )
        + f"    return ({', '.join(f't{i}' for i in range(N))})\n\n\n"
        f"@njit(cache=True, inline=\"always\")\ndef {p}_dbl(a):\n    return {p}_add(a, a)\n\n\n"
        f"@njit(cache=True, inline=\"always\")\ndef {p}_neg(a):\n"
        f"    if {p}_is_zero(a):\n        return a\n"
        f"    return {p}_sub({P}_ZERO, a)\n\n\n"
        f"@njit(cache=True, inline=\"always\")\ndef {p}_is_zero(a):\n"
        f"    return {' and '.join(f'a[{i}] == Z' for i in range(N))}\n\n\n"
        f"@njit(cache=True, inline=\"always\")\ndef {p}_eq(a, b):\n"
        f"    return {' and '.join(f'a[{i}] == b[{i}]' for i in range(N))}\n\n\n"
        f"@njit(cache=True)\ndef {p}_to_mont(a):\n    return {p}_mul(a, {P}_R2)\n\n\n"
        f"@njit(cache=True)\ndef {p}_from_mont(a):\n    return {p}_mul(a, (ONE64, Z, Z, Z))\n\n\n"
        f"@njit(cache=True)\ndef {p}_pow(a, e):\n"
        f"    # left-to-right square and multiply over a 4-limb exponent\n"
        f"    acc = {P}_ONE\n"
        f"    for li in range({N - 1}, -1, -1):\n"
        f"        limb = e[li]\n"
        f"        for bi in range(63, -1, -1):\n"
        f"            acc = {p}_sqr(acc)\n"
        f"            if (limb >> np.uint64(bi)) & ONE64:\n"
        f"                acc = {p}_mul(acc, a)\n"
        f"    return acc\n\n\n"
        f"@njit(cache=True)\ndef {p}_inv(a):\n"
        f"    # Fermat: a^(p-2); zero maps to zero\n"
        f"    return {p}_pow(a, {P}_PM2)\n\n\n"
        f"@njit(cache=True, inline=\"always\")\ndef {p}_inv_key(a):\n"
        f"    # batch-inversion key (see fq2_inv_key): the element itself\n    return a\n\n\n"
        f"@njit(cache=True, inline=\"always\")\ndef {p}_inv_from_key(a, kinv):\n    return kinv\n\n\n"
        f"@njit(cache=True, inline=\"always\")\ndef {p}_ld(arr, i):\n"
        f"    return ({', '.join(f'arr[i, {k}]' for k in range(N))})\n\n\n"
        f"@njit(cache=True, inline=\"always\")\ndef {p}_st(arr, i, v):\n"
        + "".join(f"    arr[i, {k}] = v[{k}]\n" for k in range(N))
        + "\n\n"
        f"@njit(cache=True)\ndef {p}_reduce(a):\n"
        f"    # any 256-bit value -> canonical (2^256 / p < 6, so at most 5 subtractions)\n"
        f"    t0, t1, t2, t3 = a\n"
        f"    while True:\n"
        + "".join(
            f"        d{i}, br = sbb(t{i}, {P}_P{i}, {'Z' if i == 0 else 'br'})\n" for i in range(N)
        )
        + "        if br != Z:\n"
        + "            return (t0, t1, t2, t3)\n"
        + "        t0, t1, t2, t3 = d0, d1, d2, d3\n\n\n"
    )
    return "".join(out)


def _final_sub(p: str, t: str, force: str) -> str:
    """Conditional subtraction of the modulus: result in [0, p) when input < 2p."""
    P = p.upper()
    s = "".join(
        f"    d{i}, br = sbb({t}{i}, {P}_P{i}, {'Z' if i == 0 else 'br'})\n" for i in range(N)
    )
    s += f"    if {force} or br == Z:\n"
    s += f"        return ({', '.join(f'd{i}' for i in range(N))})\n"
    s += f"    return ({', '.join(f'{t}{i}' for i in range(N))})\n"
    return s


HEADER = '''"""GENERATED by relayer/zk/arith/gen_kernels.py -- do not edit; edit the generator and rerun it.

BN254 field (Fq, Fr, Fq2), curve (G1, G2 Jacobian) and kernel code (Pippenger MSM, fixed-base
multiplication, batch normalisation, NTT, batch inversion) over 4 x 64-bit Montgomery limbs.
"""

# ruff: noqa
# mypy: ignore-errors
import numpy as np
from numba import njit, prange

from relayer.zk.arith.intrinsics import adc, mac, sbb

Z = np.uint64(0)
ONE64 = np.uint64(1)

'''

# Fq2 = Fq[u]/(u^2 + 1); elements are (c0, c1) pairs of Fq tuples.
FQ2 = '''
# ---- fq2 = fq[u]/(u^2 + 1) ----
FQ2_ZERO = (FQ_ZERO, FQ_ZERO)
FQ2_ONE = (FQ_ONE, FQ_ZERO)


@njit(cache=True)
def fq2_add(a, b):
    return (fq_add(a[0], b[0]), fq_add(a[1], b[1]))


@njit(cache=True)
def fq2_sub(a, b):
    return (fq_sub(a[0], b[0]), fq_sub(a[1], b[1]))


@njit(cache=True)
def fq2_dbl(a):
    return (fq_dbl(a[0]), fq_dbl(a[1]))


@njit(cache=True)
def fq2_neg(a):
    return (fq_neg(a[0]), fq_neg(a[1]))


@njit(cache=True)
def fq2_mul(a, b):
    # Karatsuba: (a0 + a1 u)(b0 + b1 u) = a0 b0 - a1 b1 + ((a0 + a1)(b0 + b1) - a0 b0 - a1 b1) u
    v0 = fq_mul(a[0], b[0])
    v1 = fq_mul(a[1], b[1])
    s = fq_mul(fq_add(a[0], a[1]), fq_add(b[0], b[1]))
    return (fq_sub(v0, v1), fq_sub(fq_sub(s, v0), v1))


@njit(cache=True)
def fq2_sqr(a):
    # (a0 + a1 u)^2 = (a0 + a1)(a0 - a1) + 2 a0 a1 u
    t = fq_mul(a[0], a[1])
    return (fq_mul(fq_add(a[0], a[1]), fq_sub(a[0], a[1])), fq_dbl(t))


@njit(cache=True)
def fq2_is_zero(a):
    return fq_is_zero(a[0]) and fq_is_zero(a[1])


@njit(cache=True)
def fq2_eq(a, b):
    return fq_eq(a[0], b[0]) and fq_eq(a[1], b[1])


@njit(cache=True)
def fq2_inv(a):
    # 1/(a0 + a1 u) = (a0 - a1 u)/(a0^2 + a1^2); zero maps to zero
    t = fq_inv(fq_add(fq_sqr(a[0]), fq_sqr(a[1])))
    return (fq_mul(a[0], t), fq_neg(fq_mul(a[1], t)))


@njit(cache=True, inline="always")
def fq2_inv_key(a):
    # batch inversion in Fq2 through the norm: 1/a = conj(a) / (a0^2 + a1^2), the norm in Fq
    return fq_add(fq_sqr(a[0]), fq_sqr(a[1]))


@njit(cache=True, inline="always")
def fq2_inv_from_key(a, ninv):
    return (fq_mul(a[0], ninv), fq_neg(fq_mul(a[1], ninv)))


@njit(cache=True)
def fq2_to_mont(a):
    return (fq_to_mont(a[0]), fq_to_mont(a[1]))


@njit(cache=True)
def fq2_from_mont(a):
    return (fq_from_mont(a[0]), fq_from_mont(a[1]))

'''

# Per-group element access. G1 arrays: affine (n, 2, 4), Jacobian (n, 3, 4);
# G2 arrays: affine (n, 2, 2, 4), Jacobian (n, 3, 2, 4).
ACCESS = {
    "g1": '''
@njit(cache=True)
def g1_ld(arr, i, k):
    return (arr[i, k, 0], arr[i, k, 1], arr[i, k, 2], arr[i, k, 3])


@njit(cache=True)
def g1_st(arr, i, k, v):
    arr[i, k, 0] = v[0]
    arr[i, k, 1] = v[1]
    arr[i, k, 2] = v[2]
    arr[i, k, 3] = v[3]


@njit(cache=True)
def g1_ld2(arr, i, j, k):
    return (arr[i, j, k, 0], arr[i, j, k, 1], arr[i, j, k, 2], arr[i, j, k, 3])


@njit(cache=True)
def g1_st2(arr, i, j, k, v):
    arr[i, j, k, 0] = v[0]
    arr[i, j, k, 1] = v[1]
    arr[i, j, k, 2] = v[2]
    arr[i, j, k, 3] = v[3]


@njit(cache=True)
def g1_jac_zeros(n):
    return np.zeros((n, 3, 4), dtype=np.uint64)


@njit(cache=True)
def g1_aff_zeros(n):
    return np.zeros((n, 2, 4), dtype=np.uint64)


@njit(cache=True)
def g1_tab_zeros(a, b):
    return np.zeros((a, b, 2, 4), dtype=np.uint64)


# y^2 = x^3 + 3 in Montgomery form
G1_B = @G1B@
''',
    "g2": '''
@njit(cache=True)
def g2_ld(arr, i, k):
    return (
        (arr[i, k, 0, 0], arr[i, k, 0, 1], arr[i, k, 0, 2], arr[i, k, 0, 3]),
        (arr[i, k, 1, 0], arr[i, k, 1, 1], arr[i, k, 1, 2], arr[i, k, 1, 3]),
    )


@njit(cache=True)
def g2_st(arr, i, k, v):
    g1_st2(arr, i, k, 0, v[0])
    g1_st2(arr, i, k, 1, v[1])


@njit(cache=True)
def g2_ld2(arr, i, j, k):
    return (
        (arr[i, j, k, 0, 0], arr[i, j, k, 0, 1], arr[i, j, k, 0, 2], arr[i, j, k, 0, 3]),
        (arr[i, j, k, 1, 0], arr[i, j, k, 1, 1], arr[i, j, k, 1, 2], arr[i, j, k, 1, 3]),
    )


@njit(cache=True)
def g2_st2(arr, i, j, k, v):
    a, b = v
    arr[i, j, k, 0, 0] = a[0]
    arr[i, j, k, 0, 1] = a[1]
    arr[i, j, k, 0, 2] = a[2]
    arr[i, j, k, 0, 3] = a[3]
    arr[i, j, k, 1, 0] = b[0]
    arr[i, j, k, 1, 1] = b[1]
    arr[i, j, k, 1, 2] = b[2]
    arr[i, j, k, 1, 3] = b[3]


@njit(cache=True)
def g2_jac_zeros(n):
    return np.zeros((n, 3, 2, 4), dtype=np.uint64)


@njit(cache=True)
def g2_aff_zeros(n):
    return np.zeros((n, 2, 2, 4), dtype=np.uint64)


@njit(cache=True)
def g2_tab_zeros(a, b):
    return np.zeros((a, b, 2, 2, 4), dtype=np.uint64)


# twist: y^2 = x^3 + 3/(9 + u) (EIP-197; py_ecc bn128 b2), Montgomery form
G2_B = @G2B@
''',
}

# Curve and kernel code, written once over F_* (field) and G_* (group) names.
CURVE = '''
# ---- G_: points over F_ (Jacobian X/Z^2, Y/Z^3; infinity has Z = 0) ----
G_INF = (F_ONE, F_ONE, F_ZERO)


@njit(cache=True)
def G_dbl(P):
    # dbl-2009-l (a = 0), Explicit-Formulas Database
    X, Y, Zc = P
    if F_is_zero(Zc):
        return P
    A = F_sqr(X)
    B = F_sqr(Y)
    C = F_sqr(B)
    D = F_dbl(F_sub(F_sub(F_sqr(F_add(X, B)), A), C))
    E = F_add(F_dbl(A), A)
    X3 = F_sub(F_sqr(E), F_dbl(D))
    Y3 = F_sub(F_mul(E, F_sub(D, X3)), F_dbl(F_dbl(F_dbl(C))))
    Z3 = F_dbl(F_mul(Y, Zc))
    return (X3, Y3, Z3)


@njit(cache=True)
def G_madd(P, x2, y2):
    # P + (x2, y2) with the affine point not infinity: madd-2007-bl, EFD
    X1, Y1, Z1 = P
    if F_is_zero(Z1):
        return (x2, y2, F_ONE)
    Z1Z1 = F_sqr(Z1)
    U2 = F_mul(x2, Z1Z1)
    S2 = F_mul(y2, F_mul(Z1, Z1Z1))
    H = F_sub(U2, X1)
    rr = F_sub(S2, Y1)
    if F_is_zero(H):
        if F_is_zero(rr):
            return G_dbl(P)
        return G_INF  # P + (-P)
    rr = F_dbl(rr)
    HH = F_sqr(H)
    I = F_dbl(F_dbl(HH))
    J = F_mul(H, I)
    V = F_mul(X1, I)
    X3 = F_sub(F_sub(F_sqr(rr), J), F_dbl(V))
    Y3 = F_sub(F_mul(rr, F_sub(V, X3)), F_dbl(F_mul(Y1, J)))
    Z3 = F_sub(F_sub(F_sqr(F_add(Z1, H)), Z1Z1), HH)
    return (X3, Y3, Z3)


@njit(cache=True)
def G_add(P, Q):
    # add-2007-bl, EFD
    X1, Y1, Z1 = P
    X2, Y2, Z2 = Q
    if F_is_zero(Z1):
        return Q
    if F_is_zero(Z2):
        return P
    Z1Z1 = F_sqr(Z1)
    Z2Z2 = F_sqr(Z2)
    U1 = F_mul(X1, Z2Z2)
    U2 = F_mul(X2, Z1Z1)
    S1 = F_mul(Y1, F_mul(Z2, Z2Z2))
    S2 = F_mul(Y2, F_mul(Z1, Z1Z1))
    H = F_sub(U2, U1)
    rr = F_sub(S2, S1)
    if F_is_zero(H):
        if F_is_zero(rr):
            return G_dbl(P)
        return G_INF
    I = F_sqr(F_dbl(H))
    J = F_mul(H, I)
    rr = F_dbl(rr)
    V = F_mul(U1, I)
    X3 = F_sub(F_sub(F_sqr(rr), J), F_dbl(V))
    Y3 = F_sub(F_mul(rr, F_sub(V, X3)), F_dbl(F_mul(S1, J)))
    Z3 = F_mul(F_sub(F_sub(F_sqr(F_add(Z1, Z2)), Z1Z1), Z2Z2), H)
    return (X3, Y3, Z3)


@njit(cache=True)
def G_neg(P):
    return (P[0], F_neg(P[1]), P[2])


@njit(cache=True)
def G_ld_jac(arr, i):
    return (G_ld(arr, i, 0), G_ld(arr, i, 1), G_ld(arr, i, 2))


@njit(cache=True)
def G_st_jac(arr, i, P):
    G_st(arr, i, 0, P[0])
    G_st(arr, i, 1, P[1])
    G_st(arr, i, 2, P[2])


@njit(cache=True)
def G_on_curve_aff(x, y):
    return F_eq(F_sqr(y), F_add(F_mul(F_sqr(x), x), G_B))


@njit(cache=True, parallel=True)
def G_prepare(canon):
    """Canonical affine -> Montgomery affine; returns (array, status) with status[i] =
    0 ok, 1 infinity, 2 coordinate >= q, 3 not on the curve."""
    n = canon.shape[0]
    out = G_aff_zeros(n)
    status = np.zeros(n, dtype=np.int8)
    for i in prange(n):
        x = G_canon_ld(canon, i, 0)
        y = G_canon_ld(canon, i, 1)
        if F_is_zero(x) and F_is_zero(y):
            status[i] = 1
            continue
        if not (F_canonical(x) and F_canonical(y)):
            status[i] = 2
            continue
        xm = F_to_mont(x)
        ym = F_to_mont(y)
        if not G_on_curve_aff(xm, ym):
            status[i] = 3
            continue
        G_st(out, i, 0, xm)
        G_st(out, i, 1, ym)
    return out, status


@njit(cache=True)
def G_bucket_tree(pts, inf, start, cnt):
    """Sum the affine points of every bucket (pts[start[b] : start[b] + cnt[b]]) in place by
    rounds of pairwise affine additions whose denominators share one inversion per round
    (batch-affine accumulation); afterwards bucket b is pts[start[b]] unless cnt[b] == 0 or
    inf[start[b]]. Affine P + Q costs 1 inversion share (3M) + 3M, against 11M for a mixed
    Jacobian addition."""
    nb = start.shape[0]
    cap = pts.shape[0] // 2 + 1
    tmp = G_aff_zeros(cap)  # [t, 0]: denominator d_t
    # inversion keys live in Fq (d itself in G1, the norm of d in G2): keys[t], and kp[t] the
    # prefix product before key t, then 1/key_t (Montgomery's trick over Fq)
    keys = np.zeros((cap, 4), dtype=np.uint64)
    kp = np.zeros((cap, 4), dtype=np.uint64)
    while True:
        npairs = 0
        acc = FQ_ONE
        for b in range(nb):
            c = cnt[b]
            if c < 2:
                continue
            s = start[b]
            for t in range(c >> 1):
                i1 = s + 2 * t
                i2 = i1 + 1
                d = F_ONE
                if not (inf[i1] or inf[i2]):
                    x1 = G_ld(pts, i1, 0)
                    x2 = G_ld(pts, i2, 0)
                    if F_eq(x1, x2):
                        y1 = G_ld(pts, i1, 1)
                        if F_eq(y1, G_ld(pts, i2, 1)):
                            d = F_dbl(y1)  # doubling: lambda = 3 x^2 / 2y (y != 0 in prime order)
                    else:
                        d = F_sub(x2, x1)
                G_st(tmp, npairs, 0, d)
                key = F_inv_key(d)
                fq_st(keys, npairs, key)
                fq_st(kp, npairs, acc)
                acc = fq_mul(acc, key)
                npairs += 1
        if npairs == 0:
            return
        inv = fq_inv(acc)
        for t in range(npairs - 1, -1, -1):
            fq_st(kp, t, fq_mul(inv, fq_ld(kp, t)))
            inv = fq_mul(inv, fq_ld(keys, t))
        # same traversal: results are compacted to the front of each bucket (o = s + t <= i1)
        k = 0
        for b in range(nb):
            c = cnt[b]
            if c < 2:
                continue
            s = start[b]
            half = c >> 1
            for t in range(half):
                i1 = s + 2 * t
                i2 = i1 + 1
                o = s + t
                dinv = F_inv_from_key(G_ld(tmp, k, 0), fq_ld(kp, k))
                k += 1
                if inf[i1] or inf[i2]:
                    src = i2 if inf[i1] else i1
                    G_st(pts, o, 0, G_ld(pts, src, 0))
                    G_st(pts, o, 1, G_ld(pts, src, 1))
                    inf[o] = inf[src]
                    continue
                x1 = G_ld(pts, i1, 0)
                y1 = G_ld(pts, i1, 1)
                x2 = G_ld(pts, i2, 0)
                y2 = G_ld(pts, i2, 1)
                if F_eq(x1, x2):
                    if not F_eq(y1, y2):
                        inf[o] = 1  # P + (-P)
                        continue
                    x1s = F_sqr(x1)
                    lam = F_mul(F_add(F_dbl(x1s), x1s), dinv)
                else:
                    lam = F_mul(F_sub(y2, y1), dinv)
                x3 = F_sub(F_sub(F_sqr(lam), x1), x2)
                y3 = F_sub(F_mul(lam, F_sub(x1, x3)), y1)
                G_st(pts, o, 0, x3)
                G_st(pts, o, 1, y3)
                inf[o] = 0
            if c & 1:
                G_st(pts, s + half, 0, G_ld(pts, s + c - 1, 0))
                G_st(pts, s + half, 1, G_ld(pts, s + c - 1, 1))
                inf[s + half] = inf[s + c - 1]
            cnt[b] = half + (c & 1)


@njit(cache=True)
def G_bucket_window(bases, idx, digits, w, c, m, out):
    # one Pippenger window: signed digits in [-2^(c-1), 2^(c-1)], bucket b holds digit b+1;
    # points are sorted into buckets (counting sort), summed batch-affine, then reduced
    nb = 1 << (c - 1)
    cnt = np.zeros(nb, dtype=np.int64)
    for k in range(m):
        d = digits[w, k]
        if d != 0:
            cnt[abs(d) - 1] += 1
    start = np.zeros(nb, dtype=np.int64)
    total = 0
    for b in range(nb):
        start[b] = total
        total += cnt[b]
    pts = G_aff_zeros(total)
    inf = np.zeros(total, dtype=np.uint8)
    pos = start.copy()
    for k in range(m):
        d = digits[w, k]
        if d == 0:
            continue
        i = idx[k]
        y = G_ld(bases, i, 1)
        if d < 0:
            y = F_neg(y)
            d = -d
        j = pos[d - 1]
        pos[d - 1] = j + 1
        G_st(pts, j, 0, G_ld(bases, i, 0))
        G_st(pts, j, 1, y)
    G_bucket_tree(pts, inf, start, cnt)
    # running-sum reduction: sum_b (b+1) * bucket[b]
    run = G_INF
    acc = G_INF
    for b in range(nb - 1, -1, -1):
        if cnt[b] > 0 and not inf[start[b]]:
            run = G_madd(run, G_ld(pts, start[b], 0), G_ld(pts, start[b], 1))
        acc = G_add(acc, run)
    G_st_jac(out, w, acc)


@njit(cache=True, parallel=True)
def G_msm_windows(bases, idx, digits, c, out):
    nwin = digits.shape[0]
    m = idx.shape[0]
    for w in prange(nwin):
        G_bucket_window(bases, idx, digits, w, c, m, out)


@njit(cache=True, parallel=True)
def G_sum_points(bases, idx, nchunks, out):
    # sum of bases[idx[k]] (the scalars equal to one): one batch-affine bucket per chunk
    m = idx.shape[0]
    for ch in prange(nchunks):
        lo = m * ch // nchunks
        hi = m * (ch + 1) // nchunks
        pts = G_aff_zeros(hi - lo)
        inf = np.zeros(hi - lo, dtype=np.uint8)
        for k in range(lo, hi):
            G_st(pts, k - lo, 0, G_ld(bases, idx[k], 0))
            G_st(pts, k - lo, 1, G_ld(bases, idx[k], 1))
        start = np.zeros(1, dtype=np.int64)
        cnt = np.full(1, hi - lo, dtype=np.int64)
        G_bucket_tree(pts, inf, start, cnt)
        if cnt[0] > 0 and not inf[0]:
            G_st_jac(out, ch, (G_ld(pts, 0, 0), G_ld(pts, 0, 1), F_ONE))


@njit(cache=True)
def G_combine(win, c, extra):
    # Horner over windows (top first), then add the partial sums in `extra`
    nwin = win.shape[0]
    acc = G_INF
    for w in range(nwin - 1, -1, -1):
        for _ in range(c):
            acc = G_dbl(acc)
        acc = G_add(acc, G_ld_jac(win, w))
    for k in range(extra.shape[0]):
        acc = G_add(acc, G_ld_jac(extra, k))
    return acc


@njit(cache=True, parallel=True)
def G_fb_table(pt, wbits, nwin):
    # table[k * 2^wbits + d] = d * 2^(wbits k) * P for 0 < d < 2^wbits (d = 0 left as zeros),
    # Jacobian; pt is the prepared (Montgomery affine) point array of length 1. Rows in parallel.
    size = 1 << wbits
    tab = G_jac_zeros(nwin * size)
    rows = G_jac_zeros(nwin)
    base = (G_ld(pt, 0, 0), G_ld(pt, 0, 1), F_ONE)
    for k in range(nwin):
        G_st_jac(rows, k, base)
        for _ in range(wbits):
            base = G_dbl(base)
    for k in prange(nwin):
        step = G_ld_jac(rows, k)
        acc = G_INF
        for d in range(1, size):
            acc = G_add(acc, step)
            G_st_jac(tab, k * size + d, acc)
    return tab


@njit(cache=True, parallel=True)
def G_fb_mul(tab, scalars, wbits, nwin, chunk, out):
    """out[i] = scalars[i] * P as canonical affine, from the fixed-base table (affine Montgomery,
    flat). Each scalar is a bucket of its non-zero table entries, summed batch-affine per chunk."""
    n = scalars.shape[0]
    size = 1 << wbits
    mask = np.uint64(size - 1)
    nch = (n + chunk - 1) // chunk
    for ch in prange(nch):
        lo = ch * chunk
        hi = min(n, lo + chunk)
        pts = G_aff_zeros((hi - lo) * nwin)
        inf = np.zeros((hi - lo) * nwin, dtype=np.uint8)
        start = np.zeros(hi - lo, dtype=np.int64)
        cnt = np.zeros(hi - lo, dtype=np.int64)
        p = 0
        for i in range(lo, hi):
            s = fr_reduce(fr_ld(scalars, i))
            start[i - lo] = p
            for k in range(nwin):
                off = k * wbits
                li = off >> 6
                sh = off & 63
                v = s[li] >> np.uint64(sh)
                if sh + wbits > 64 and li < 3:
                    v |= s[li + 1] << np.uint64(64 - sh)
                d = np.int64(v & mask)
                if d != 0:
                    j = k * size + d
                    G_st(pts, p, 0, G_ld(tab, j, 0))
                    G_st(pts, p, 1, G_ld(tab, j, 1))
                    p += 1
            cnt[i - lo] = p - start[i - lo]
        G_bucket_tree(pts, inf, start, cnt)
        for i in range(lo, hi):
            b = i - lo
            if cnt[b] > 0 and not inf[start[b]]:
                G_st(out, i, 0, F_from_mont(G_ld(pts, start[b], 0)))
                G_st(out, i, 1, F_from_mont(G_ld(pts, start[b], 1)))


@njit(cache=True, parallel=True)
def G_normalize(jac, nchunks, canonical):
    """Jacobian (Montgomery) -> affine with one inversion per chunk (Montgomery's trick).
    canonical: leave Montgomery form (False) or convert out of it (True). Infinity -> zeros."""
    n = jac.shape[0]
    out = G_aff_zeros(n)
    for ch in prange(nchunks):
        lo = n * ch // nchunks
        hi = n * (ch + 1) // nchunks
        if hi <= lo:
            continue
        pre = G_aff_zeros(hi - lo)  # prefix products of the non-zero Z, slot [k, 0]
        acc = F_ONE
        for i in range(lo, hi):
            zc = G_ld(jac, i, 2)
            if not F_is_zero(zc):
                acc = F_mul(acc, zc)
            G_st(pre, i - lo, 0, acc)
        inv = F_inv(acc)
        for i in range(hi - 1, lo - 1, -1):
            zc = G_ld(jac, i, 2)
            if F_is_zero(zc):
                continue
            if i > lo:
                zi = F_mul(inv, G_ld(pre, i - lo - 1, 0))
            else:
                zi = inv
            inv = F_mul(inv, zc)
            zi2 = F_sqr(zi)
            xa = F_mul(G_ld(jac, i, 0), zi2)
            ya = F_mul(G_ld(jac, i, 1), F_mul(zi2, zi))
            if canonical:
                xa = F_from_mont(xa)
                ya = F_from_mont(ya)
            G_st(out, i, 0, xa)
            G_st(out, i, 1, ya)
    return out
'''

GROUP_CANON = {
    "g1": '''
@njit(cache=True)
def g1_canon_ld(arr, i, k):
    return (arr[i, k, 0], arr[i, k, 1], arr[i, k, 2], arr[i, k, 3])


@njit(cache=True)
def fq_canonical(a):
    _, br = sbb(a[0], FQ_P0, Z)
    _, br = sbb(a[1], FQ_P1, br)
    _, br = sbb(a[2], FQ_P2, br)
    _, br = sbb(a[3], FQ_P3, br)
    return br != Z
''',
    "g2": '''
@njit(cache=True)
def g2_canon_ld(arr, i, k):
    return g1_ld2(arr, i, k, 0), g1_ld2(arr, i, k, 1)


@njit(cache=True)
def fq2_canonical(a):
    return fq_canonical(a[0]) and fq_canonical(a[1])
''',
}

SCALARS = '''
# ---- scalars: reduction mod r and signed Pippenger digits ----
@njit(cache=True, parallel=True)
def classify_scalars(scalars, inf, n):
    """kind[i] = 0 (scalar = 0 mod r or base at infinity), 1 (scalar = 1), 2 (other)."""
    kind = np.zeros(n, dtype=np.int8)
    for i in prange(n):
        if inf[i]:
            continue
        s = fr_reduce(fr_ld(scalars, i))
        if fr_is_zero(s):
            continue
        if s[0] == ONE64 and s[1] == Z and s[2] == Z and s[3] == Z:
            kind[i] = 1
        else:
            kind[i] = 2
    return kind


@njit(cache=True, parallel=True)
def signed_digits(scalars, idx, c, nwin):
    """digits[w, k] of scalar idx[k]: s = sum_w d_w 2^(c w), d_w in [-2^(c-1), 2^(c-1)]."""
    m = idx.shape[0]
    digits = np.zeros((nwin, m), dtype=np.int32)
    mask = np.uint64((1 << c) - 1)
    half = 1 << (c - 1)
    full = 1 << c
    for k in prange(m):
        s = fr_reduce(fr_ld(scalars, idx[k]))
        carry = 0
        for w in range(nwin):
            off = w * c
            li = off >> 6
            sh = off & 63
            v = np.int64(0)
            if li < 4:
                u = s[li] >> np.uint64(sh)
                if sh + c > 64 and li < 3:
                    u |= s[li + 1] << np.uint64(64 - sh)
                v = np.int64(u & mask)
            d = v + carry
            if d > half:
                d -= full
                carry = 1
            else:
                carry = 0
            digits[w, k] = d
    return digits
'''

NTT = '''
# ---- Fr vectors: Montgomery conversion, NTT, batch inversion ----
@njit(cache=True, parallel=True)
def fr_arr_to_mont(a):
    n = a.shape[0]
    out = np.empty((n, 4), dtype=np.uint64)
    for i in prange(n):
        fr_st(out, i, fr_to_mont(fr_reduce(fr_ld(a, i))))
    return out


@njit(cache=True, parallel=True)
def fr_arr_from_mont(a):
    n = a.shape[0]
    out = np.empty((n, 4), dtype=np.uint64)
    for i in prange(n):
        fr_st(out, i, fr_from_mont(fr_ld(a, i)))
    return out


@njit(cache=True, parallel=True)
def fr_powers(g, n, nchunks):
    """[g^0, g^1, ..., g^(n-1)] (Montgomery); each chunk starts from g^lo by exponentiation."""
    out = np.empty((n, 4), dtype=np.uint64)
    for ch in prange(nchunks):
        lo = n * ch // nchunks
        hi = n * (ch + 1) // nchunks
        if hi <= lo:
            continue
        acc = fr_pow(g, (np.uint64(lo), Z, Z, Z))
        for i in range(lo, hi):
            fr_st(out, i, acc)
            acc = fr_mul(acc, g)
    return out


@njit(cache=True, parallel=True)
def fr_scale(a, s):
    # a[i] *= s[i] in place
    for i in prange(a.shape[0]):
        fr_st(a, i, fr_mul(fr_ld(a, i), fr_ld(s, i)))


@njit(cache=True, parallel=True)
def fr_scale_const(a, s):
    for i in prange(a.shape[0]):
        fr_st(a, i, fr_mul(fr_ld(a, i), s))


@njit(cache=True)
def _bit_reverse(a, logn):
    n = a.shape[0]
    for i in range(n):
        j = 0
        x = i
        for _ in range(logn):
            j = (j << 1) | (x & 1)
            x >>= 1
        if j > i:
            for k in range(4):
                t = a[i, k]
                a[i, k] = a[j, k]
                a[j, k] = t


@njit(cache=True, parallel=True)
def _ntt_stage(a, tw, half, stride):
    # butterflies of one radix-2 DIT stage, blocks of 2*half, twiddle w^(j*stride)
    n = a.shape[0]
    for k in prange(n >> 1):
        blk = k // half
        j = k - blk * half
        i1 = blk * 2 * half + j
        i2 = i1 + half
        u = fr_ld(a, i1)
        v = fr_mul(fr_ld(a, i2), fr_ld(tw, j * stride))
        fr_st(a, i1, fr_add(u, v))
        fr_st(a, i2, fr_sub(u, v))


@njit(cache=True)
def _ntt_block_stages(a, tw, base, logb, n):
    # all stages whose butterfly blocks fit in a[base : base + 2^logb] (independent of the rest)
    bs = 1 << logb
    half = 1
    while half < bs:
        stride = n // (2 * half)
        for blk in range(base, base + bs, 2 * half):
            for j in range(half):
                i1 = blk + j
                i2 = i1 + half
                u = fr_ld(a, i1)
                v = fr_mul(fr_ld(a, i2), fr_ld(tw, j * stride))
                fr_st(a, i1, fr_add(u, v))
                fr_st(a, i2, fr_sub(u, v))
        half *= 2


@njit(cache=True, parallel=True)
def _ntt_local_stages(a, tw, logb):
    n = a.shape[0]
    for blk in prange(n >> logb):
        _ntt_block_stages(a, tw, blk << logb, logb, n)


# below this size the NTT runs on one core: thread start-up and barriers cost more than they save
NTT_PARALLEL_MIN_LOG = 14
# the last NTT_GLOBAL_STAGES stages span blocks and run one parallel region each; all earlier
# stages run inside 2^NTT_GLOBAL_STAGES independent blocks in a single parallel region (few
# barriers matter on a loaded machine, where each one can cost a scheduler time slice)
NTT_GLOBAL_STAGES = 3


@njit(cache=True)
def fr_ntt_inplace(a, tw, logn):
    """In-place radix-2 DIT NTT, natural order in and out; tw[j] = w^j for j < n/2."""
    n = a.shape[0]
    _bit_reverse(a, logn)
    if logn < NTT_PARALLEL_MIN_LOG:
        _ntt_block_stages(a, tw, 0, logn, n)
        return
    logb = logn - NTT_GLOBAL_STAGES
    _ntt_local_stages(a, tw, logb)
    half = 1 << logb
    while half < n:
        _ntt_stage(a, tw, half, n // (2 * half))
        half *= 2


@njit(cache=True, parallel=True)
def fr_h_combine(a, b, c):
    # a <- a*b - c (pointwise, Montgomery)
    for i in prange(a.shape[0]):
        fr_st(a, i, fr_sub(fr_mul(fr_ld(a, i), fr_ld(b, i)), fr_ld(c, i)))


@njit(cache=True, parallel=True)
def fr_batch_inv(a, nchunks):
    """Elementwise inverse of Montgomery values, zero -> zero, one inversion per chunk."""
    n = a.shape[0]
    out = np.zeros((n, 4), dtype=np.uint64)
    for ch in prange(nchunks):
        lo = n * ch // nchunks
        hi = n * (ch + 1) // nchunks
        if hi <= lo:
            continue
        pre = np.empty((hi - lo, 4), dtype=np.uint64)
        acc = FR_ONE
        for i in range(lo, hi):
            v = fr_ld(a, i)
            if not fr_is_zero(v):
                acc = fr_mul(acc, v)
            fr_st(pre, i - lo, acc)
        inv = fr_inv(acc)
        for i in range(hi - 1, lo - 1, -1):
            v = fr_ld(a, i)
            if fr_is_zero(v):
                continue
            if i > lo:
                fr_st(out, i, fr_mul(inv, fr_ld(pre, i - lo - 1)))
            else:
                fr_st(out, i, inv)
            inv = fr_mul(inv, v)
    return out
'''


# Array-level entry points for the tests (tests/test_field_laws.py): one op code per primitive,
# so the limb code is checked against Python ints without compiling test-only kernels.
FIELD_HOOK = '''
@njit(cache=True)
def F_apply(op, a, b):
    """op: 0 add, 1 sub, 2 mul, 3 sqr, 4 neg, 5 inv, 6 to_mont, 7 from_mont, 8 reduce, 9 dbl."""
    n = a.shape[0]
    out = np.zeros((n, 4), dtype=np.uint64)
    for i in range(n):
        x = F_ld(a, i)
        y = F_ld(b, i)
        if op == 0:
            r = F_add(x, y)
        elif op == 1:
            r = F_sub(x, y)
        elif op == 2:
            r = F_mul(x, y)
        elif op == 3:
            r = F_sqr(x)
        elif op == 4:
            r = F_neg(x)
        elif op == 5:
            r = F_inv(x)
        elif op == 6:
            r = F_to_mont(x)
        elif op == 7:
            r = F_from_mont(x)
        elif op == 8:
            r = F_reduce(x)
        else:
            r = F_dbl(x)
        F_st(out, i, r)
    return out
'''

FQ2_HOOK = '''
@njit(cache=True)
def fq2_apply(op, a, b):
    """On (n, 2, 4) arrays; op: 0 add, 1 sub, 2 mul, 3 sqr, 4 neg, 5 inv, 6 to_mont, 7 from_mont."""
    n = a.shape[0]
    out = np.zeros((n, 2, 4), dtype=np.uint64)
    for i in range(n):
        x = (g1_ld(a, i, 0), g1_ld(a, i, 1))
        y = (g1_ld(b, i, 0), g1_ld(b, i, 1))
        if op == 0:
            r = fq2_add(x, y)
        elif op == 1:
            r = fq2_sub(x, y)
        elif op == 2:
            r = fq2_mul(x, y)
        elif op == 3:
            r = fq2_sqr(x)
        elif op == 4:
            r = fq2_neg(x)
        elif op == 5:
            r = fq2_inv(x)
        elif op == 6:
            r = fq2_to_mont(x)
        else:
            r = fq2_from_mont(x)
        g1_st(out, i, 0, r[0])
        g1_st(out, i, 1, r[1])
    return out
'''

GROUP_HOOK = '''
@njit(cache=True)
def G_apply(op, p, q):
    """On Jacobian Montgomery arrays; op: 0 add(p, q), 1 dbl(p), 2 madd(p, affine part of q), 3 neg(p)."""
    n = p.shape[0]
    out = G_jac_zeros(n)
    for i in range(n):
        P = G_ld_jac(p, i)
        Qp = G_ld_jac(q, i)
        if op == 0:
            r = G_add(P, Qp)
        elif op == 1:
            r = G_dbl(P)
        elif op == 2:
            r = G_madd(P, Qp[0], Qp[1])
        else:
            r = G_neg(P)
        G_st_jac(out, i, r)
    return out
'''


def _instantiate(template: str, g: str, f: str) -> str:
    text = re.sub(r"\bG_", f"{g}_", template)
    text = re.sub(r"\bG_B\b", f"{g.upper()}_B", text)
    text = re.sub(r"\b" + g + r"_B\b", f"{g.upper()}_B", text)
    text = re.sub(r"\b" + g + r"_INF\b", f"{g.upper()}_INF", text)
    text = re.sub(r"\bF_ONE\b", f"{f.upper()}_ONE", text)
    text = re.sub(r"\bF_ZERO\b", f"{f.upper()}_ZERO", text)
    return re.sub(r"\bF_", f"{f}_", text)


def generate() -> str:
    parts = [HEADER, _field("fq", Q), _field("fr", R), FQ2]
    parts += [re.sub(r"\bF_", f"{f}_", FIELD_HOOK) for f in ("fq", "fr")]
    access = {
        "g1": ACCESS["g1"].replace("@G1B@", _mont_tuple(3)),
        "g2": ACCESS["g2"].replace(
            "@G2B@",
            # 3/(9 + u) = 3 (9 - u) / 82
            f"({_mont_tuple(27 * pow(82, -1, Q) % Q)}, {_mont_tuple(-3 * pow(82, -1, Q) % Q)})",
        ),
    }
    for g, f in (("g1", "fq"), ("g2", "fq2")):
        parts.append(f"\n# ======== {g.upper()} over {f} ========\n")
        parts.append(GROUP_CANON[g])
        parts.append(access[g])
        parts.append(_instantiate(CURVE, g, f))
        parts.append(_instantiate(GROUP_HOOK, g, f))
    parts.append(FQ2_HOOK)
    parts.append(SCALARS)
    parts.append(NTT)
    return "".join(parts)


def main() -> int:
    OUT.write_text(generate())
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
