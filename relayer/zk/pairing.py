"""Fast BN254 optimal-ate pairing in plain Python ints: multi-pairing product checks for local Groth16
verification, the full pairing (for tests and key checks), and a fast G2 subgroup membership test.

Tower Fq2 = Fq[u]/(u²+1), Fq6 = Fq2[v]/(v³−ξ), Fq12 = Fq6[w]/(w²−v), ξ = 9+u (EIP-197 / py_ecc bn128).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from relayer.errors import VerificationError
from relayer.zk.field import Q, R, G1Point, G2Point

P = Q  # base field modulus (py_ecc's field_modulus)
# BN parameter: p = 36x⁴+36x³+24x²+6x+1, r = 36x⁴+36x³+18x²+6x+1 (Barreto–Naehrig 2005; EIP-197 curve).
X = 4965661367192848881
assert 36 * X**4 + 36 * X**3 + 24 * X**2 + 6 * X + 1 == P
assert 36 * X**4 + 36 * X**3 + 18 * X**2 + 6 * X + 1 == R

Fq2 = tuple[int, int]
# An Fq12 element is a flat 12-tuple of ints in tower order:
#   (c0.c0.re, c0.c0.im, c0.c1.re, c0.c1.im, c0.c2.re, c0.c2.im, c1.c0.re, ..., c1.c2.im)
# where cH.cJ is the Fq2 coefficient of w^H·v^J = w^(2J+H).
Fq12 = tuple[int, int, int, int, int, int, int, int, int, int, int, int]
Fq6 = tuple[int, int, int, int, int, int]

XI: Fq2 = (9, 1)


# --- Fq2 (setup-time and G2 helpers; the Fq6/Fq12 hot paths inline this arithmetic) ------------
def _f2_mul(a: Fq2, b: Fq2) -> Fq2:
    return ((a[0] * b[0] - a[1] * b[1]) % P, (a[0] * b[1] + a[1] * b[0]) % P)


def _f2_inv(a: Fq2) -> Fq2:
    d = pow((a[0] * a[0] + a[1] * a[1]) % P, -1, P)
    return (a[0] * d % P, -a[1] * d % P)


def _f2_pow(a: Fq2, e: int) -> Fq2:
    acc: Fq2 = (1, 0)
    for bit in bin(e)[2:]:
        acc = _f2_mul(acc, acc)
        if bit == "1":
            acc = _f2_mul(acc, a)
    return acc


# twist coefficient b' = 3/ξ (the same value as relayer.zk.curve.B2)
B2: Fq2 = _f2_mul((3, 0), _f2_inv(XI))

# Frobenius constants, computed from p (not pasted): w^(p^k) = w · ξ^((p^k−1)/6), so the coefficient of
# w^i picks up γ_k[i] = ξ^(i(p^k−1)/6) after σ^k (σ = conjugation in Fq2).  p ≡ 1 (mod 6).
# From γ1: γ2 = γ1^(p+1) = γ1·γ̄1 = N(γ1) ∈ Fq (so the p² Frobenius scales by plain ints), and
# γ3 = γ1^(p²+p+1) = γ1·N(γ1).  (tests/test_pairing.py checks them against the defining powers.)
assert (P - 1) % 6 == 0
_GAMMA1: list[Fq2] = [_f2_pow(XI, i * (P - 1) // 6) for i in range(6)]
_GAMMA2: list[int] = [(g0 * g0 + g1 * g1) % P for g0, g1 in _GAMMA1]
_GAMMA3: list[Fq2] = [(g0 * n % P, g1 * n % P) for (g0, g1), n in zip(_GAMMA1, _GAMMA2)]
# tower slot k (k = 0..5 ↔ cH.cJ with H = k // 3, J = k % 3) holds the coefficient of w^(2J+H)
_SLOT_POW = [0, 2, 4, 1, 3, 5]
# ψ = untwist ∘ Frobenius ∘ twist on E'(Fq2), untwist (x, y) ↦ (x·w², y·w³):
#   ψ(x, y) = (x̄·ξ^((p−1)/3), ȳ·ξ^((p−1)/2))
_PSI_X: Fq2 = _GAMMA1[2]
_PSI_Y: Fq2 = _GAMMA1[3]

ONE12: Fq12 = (1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)


# --- Fq6 / Fq12 arithmetic (lazy reduction: one `% P` per output coefficient) --------------------
def _f6_mul(a: Sequence[int], b: Sequence[int]) -> Fq6:
    """Karatsuba over Fq2 (6 Fq2 products), v³ = ξ, and Karatsuba inside Fq2 (3 int products each):
    18 multiplications of 256-bit ints, which dominate the cost in CPython. Inputs need not be reduced."""
    a0, a1, a2, a3, a4, a5 = a
    b0, b1, b2, b3, b4, b5 = b
    m = a0 * b0
    n = a1 * b1
    t0r = m - n
    t0i = (a0 + a1) * (b0 + b1) - m - n
    m = a2 * b2
    n = a3 * b3
    t1r = m - n
    t1i = (a2 + a3) * (b2 + b3) - m - n
    m = a4 * b4
    n = a5 * b5
    t2r = m - n
    t2i = (a4 + a5) * (b4 + b5) - m - n
    # s = (A1+A2)(B1+B2) − t1 − t2
    xr = a2 + a4
    xi = a3 + a5
    yr = b2 + b4
    yi = b3 + b5
    m = xr * yr
    n = xi * yi
    sr = m - n - t1r - t2r
    si = (xr + xi) * (yr + yi) - m - n - t1i - t2i
    # c1 = (A0+A1)(B0+B1) − t0 − t1 + ξ t2
    xr = a0 + a2
    xi = a1 + a3
    yr = b0 + b2
    yi = b1 + b3
    m = xr * yr
    n = xi * yi
    c1r = m - n - t0r - t1r + 9 * t2r - t2i
    c1i = (xr + xi) * (yr + yi) - m - n - t0i - t1i + t2r + 9 * t2i
    # c2 = (A0+A2)(B0+B2) − t0 − t2 + t1
    xr = a0 + a4
    xi = a1 + a5
    yr = b0 + b4
    yi = b1 + b5
    m = xr * yr
    n = xi * yi
    c2r = m - n - t0r - t2r + t1r
    c2i = (xr + xi) * (yr + yi) - m - n - t0i - t2i + t1i
    # c0 = t0 + ξ s
    return (
        (t0r + 9 * sr - si) % P,
        (t0i + sr + 9 * si) % P,
        c1r % P,
        c1i % P,
        c2r % P,
        c2i % P,
    )


def f12_mul(a: Fq12, b: Fq12) -> Fq12:
    """Karatsuba over Fq6: (A0 + A1 w)(B0 + B1 w) with w² = v."""
    t0 = _f6_mul(a[:6], b[:6])
    t1 = _f6_mul(a[6:], b[6:])
    m = _f6_mul(
        [a[i] + a[i + 6] for i in range(6)],
        [b[i] + b[i + 6] for i in range(6)],
    )
    # C0 = T0 + v·T1, v·(c0, c1, c2) = (ξ c2, c0, c1)
    return (
        (t0[0] + 9 * t1[4] - t1[5]) % P,
        (t0[1] + t1[4] + 9 * t1[5]) % P,
        (t0[2] + t1[0]) % P,
        (t0[3] + t1[1]) % P,
        (t0[4] + t1[2]) % P,
        (t0[5] + t1[3]) % P,
        (m[0] - t0[0] - t1[0]) % P,
        (m[1] - t0[1] - t1[1]) % P,
        (m[2] - t0[2] - t1[2]) % P,
        (m[3] - t0[3] - t1[3]) % P,
        (m[4] - t0[4] - t1[4]) % P,
        (m[5] - t0[5] - t1[5]) % P,
    )


def f12_sqr(a: Fq12) -> Fq12:
    """Complex squaring: (A0 + A1 w)² = (A0+A1)(A0+vA1) − T − vT + 2T·w with T = A0·A1."""
    a0, a1, a2, a3, a4, a5, b0, b1, b2, b3, b4, b5 = a
    t = _f6_mul(a[:6], a[6:])
    # A0 + A1 and A0 + v·A1
    s = _f6_mul(
        (a0 + b0, a1 + b1, a2 + b2, a3 + b3, a4 + b4, a5 + b5),
        (a0 + 9 * b4 - b5, a1 + b4 + 9 * b5, a2 + b0, a3 + b1, a4 + b2, a5 + b3),
    )
    t0, t1, t2, t3, t4, t5 = t
    return (
        (s[0] - t0 - 9 * t4 + t5) % P,
        (s[1] - t1 - t4 - 9 * t5) % P,
        (s[2] - t2 - t0) % P,
        (s[3] - t3 - t1) % P,
        (s[4] - t4 - t2) % P,
        (s[5] - t5 - t3) % P,
        2 * t0 % P,
        2 * t1 % P,
        2 * t2 % P,
        2 * t3 % P,
        2 * t4 % P,
        2 * t5 % P,
    )


def _mul_by_line(f: Fq12, ar: int, ai: int, br: int, bi: int) -> Fq12:
    """f · (1 + A·w + B·w³), the shape of every normalized line (see `_line_coeffs`).
    In the tower the line is L0 + L1·w with L0 = 1 and L1 = A + B·v, so
    f·l = F0 + v·(F1·L1) + (F1 + F0·L1)·w.  F·(A + Bv) = (F0A + ξF2B, (F0+F1)(A+B) − F0A − F1B, F1B + F2A)
    takes 5 Fq2 products of 3 int products each: 30 multiplications per line."""
    f0, f1, f2, f3, f4, f5, g0, g1, g2, g3, g4, g5 = f
    sa = ar + ai
    sb = br + bi
    cr = ar + br
    ci = ai + bi
    sc = cr + ci
    # --- F1·L1 over g = (g01, g23, g45) ---
    m = g0 * ar
    n = g1 * ai
    t0r = m - n
    t0i = (g0 + g1) * sa - m - n  # g01·A
    m = g2 * br
    n = g3 * bi
    t1r = m - n
    t1i = (g2 + g3) * sb - m - n  # g23·B
    xr = g0 + g2
    xi = g1 + g3
    m = xr * cr
    n = xi * ci
    u1r = m - n - t0r - t1r
    u1i = (xr + xi) * sc - m - n - t0i - t1i  # (g01 + g23)(A + B) − g01A − g23B
    s45 = g4 + g5
    m = g4 * ar
    n = g5 * ai
    u2r = t1r + m - n
    u2i = t1i + s45 * sa - m - n  # g23·B + g45·A
    m = g4 * br
    n = g5 * bi
    er = m - n
    ei = s45 * sb - m - n  # g45·B
    u0r = t0r + 9 * er - ei
    u0i = t0i + er + 9 * ei  # g01·A + ξ·g45·B
    # --- F0·L1 over f = (f01, f23, f45) ---
    m = f0 * ar
    n = f1 * ai
    t0r = m - n
    t0i = (f0 + f1) * sa - m - n
    m = f2 * br
    n = f3 * bi
    t1r = m - n
    t1i = (f2 + f3) * sb - m - n
    xr = f0 + f2
    xi = f1 + f3
    m = xr * cr
    n = xi * ci
    z1r = m - n - t0r - t1r
    z1i = (xr + xi) * sc - m - n - t0i - t1i
    s45 = f4 + f5
    m = f4 * ar
    n = f5 * ai
    z2r = t1r + m - n
    z2i = t1i + s45 * sa - m - n
    m = f4 * br
    n = f5 * bi
    er = m - n
    ei = s45 * sb - m - n
    z0r = t0r + 9 * er - ei
    z0i = t0i + er + 9 * ei
    return (
        (f0 + 9 * u2r - u2i) % P,
        (f1 + u2r + 9 * u2i) % P,
        (f2 + u0r) % P,
        (f3 + u0i) % P,
        (f4 + u1r) % P,
        (f5 + u1i) % P,
        (g0 + z0r) % P,
        (g1 + z0i) % P,
        (g2 + z1r) % P,
        (g3 + z1i) % P,
        (g4 + z2r) % P,
        (g5 + z2i) % P,
    )


def _f6_inv(a: Sequence[int]) -> Fq6:
    """(a0 + a1 v + a2 v²)⁻¹ via the adjugate: c0 = a0² − ξa1a2, c1 = ξa2² − a0a1, c2 = a1² − a0a2."""
    a0: Fq2 = (a[0], a[1])
    a1: Fq2 = (a[2], a[3])
    a2: Fq2 = (a[4], a[5])

    def xi(z: Fq2) -> Fq2:
        return ((9 * z[0] - z[1]) % P, (z[0] + 9 * z[1]) % P)

    def sub(x: Fq2, y: Fq2) -> Fq2:
        return ((x[0] - y[0]) % P, (x[1] - y[1]) % P)

    c0 = sub(_f2_mul(a0, a0), xi(_f2_mul(a1, a2)))
    c1 = sub(xi(_f2_mul(a2, a2)), _f2_mul(a0, a1))
    c2 = sub(_f2_mul(a1, a1), _f2_mul(a0, a2))
    t = _f2_mul(a0, c0)
    s1, s2 = _f2_mul(a2, c1), _f2_mul(a1, c2)
    u = xi((s1[0] + s2[0], s1[1] + s2[1]))
    n = ((t[0] + u[0]) % P, (t[1] + u[1]) % P)
    if n == (0, 0):
        raise ZeroDivisionError("inverse of zero in Fq6")
    ni = _f2_inv(n)
    return (*_f2_mul(c0, ni), *_f2_mul(c1, ni), *_f2_mul(c2, ni))


def f12_inv(a: Fq12) -> Fq12:
    """(A0 + A1 w)⁻¹ = (A0 − A1 w) / (A0² − v·A1²)."""
    s0 = _f6_mul(a[:6], a[:6])
    s1 = _f6_mul(a[6:], a[6:])
    d = (
        (s0[0] - 9 * s1[4] + s1[5]) % P,
        (s0[1] - s1[4] - 9 * s1[5]) % P,
        (s0[2] - s1[0]) % P,
        (s0[3] - s1[1]) % P,
        (s0[4] - s1[2]) % P,
        (s0[5] - s1[3]) % P,
    )
    di = _f6_inv(d)
    c0 = _f6_mul(a[:6], di)
    c1 = _f6_mul(a[6:], di)
    return (*c0, *(-c % P for c in c1))  # type: ignore[return-value]


def f12_conj(a: Fq12) -> Fq12:
    """a^(p⁶): w ↦ −w. On the cyclotomic subgroup (after the easy part) this is the inverse."""
    return (*a[:6], *(-c % P for c in a[6:]))  # type: ignore[return-value]


def f12_frob(a: Fq12, k: int) -> Fq12:
    """a^(p^k) for k in 1..3: conjugate each Fq2 coefficient k times and scale by γ_k."""
    out: list[int] = []
    for slot in range(6):
        re, im = a[2 * slot], a[2 * slot + 1]
        i = _SLOT_POW[slot]
        if k == 2:
            g = _GAMMA2[i]
            out += (re * g % P, im * g % P)
            continue
        gr, gi = (_GAMMA1 if k == 1 else _GAMMA3)[i]
        im = -im  # σ (odd k)
        out += ((re * gr - im * gi) % P, (re * gi + im * gr) % P)
    return tuple(out)  # type: ignore[return-value]


def f12_pow(a: Fq12, e: int) -> Fq12:
    """Generic square-and-multiply (tests and the one-off exponent of `pairing`)."""
    if e < 0:
        return f12_pow(f12_inv(a), -e)
    acc = ONE12
    for bit in bin(e)[2:]:
        acc = f12_sqr(acc)
        if bit == "1":
            acc = f12_mul(acc, a)
    return acc


def cyclotomic_sqr(a: Fq12) -> Fq12:
    """Squaring in the cyclotomic subgroup G_Φ6(p²) (Granger–Scott 2010, "Faster squaring in the
    cyclotomic subgroup of sixth degree extensions", §3.1): write a = x + y·w + z·w² over
    Fq4 = Fq2[t]/(t² − ξ), t = w³; then a² = (3x² − 2x̄) + (3t·z² + 2ȳ)·w + (3y² − 2z̄)·w²."""
    # Fq4 components: x = (c_w0, c_w3), y = (c_w1, c_w4), z = (c_w2, c_w5); tower slots (0,4,1,3,2,5)
    x0r, x0i, z0r, z0i, y1r, y1i, y0r, y0i, x1r, x1i, z1r, z1i = a

    def fq4_sqr(ar: int, ai: int, br: int, bi: int) -> tuple[int, int, int, int]:
        # (a + b t)² = (a² + ξ b²) + ((a+b)² − a² − b²) t: three Fq2 squarings of 2 int products each
        a2r = (ar + ai) * (ar - ai)
        a2i = 2 * ar * ai
        b2r = (br + bi) * (br - bi)
        b2i = 2 * br * bi
        cr = ar + br
        ci = ai + bi
        return (a2r + 9 * b2r - b2i, a2i + b2r + 9 * b2i, (cr + ci) * (cr - ci) - a2r - b2r, 2 * cr * ci - a2i - b2i)

    sxr, sxi, sx1r, sx1i = fq4_sqr(x0r, x0i, x1r, x1i)
    syr, syi, sy1r, sy1i = fq4_sqr(y0r, y0i, y1r, y1i)
    szr, szi, sz1r, sz1i = fq4_sqr(z0r, z0i, z1r, z1i)
    # t·(s + s1 t) = ξ s1 + s t
    return (
        (3 * sxr - 2 * x0r) % P,  # w⁰
        (3 * sxi - 2 * x0i) % P,
        (3 * syr - 2 * z0r) % P,  # w² (z part of 3y² − 2z̄)
        (3 * syi - 2 * z0i) % P,
        (3 * szr - 2 * y1r) % P,  # w⁴ = t·w: t-part of (3t z² + 2ȳ)
        (3 * szi - 2 * y1i) % P,
        (3 * (9 * sz1r - sz1i) + 2 * y0r) % P,  # w¹: real part of 3t·z² + 2ȳ
        (3 * (sz1r + 9 * sz1i) + 2 * y0i) % P,
        (3 * sx1r + 2 * x1r) % P,  # w³ = t: t-part of 3x² − 2x̄
        (3 * sx1i + 2 * x1i) % P,
        (3 * sy1r + 2 * z1r) % P,  # w⁵ = t·w²: t-part of 3y² − 2z̄
        (3 * sy1i + 2 * z1i) % P,
    )


def _naf(k: int) -> list[int]:
    """Non-adjacent form, most significant digit first."""
    out = []
    while k:
        if k & 1:
            d = 2 - (k & 3)
            k -= d
        else:
            d = 0
        out.append(d)
        k >>= 1
    return out[::-1]


_X_NAF = _naf(X)


def _cyc_exp_x(a: Fq12) -> Fq12:
    """a^x on the cyclotomic subgroup: NAF of x, inverses by conjugation."""
    a_inv = f12_conj(a)
    acc = a
    for d in _X_NAF[1:]:
        acc = cyclotomic_sqr(acc)
        if d == 1:
            acc = f12_mul(acc, a)
        elif d == -1:
            acc = f12_mul(acc, a_inv)
    return acc


# The hard part uses the multiple m·Φ12(p)/r with m = 2x(6x²+3x+1) (Fuentes-Castañeda, Knapp,
# Rodríguez-Henríquez, "Faster hashing to G2", SAC 2011, §6; as organized in Aranha, Karabina, Longa,
# Gebotys, López, "Faster explicit formulas for computing pairings over ordinary curves", Eurocrypt 2011):
#   m·Φ12(p)/r = λ0 + λ1 p + λ2 p² + λ3 p³ with
#   λ0 = 1+6x+12x²+12x³, λ1 = 4x+6x²+12x³, λ2 = 6x+6x²+12x³, λ3 = −1+4x+6x²+12x³.
# gcd(m, r) = 1, so f ↦ f^(m(p¹²−1)/r) is still a non-degenerate bilinear pairing; `pairing` removes m.
HARD_MULTIPLE = 2 * X * (6 * X * X + 3 * X + 1)
_PHI12 = P**4 - P**2 + 1
assert _PHI12 % R == 0
assert (
    (1 + 6 * X + 12 * X**2 + 12 * X**3)
    + (4 * X + 6 * X**2 + 12 * X**3) * P
    + (6 * X + 6 * X**2 + 12 * X**3) * P**2
    + (-1 + 4 * X + 6 * X**2 + 12 * X**3) * P**3
    == HARD_MULTIPLE * (_PHI12 // R)
)
_HARD_MULTIPLE_INV = pow(HARD_MULTIPLE, -1, R)


def final_exponentiation(f: Fq12) -> Fq12:
    """f^(m·(p¹²−1)/r): easy part (p⁶−1)(p²+1) by conjugation/inversion/Frobenius, hard part by the
    x-chain above (3 exponentiations by x with cyclotomic squarings)."""
    t = f12_mul(f12_conj(f), f12_inv(f))  # f^(p⁶−1)
    f = f12_mul(f12_frob(t, 2), t)  # ·^(p²+1): now in the cyclotomic subgroup
    a = _cyc_exp_x(f)  # f^x
    a2 = cyclotomic_sqr(a)  # f^2x
    a6 = f12_mul(a2, cyclotomic_sqr(a2))  # f^6x
    b = _cyc_exp_x(a6)  # f^6x²
    c = _cyc_exp_x(cyclotomic_sqr(b))  # f^12x³
    l2 = f12_mul(f12_mul(c, b), a6)  # f^λ2
    l1 = f12_mul(l2, f12_conj(a2))  # f^λ1 = f^(λ2 − 2x)
    l3 = f12_mul(l1, f12_conj(f))  # f^λ3 = f^(λ1 − 1)
    l0 = f12_mul(f12_mul(l2, b), f)  # f^λ0 = f^(λ2 + 6x² + 1)
    out = f12_mul(l0, f12_frob(l1, 1))
    out = f12_mul(out, f12_frob(l2, 2))
    return f12_mul(out, f12_frob(l3, 3))


# --- G2 line coefficients (affine, P-independent, cached per Q) ---------------------------------
# Optimal ate (Vercauteren 2010, "Optimal pairings"): f_{6x+2,Q}(P) · l_{T,ψ(Q)}(P) · l_{T+ψ(Q),−ψ²(Q)}(P),
# T = [6x+2]Q, loop over the NAF of 6x+2 (vertical lines and negative digits only change the value by
# factors in proper subfields, which the final exponentiation kills).
ATE_LOOP = 6 * X + 2
_ATE_NAF = _naf(ATE_LOOP)


def _psi(q: tuple[Fq2, Fq2]) -> tuple[Fq2, Fq2]:
    (x0, x1), (y0, y1) = q
    return (_f2_mul((x0, -x1 % P), _PSI_X), _f2_mul((y0, -y1 % P), _PSI_Y))


def _not_in_g2() -> VerificationError:
    return VerificationError(
        "degenerate Miller loop: a G2 point is not in the order-r subgroup (check it with g2_in_subgroup first)"
    )


@lru_cache(maxsize=256)
def _line_coeffs(q: tuple[Fq2, Fq2]) -> tuple[tuple[int, int, int, int], ...]:
    """Every line of the Miller loop for Q, as (λ, μ) with the untwisted line through T
    l(P) = y_P − λ·x_P·w + μ·w³, μ = λ·x_T − y_T (slope λ on the twist; D-type twist y² = x³ + 3/ξ).
    Returned in loop order: per NAF digit a doubling line, then an addition line if the digit ≠ 0,
    then the two Frobenius lines. Each step costs one Fq inversion (fast in Python, no Z tracking)."""
    out: list[tuple[int, int, int, int]] = []
    (qx0, qx1), (qy0, qy1) = q
    nqy0, nqy1 = -qy0 % P, -qy1 % P
    tx0, tx1, ty0, ty1 = qx0, qx1, qy0, qy1

    def add_step(sx0: int, sx1: int, sy0: int, sy1: int) -> tuple[int, int, int, int]:
        nonlocal tx0, tx1, ty0, ty1
        dx0, dx1 = (sx0 - tx0) % P, (sx1 - tx1) % P
        dy0, dy1 = sy0 - ty0, sy1 - ty1
        n = (dx0 * dx0 + dx1 * dx1) % P
        if n == 0:
            raise _not_in_g2()
        n = pow(n, -1, P)
        i0, i1 = dx0 * n, -dx1 * n  # 1/(x_S − x_T), unreduced
        l0 = (dy0 * i0 - dy1 * i1) % P
        l1 = (dy0 * i1 + dy1 * i0) % P
        line = (l0, l1, (l0 * tx0 - l1 * tx1 - ty0) % P, (l0 * tx1 + l1 * tx0 - ty1) % P)
        x30 = (l0 * l0 - l1 * l1 - tx0 - sx0) % P
        x31 = (2 * l0 * l1 - tx1 - sx1) % P
        ex0, ex1 = tx0 - x30, tx1 - x31
        ty0, ty1 = (l0 * ex0 - l1 * ex1 - ty0) % P, (l0 * ex1 + l1 * ex0 - ty1) % P
        tx0, tx1 = x30, x31
        return line

    for d in _ATE_NAF[1:]:
        # doubling: λ = 3x_T² / (2y_T)
        n = 4 * (ty0 * ty0 + ty1 * ty1) % P
        if n == 0:
            raise _not_in_g2()
        n = pow(n, -1, P)
        i0, i1 = 2 * ty0 * n, -2 * ty1 * n
        s0, s1 = 3 * (tx0 + tx1) * (tx0 - tx1), 6 * tx0 * tx1
        l0 = (s0 * i0 - s1 * i1) % P
        l1 = (s0 * i1 + s1 * i0) % P
        out.append((l0, l1, (l0 * tx0 - l1 * tx1 - ty0) % P, (l0 * tx1 + l1 * tx0 - ty1) % P))
        x30 = (l0 * l0 - l1 * l1 - 2 * tx0) % P
        x31 = (2 * l0 * l1 - 2 * tx1) % P
        ex0, ex1 = tx0 - x30, tx1 - x31
        ty0, ty1 = (l0 * ex0 - l1 * ex1 - ty0) % P, (l0 * ex1 + l1 * ex0 - ty1) % P
        tx0, tx1 = x30, x31
        if d == 1:
            out.append(add_step(qx0, qx1, qy0, qy1))
        elif d == -1:
            out.append(add_step(qx0, qx1, nqy0, nqy1))
    q1 = _psi(q)
    q2 = _psi(q1)
    out.append(add_step(q1[0][0], q1[0][1], q1[1][0], q1[1][1]))
    out.append(add_step(q2[0][0], q2[0][1], -q2[1][0] % P, -q2[1][1] % P))
    return tuple(out)


def _check_g1(p: tuple[int, int]) -> None:
    x, y = p
    if not (isinstance(x, int) and isinstance(y, int) and 0 <= x < P and 0 <= y < P):
        raise VerificationError(f"G1 point {p!r} has a coordinate outside [0, q)")
    if (y * y - x * x * x - 3) % P:
        raise VerificationError(f"G1 point {p!r} is not on y² = x³ + 3")


def _check_g2_curve(q: tuple[Fq2, Fq2]) -> None:
    (x0, x1), (y0, y1) = q
    if not all(isinstance(c, int) and 0 <= c < P for c in (x0, x1, y0, y1)):
        raise VerificationError(f"G2 point {q!r} has a coordinate outside [0, q)")
    x2 = _f2_mul((x0, x1), (x0, x1))
    rhs = _f2_mul(x2, (x0, x1))
    if _f2_mul((y0, y1), (y0, y1)) != ((rhs[0] + B2[0]) % P, (rhs[1] + B2[1]) % P):
        raise VerificationError(f"G2 point {q!r} is not on the twist y² = x³ + 3/(9+u)")


def _prepare(pairs: Sequence[tuple[G1Point, G2Point]]) -> list[tuple[int, int, tuple[tuple[int, int, int, int], ...]]]:
    prepared = []
    for p, q in pairs:
        if p is None or q is None:
            continue  # e(O, Q) = e(P, O) = 1
        _check_g1(p)
        _check_g2_curve(q)
        # Divide each line by y_P (a nonzero Fq scalar, killed by the final exponentiation):
        # l/y_P = 1 + λ·(−x_P/y_P)·w + μ·(1/y_P)·w³.  y_P ≠ 0: G1 has odd order r, no 2-torsion.
        yi = pow(p[1], -1, P)
        prepared.append((-p[0] * yi % P, yi, _line_coeffs(q)))
    return prepared


def miller_loop(pairs: Sequence[tuple[G1Point, G2Point]]) -> Fq12:
    """Π f_Q(P) over the pairs with one shared squaring chain (multi-Miller loop); infinity pairs skipped.
    Points are checked to be on their curves; G2 subgroup membership is the caller's job."""
    prepared = _prepare(pairs)
    f = ONE12
    if not prepared:
        return f
    n_lines = len(prepared[0][2])
    idx = 0
    first = True
    # the scaled coefficients are reduced first: 256-bit operands keep the 48 products per line cheap
    for d in _ATE_NAF[1:]:
        if not first:
            f = f12_sqr(f)
        first = False
        for xn, yn, lines in prepared:
            l0, l1, m0, m1 = lines[idx]
            f = _mul_by_line(f, l0 * xn % P, l1 * xn % P, m0 * yn % P, m1 * yn % P)
        idx += 1
        if d:
            for xn, yn, lines in prepared:
                l0, l1, m0, m1 = lines[idx]
                f = _mul_by_line(f, l0 * xn % P, l1 * xn % P, m0 * yn % P, m1 * yn % P)
            idx += 1
    for _ in range(2):
        for xn, yn, lines in prepared:
            l0, l1, m0, m1 = lines[idx]
            f = _mul_by_line(f, l0 * xn % P, l1 * xn % P, m0 * yn % P, m1 * yn % P)
        idx += 1
    assert idx == n_lines
    return f


@lru_cache(maxsize=64)
def _fixed_miller(p: G1Point, q: G2Point) -> Fq12:
    return miller_loop([(p, q)])


def pairing_product_is_one(
    pairs: Sequence[tuple[G1Point, G2Point]], fixed: Sequence[tuple[G1Point, G2Point]] = ()
) -> bool:
    """Π e(P_i, Q_i) == 1, with one multi-Miller loop and one final exponentiation.
    `fixed`: further pairs that recur across calls (a key's e(α, β)); their Miller values are cached
    and multiplied in (the multi-Miller loop is exactly the product of the single loops).
    G2 points must be in the order-r subgroup (see g2_in_subgroup); off-curve points raise."""
    f = miller_loop(pairs)
    for p, q in fixed:
        if p is not None and q is not None:
            f = f12_mul(f, _fixed_miller(p, q))
    return final_exponentiation(f) == ONE12


def pairing(p: G1Point, q: G2Point) -> Fq12:
    """The reduced optimal-ate pairing e(P, Q) = f^((p¹²−1)/r) as a tower-ordered 12-tuple (the same
    value as py_ecc's `pairing(Q, P)`, in another basis). For tests and one-off checks: it pays an extra
    exponentiation to undo the multiple m used by `final_exponentiation`."""
    return f12_pow(final_exponentiation(miller_loop([(p, q)])), _HARD_MULTIPLE_INV)


# --- G2 subgroup membership -----------------------------------------------------------------------
_Jac2 = tuple[int, int, int, int, int, int]  # (X0, X1, Y0, Y1, Z0, Z1), x = X/Z², y = Y/Z³


def _j_double(p: _Jac2) -> _Jac2:
    """dbl-2009-l (a = 0) over Fq2."""
    X0, X1, Y0, Y1, Z0, Z1 = p
    if Z0 == 0 and Z1 == 0:
        return p
    A0, A1 = (X0 + X1) * (X0 - X1) % P, 2 * X0 * X1 % P
    B0, B1 = (Y0 + Y1) * (Y0 - Y1) % P, 2 * Y0 * Y1 % P
    C0, C1 = (B0 + B1) * (B0 - B1) % P, 2 * B0 * B1 % P
    t0, t1 = X0 + B0, X1 + B1
    D0 = 2 * ((t0 + t1) * (t0 - t1) - A0 - C0) % P
    D1 = 2 * (2 * t0 * t1 - A1 - C1) % P
    E0, E1 = 3 * A0, 3 * A1
    F0, F1 = (E0 + E1) * (E0 - E1) % P, 2 * E0 * E1 % P
    X30, X31 = (F0 - 2 * D0) % P, (F1 - 2 * D1) % P
    g0, g1 = D0 - X30, D1 - X31
    Y30 = (E0 * g0 - E1 * g1 - 8 * C0) % P
    Y31 = (E0 * g1 + E1 * g0 - 8 * C1) % P
    Z30 = 2 * (Y0 * Z0 - Y1 * Z1) % P
    Z31 = 2 * (Y0 * Z1 + Y1 * Z0) % P
    return (X30, X31, Y30, Y31, Z30, Z31)


def _j_add(p: _Jac2, q: _Jac2) -> _Jac2:
    """add-2007-bl (a = 0) over Fq2, with the doubling and inverse cases."""
    X1, X1i, Y1, Y1i, Z1, Z1i = p
    X2, X2i, Y2, Y2i, Z2, Z2i = q
    if Z1 == 0 and Z1i == 0:
        return q
    if Z2 == 0 and Z2i == 0:
        return p

    def m(a: int, b: int, c: int, d: int) -> tuple[int, int]:
        return (a * c - b * d) % P, (a * d + b * c) % P

    Z1Z1 = m(Z1, Z1i, Z1, Z1i)
    Z2Z2 = m(Z2, Z2i, Z2, Z2i)
    U1 = m(X1, X1i, *Z2Z2)
    U2 = m(X2, X2i, *Z1Z1)
    S1 = m(*m(Y1, Y1i, Z2, Z2i), *Z2Z2)
    S2 = m(*m(Y2, Y2i, Z1, Z1i), *Z1Z1)
    if U1 == U2:
        return _j_double(p) if S1 == S2 else (1, 0, 1, 0, 0, 0)
    H = ((U2[0] - U1[0]) % P, (U2[1] - U1[1]) % P)
    I = m(2 * H[0], 2 * H[1], 2 * H[0], 2 * H[1])
    J = m(*H, *I)
    r0, r1 = 2 * (S2[0] - S1[0]) % P, 2 * (S2[1] - S1[1]) % P
    V = m(*U1, *I)
    rr = m(r0, r1, r0, r1)
    X30, X31 = (rr[0] - J[0] - 2 * V[0]) % P, (rr[1] - J[1] - 2 * V[1]) % P
    s = m(*S1, *J)
    t = m(r0, r1, V[0] - X30, V[1] - X31)
    Y30, Y31 = (t[0] - 2 * s[0]) % P, (t[1] - 2 * s[1]) % P
    zs0, zs1 = Z1 + Z2, Z1i + Z2i
    zz = m(zs0, zs1, zs0, zs1)
    Z3 = m(zz[0] - Z1Z1[0] - Z2Z2[0], zz[1] - Z1Z1[1] - Z2Z2[1], *H)
    return (X30, X31, Y30, Y31, *Z3)


def _j_mul(p: _Jac2, k: int) -> _Jac2:
    """[k]P for k > 0 by NAF double-and-add."""
    neg = (p[0], p[1], -p[2] % P, -p[3] % P, p[4], p[5])
    digits = _naf(k)
    acc = p if digits[0] == 1 else neg
    for d in digits[1:]:
        acc = _j_double(acc)
        if d == 1:
            acc = _j_add(acc, p)
        elif d == -1:
            acc = _j_add(acc, neg)
    return acc


def _j_psi(p: _Jac2) -> _Jac2:
    """ψ on Jacobian coordinates: x = X/Z² ↦ x̄γx means X ↦ X̄γx, Z ↦ Z̄ (and Y ↦ Ȳγy)."""
    X0, X1, Y0, Y1, Z0, Z1 = p
    gx0, gx1 = _PSI_X
    gy0, gy1 = _PSI_Y
    return (
        (X0 * gx0 + X1 * gx1) % P,
        (X0 * gx1 - X1 * gx0) % P,
        (Y0 * gy0 + Y1 * gy1) % P,
        (Y0 * gy1 - Y1 * gy0) % P,
        Z0,
        -Z1 % P,
    )


def _j_eq(p: _Jac2, q: _Jac2) -> bool:
    pz = (p[4], p[5])
    qz = (q[4], q[5])
    if pz == (0, 0) or qz == (0, 0):
        return pz == qz
    pz2 = _f2_mul(pz, pz)
    qz2 = _f2_mul(qz, qz)
    if _f2_mul((p[0], p[1]), qz2) != _f2_mul((q[0], q[1]), pz2):
        return False
    return _f2_mul((p[2], p[3]), _f2_mul(qz2, qz)) == _f2_mul((q[2], q[3]), _f2_mul(pz2, pz))


def g2_in_subgroup(q: G2Point) -> bool:
    """Q ∈ G2 (order r) for a point Q already known to be on the twist, by the endomorphism test
    [x+1]Q + ψ([x]Q) + ψ²([x]Q) == ψ³([2x]Q)  (M. Scott, "A note on group membership tests for G1, G2
    and GT on BLS pairing-friendly curves", ePrint 2021/1130, §6 for BN curves; also El Housni,
    Guillevic, Piellard, "Co-factor clearing and subgroup membership testing on pairing-friendly
    curves", AFRICACRYPT 2022). One 63-bit scalar multiplication instead of a 254-bit one.
    tests/test_pairing.py checks it against r·Q == O on every prime-order component of E'(Fq2)."""
    if q is None:
        return True
    (x0, x1), (y0, y1) = q
    p: _Jac2 = (x0, x1, y0, y1, 1, 0)
    xq = _j_mul(p, X)
    lhs = _j_add(_j_add(_j_add(xq, p), _j_psi(xq)), _j_psi(_j_psi(xq)))
    rhs = _j_psi(_j_psi(_j_psi(_j_double(xq))))
    return _j_eq(lhs, rhs)
