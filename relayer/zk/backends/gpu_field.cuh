// BN254 field and curve arithmetic shared by the CUDA kernels and the host test harness.
// Compiles as CUDA (nvcc / NVRTC: __host__ __device__) and as plain C++17 (g++, for host tests).
// Montgomery form with R = 2^256, 4 x 64-bit little-endian limbs, CIOS multiplication.
#pragma once

#ifdef __CUDACC__
#define HD __host__ __device__ __forceinline__
// Out-of-line on the device: point doubling/addition and exponentiation appear at many call
// sites; inlining each copy made the PTX ~17 MB and ptxas take minutes. The hot mixed addition
// (bucket accumulation) and the field multiplication stay inlined.
#define HD_NOINL __host__ __device__ __noinline__
#else
#define HD inline
#define HD_NOINL inline
#endif

// No standard headers: NVRTC has none, and the host build needs none.
typedef unsigned long long u64;
typedef unsigned int u32;
typedef long long i64;
typedef int i32;

// ---- 64-bit limb primitives ---------------------------------------------------------------

HD u64 mul_hi64(u64 a, u64 b) {
#ifdef __CUDA_ARCH__
    return __umul64hi(a, b);
#else
    return (u64)(((unsigned __int128)a * b) >> 64);
#endif
}

// a + b*c + carry as 128 bits: returns the low word, leaves the high word in carry.
// (2^64-1)^2 + 2(2^64-1) = 2^128 - 1, so it never overflows.
HD u64 mac(u64 a, u64 b, u64 c, u64 &carry) {
    u64 lo = b * c;
    u64 hi = mul_hi64(b, c);
    lo += a;
    hi += (lo < a);
    lo += carry;
    hi += (lo < carry);
    carry = hi;
    return lo;
}

// a + b + carry (carry in {0, 1}), carry out in {0, 1}.
HD u64 adc(u64 a, u64 b, u64 &carry) {
    u64 s = a + b;
    u64 c1 = s < a;
    u64 s2 = s + carry;
    u64 c2 = s2 < s;
    carry = c1 | c2;
    return s2;
}

// a - b - borrow (borrow in {0, 1}), borrow out in {0, 1}.
HD u64 sbb(u64 a, u64 b, u64 &borrow) {
    u64 d = a - b;
    u64 b1 = a < b;
    u64 d2 = d - borrow;
    u64 b2 = d < borrow;
    borrow = b1 | b2;
    return d2;
}

// ---- prime field parameters (values computed from the moduli in relayer/zk/field.py) --------

// Base field q (EIP-196).
struct FqP {
    static constexpr u64 P0 = 0x3c208c16d87cfd47ULL, P1 = 0x97816a916871ca8dULL,
                         P2 = 0xb85045b68181585dULL, P3 = 0x30644e72e131a029ULL;
    static constexpr u64 INV = 0x87d20782e4866389ULL;  // -q^-1 mod 2^64
    static constexpr u64 R0 = 0xd35d438dc58f0d9dULL, R1 = 0x0a78eb28f5c70b3dULL,
                         R2 = 0x666ea36f7879462cULL, R3 = 0x0e0a77c19a07df2fULL;  // 2^256 mod q
    static constexpr u64 RR0 = 0xf32cfc5b538afa89ULL, RR1 = 0xb5e71911d44501fbULL,
                         RR2 = 0x47ab1eff0a417ff6ULL, RR3 = 0x06d89f71cab8351fULL;  // 2^512 mod q
};

// Scalar field r (the group order).
struct FrP {
    static constexpr u64 P0 = 0x43e1f593f0000001ULL, P1 = 0x2833e84879b97091ULL,
                         P2 = 0xb85045b68181585dULL, P3 = 0x30644e72e131a029ULL;
    static constexpr u64 INV = 0xc2e1f593efffffffULL;  // -r^-1 mod 2^64
    static constexpr u64 R0 = 0xac96341c4ffffffbULL, R1 = 0x36fc76959f60cd29ULL,
                         R2 = 0x666ea36f7879462eULL, R3 = 0x0e0a77c19a07df2fULL;  // 2^256 mod r
    static constexpr u64 RR0 = 0x1bb8e645ae216da7ULL, RR1 = 0x53fe3ab1e35c59e3ULL,
                         RR2 = 0x8c49833d53bb8085ULL, RR3 = 0x0216d0b17f4e44a5ULL;  // 2^512 mod r
};

template <class P>
struct Fp {
    u64 v[4];
    static constexpr int LIMBS = 4;
};

typedef Fp<FqP> Fq;
typedef Fp<FrP> Fr;

template <class P>
HD Fp<P> fp_zero() {
    Fp<P> r;
    r.v[0] = 0; r.v[1] = 0; r.v[2] = 0; r.v[3] = 0;
    return r;
}

template <class P>
HD Fp<P> fp_one() {  // 1 in Montgomery form
    Fp<P> r;
    r.v[0] = P::R0; r.v[1] = P::R1; r.v[2] = P::R2; r.v[3] = P::R3;
    return r;
}

template <class P>
HD Fp<P> fp_raw(u64 a0, u64 a1, u64 a2, u64 a3) {
    Fp<P> r;
    r.v[0] = a0; r.v[1] = a1; r.v[2] = a2; r.v[3] = a3;
    return r;
}

template <class P>
HD bool is_zero(const Fp<P> &a) {
    return (a.v[0] | a.v[1] | a.v[2] | a.v[3]) == 0;
}

template <class P>
HD bool eq(const Fp<P> &a, const Fp<P> &b) {
    return ((a.v[0] ^ b.v[0]) | (a.v[1] ^ b.v[1]) | (a.v[2] ^ b.v[2]) | (a.v[3] ^ b.v[3])) == 0;
}

// t - p if t >= p (t given as 4 limbs plus an overflow word hi).
template <class P>
HD Fp<P> fp_reduce_once(u64 t0, u64 t1, u64 t2, u64 t3, u64 hi) {
    u64 b = 0;
    u64 s0 = sbb(t0, P::P0, b);
    u64 s1 = sbb(t1, P::P1, b);
    u64 s2 = sbb(t2, P::P2, b);
    u64 s3 = sbb(t3, P::P3, b);
    // borrow out with no overflow word means t < p: keep t
    bool keep = (b != 0) && (hi == 0);
    Fp<P> r;
    r.v[0] = keep ? t0 : s0;
    r.v[1] = keep ? t1 : s1;
    r.v[2] = keep ? t2 : s2;
    r.v[3] = keep ? t3 : s3;
    return r;
}

template <class P>
HD Fp<P> add(const Fp<P> &a, const Fp<P> &b) {
    u64 c = 0;
    u64 t0 = adc(a.v[0], b.v[0], c);
    u64 t1 = adc(a.v[1], b.v[1], c);
    u64 t2 = adc(a.v[2], b.v[2], c);
    u64 t3 = adc(a.v[3], b.v[3], c);
    return fp_reduce_once<P>(t0, t1, t2, t3, c);
}

template <class P>
HD Fp<P> sub(const Fp<P> &a, const Fp<P> &b) {
    u64 br = 0;
    u64 t0 = sbb(a.v[0], b.v[0], br);
    u64 t1 = sbb(a.v[1], b.v[1], br);
    u64 t2 = sbb(a.v[2], b.v[2], br);
    u64 t3 = sbb(a.v[3], b.v[3], br);
    // on borrow add p back (mask instead of a branch)
    u64 m = 0ULL - br;
    u64 c = 0;
    Fp<P> r;
    r.v[0] = adc(t0, P::P0 & m, c);
    r.v[1] = adc(t1, P::P1 & m, c);
    r.v[2] = adc(t2, P::P2 & m, c);
    r.v[3] = adc(t3, P::P3 & m, c);
    return r;
}

template <class P>
HD Fp<P> neg(const Fp<P> &a) {
    return sub(fp_zero<P>(), a);
}

template <class P>
HD Fp<P> dbl(const Fp<P> &a) {
    return add(a, a);
}

// Montgomery product a*b*2^-256 mod p (CIOS, Koc-Acar-Kaliski 1996). Inputs < p, output < p.
template <class P>
HD Fp<P> mul(const Fp<P> &a, const Fp<P> &b) {
    const u64 p0 = P::P0, p1 = P::P1, p2 = P::P2, p3 = P::P3;
    u64 t0 = 0, t1 = 0, t2 = 0, t3 = 0, t4 = 0;
#ifdef __CUDACC__
#pragma unroll
#endif
    for (int i = 0; i < 4; i++) {
        u64 bi = b.v[i];
        u64 c = 0;
        t0 = mac(t0, a.v[0], bi, c);
        t1 = mac(t1, a.v[1], bi, c);
        t2 = mac(t2, a.v[2], bi, c);
        t3 = mac(t3, a.v[3], bi, c);
        u64 c5 = 0;
        t4 = adc(t4, c, c5);
        u64 m = t0 * P::INV;
        c = 0;
        (void)mac(t0, m, p0, c);  // low word is zero by construction of m
        t0 = mac(t1, m, p1, c);
        t1 = mac(t2, m, p2, c);
        t2 = mac(t3, m, p3, c);
        u64 c6 = 0;
        t3 = adc(t4, c, c6);
        t4 = c5 + c6;
    }
    return fp_reduce_once<P>(t0, t1, t2, t3, t4);
}

template <class P>
HD Fp<P> sqr(const Fp<P> &a) {
    return mul(a, a);
}

template <class P>
HD Fp<P> to_mont(const Fp<P> &a) {
    return mul(a, fp_raw<P>(P::RR0, P::RR1, P::RR2, P::RR3));
}

template <class P>
HD Fp<P> from_mont(const Fp<P> &a) {
    return mul(a, fp_raw<P>(1, 0, 0, 0));
}

// a^e for a 256-bit exponent e (4 limbs), left to right square and multiply.
template <class P>
HD_NOINL Fp<P> fp_pow(const Fp<P> &a, u64 e0, u64 e1, u64 e2, u64 e3) {
    u64 e[4] = {e0, e1, e2, e3};
    Fp<P> r = fp_one<P>();
    for (int i = 3; i >= 0; i--) {
        for (int j = 63; j >= 0; j--) {
            r = sqr(r);
            if ((e[i] >> j) & 1) r = mul(r, a);
        }
    }
    return r;
}

// a^e for a 64-bit exponent (powers of roots of unity: e < n).
template <class P>
HD_NOINL Fp<P> fp_pow_u64(const Fp<P> &a, u64 e) {
    Fp<P> r = fp_one<P>();
    Fp<P> b = a;
    while (e) {
        if (e & 1) r = mul(r, b);
        b = sqr(b);
        e >>= 1;
    }
    return r;
}

// Inverse by Fermat, a^(p-2); zero maps to zero.
template <class P>
HD Fp<P> inv(const Fp<P> &a) {
    return fp_pow<P>(a, P::P0 - 2, P::P1, P::P2, P::P3);  // P0 is odd and > 2: no borrow
}

// Reduce any 256-bit value below p (2^256 / p < 6 for both BN254 moduli: at most 5 rounds).
template <class P>
HD Fp<P> fp_reduce_full(const Fp<P> &a) {
    Fp<P> r = a;
    for (int k = 0; k < 6; k++) {
        u64 b = 0;
        u64 s0 = sbb(r.v[0], P::P0, b);
        u64 s1 = sbb(r.v[1], P::P1, b);
        u64 s2 = sbb(r.v[2], P::P2, b);
        u64 s3 = sbb(r.v[3], P::P3, b);
        if (b) break;
        r.v[0] = s0; r.v[1] = s1; r.v[2] = s2; r.v[3] = s3;
    }
    return r;
}

template <class P>
HD void load(const u64 *src, Fp<P> &a) {
    a.v[0] = src[0]; a.v[1] = src[1]; a.v[2] = src[2]; a.v[3] = src[3];
}

template <class P>
HD void store(u64 *dst, const Fp<P> &a) {
    dst[0] = a.v[0]; dst[1] = a.v[1]; dst[2] = a.v[2]; dst[3] = a.v[3];
}

// ---- Fq2 = Fq[u] / (u^2 + 1) ----------------------------------------------------------------

struct Fq2 {
    Fq c0, c1;
    static constexpr int LIMBS = 8;
};

HD Fq2 fq2_zero() { Fq2 r; r.c0 = fp_zero<FqP>(); r.c1 = fp_zero<FqP>(); return r; }
HD Fq2 fq2_one() { Fq2 r; r.c0 = fp_one<FqP>(); r.c1 = fp_zero<FqP>(); return r; }
HD bool is_zero(const Fq2 &a) { return is_zero(a.c0) && is_zero(a.c1); }
HD bool eq(const Fq2 &a, const Fq2 &b) { return eq(a.c0, b.c0) && eq(a.c1, b.c1); }
HD Fq2 add(const Fq2 &a, const Fq2 &b) { Fq2 r; r.c0 = add(a.c0, b.c0); r.c1 = add(a.c1, b.c1); return r; }
HD Fq2 sub(const Fq2 &a, const Fq2 &b) { Fq2 r; r.c0 = sub(a.c0, b.c0); r.c1 = sub(a.c1, b.c1); return r; }
HD Fq2 neg(const Fq2 &a) { Fq2 r; r.c0 = neg(a.c0); r.c1 = neg(a.c1); return r; }
HD Fq2 dbl(const Fq2 &a) { return add(a, a); }

// (a0 + a1 u)(b0 + b1 u) = a0 b0 - a1 b1 + ((a0 + a1)(b0 + b1) - a0 b0 - a1 b1) u  (Karatsuba)
HD Fq2 mul(const Fq2 &a, const Fq2 &b) {
    Fq v0 = mul(a.c0, b.c0);
    Fq v1 = mul(a.c1, b.c1);
    Fq s = mul(add(a.c0, a.c1), add(b.c0, b.c1));
    Fq2 r;
    r.c0 = sub(v0, v1);
    r.c1 = sub(sub(s, v0), v1);
    return r;
}

// (a0 + a1 u)^2 = (a0 + a1)(a0 - a1) + 2 a0 a1 u
HD Fq2 sqr(const Fq2 &a) {
    Fq t = mul(a.c0, a.c1);
    Fq2 r;
    r.c0 = mul(add(a.c0, a.c1), sub(a.c0, a.c1));
    r.c1 = add(t, t);
    return r;
}

// 1/(a0 + a1 u) = (a0 - a1 u) / (a0^2 + a1^2); zero maps to zero.
HD_NOINL Fq2 inv(const Fq2 &a) {
    Fq n = inv(add(sqr(a.c0), sqr(a.c1)));
    Fq2 r;
    r.c0 = mul(a.c0, n);
    r.c1 = neg(mul(a.c1, n));
    return r;
}

HD Fq2 to_mont(const Fq2 &a) { Fq2 r; r.c0 = to_mont(a.c0); r.c1 = to_mont(a.c1); return r; }
HD Fq2 from_mont(const Fq2 &a) { Fq2 r; r.c0 = from_mont(a.c0); r.c1 = from_mont(a.c1); return r; }
HD void load(const u64 *src, Fq2 &a) { load(src, a.c0); load(src + 4, a.c1); }
HD void store(u64 *dst, const Fq2 &a) { store(dst, a.c0); store(dst + 4, a.c1); }

template <class F> HD F f_zero();
template <> HD Fq f_zero<Fq>() { return fp_zero<FqP>(); }
template <> HD Fq2 f_zero<Fq2>() { return fq2_zero(); }
template <class F> HD F f_one();
template <> HD Fq f_one<Fq>() { return fp_one<FqP>(); }
template <> HD Fq2 f_one<Fq2>() { return fq2_one(); }

// ---- points on y^2 = x^3 + b (a = 0): G1 over Fq, G2 over Fq2 --------------------------------
// Jacobian (X, Y, Z) stands for (X/Z^2, Y/Z^3); Z = 0 is infinity. Affine (0, 0) is infinity
// (not on either curve since b != 0), matching the array convention of relayer/zk/field.py.

template <class F>
struct Aff {
    F x, y;
};

template <class F>
struct Jac {
    F x, y, z;
};

template <class F>
HD Jac<F> jac_inf() {
    Jac<F> r;
    r.x = f_one<F>(); r.y = f_one<F>(); r.z = f_zero<F>();
    return r;
}

template <class F>
HD bool is_inf(const Jac<F> &p) { return is_zero(p.z); }

template <class F>
HD bool is_inf(const Aff<F> &p) { return is_zero(p.x) && is_zero(p.y); }

template <class F>
HD Jac<F> from_affine(const Aff<F> &p) {
    if (is_inf(p)) return jac_inf<F>();
    Jac<F> r;
    r.x = p.x; r.y = p.y; r.z = f_one<F>();
    return r;
}

template <class F>
HD Aff<F> aff_neg(const Aff<F> &p) {
    Aff<F> r;
    r.x = p.x; r.y = neg(p.y);  // neg(0) = 0 keeps infinity as (0, 0)
    return r;
}

template <class F>
HD Jac<F> jac_neg(const Jac<F> &p) {
    Jac<F> r = p;
    r.y = neg(p.y);
    return r;
}

// dbl-2009-l (Explicit-Formulas Database, a = 0): 2M + 5S.
template <class F>
HD_NOINL Jac<F> jac_dbl(const Jac<F> &p) {
    if (is_inf(p) || is_zero(p.y)) return jac_inf<F>();
    F A = sqr(p.x);
    F B = sqr(p.y);
    F C = sqr(B);
    F D = dbl(sub(sub(sqr(add(p.x, B)), A), C));
    F E = add(dbl(A), A);
    F Fv = sqr(E);
    Jac<F> r;
    r.x = sub(Fv, dbl(D));
    F C8 = dbl(dbl(dbl(C)));
    r.y = sub(mul(E, sub(D, r.x)), C8);
    r.z = dbl(mul(p.y, p.z));
    return r;
}

// add-2007-bl (EFD, a = 0): 11M + 5S; equal inputs fall back to doubling, opposite ones give infinity.
template <class F>
HD_NOINL Jac<F> jac_add(const Jac<F> &p, const Jac<F> &q) {
    if (is_inf(p)) return q;
    if (is_inf(q)) return p;
    F Z1Z1 = sqr(p.z);
    F Z2Z2 = sqr(q.z);
    F U1 = mul(p.x, Z2Z2);
    F U2 = mul(q.x, Z1Z1);
    F S1 = mul(mul(p.y, q.z), Z2Z2);
    F S2 = mul(mul(q.y, p.z), Z1Z1);
    F H = sub(U2, U1);
    F rr = dbl(sub(S2, S1));
    if (is_zero(H)) {
        if (is_zero(rr)) return jac_dbl(p);
        return jac_inf<F>();
    }
    F I = sqr(dbl(H));
    F J = mul(H, I);
    F V = mul(U1, I);
    Jac<F> r;
    r.x = sub(sub(sqr(rr), J), dbl(V));
    r.y = sub(mul(rr, sub(V, r.x)), dbl(mul(S1, J)));
    r.z = mul(sub(sub(sqr(add(p.z, q.z)), Z1Z1), Z2Z2), H);
    return r;
}

// madd-2007-bl (EFD, a = 0, Z2 = 1): 7M + 4S.
template <class F>
HD Jac<F> jac_add_aff(const Jac<F> &p, const Aff<F> &q) {
    if (is_inf(q)) return p;
    if (is_inf(p)) return from_affine(q);
    F Z1Z1 = sqr(p.z);
    F U2 = mul(q.x, Z1Z1);
    F S2 = mul(mul(q.y, p.z), Z1Z1);
    F H = sub(U2, p.x);
    F rr = dbl(sub(S2, p.y));
    if (is_zero(H)) {
        if (is_zero(rr)) return jac_dbl(p);
        return jac_inf<F>();
    }
    F HH = sqr(H);
    F I = dbl(dbl(HH));
    F J = mul(H, I);
    F V = mul(p.x, I);
    Jac<F> r;
    r.x = sub(sub(sqr(rr), J), dbl(V));
    r.y = sub(mul(rr, sub(V, r.x)), dbl(mul(p.y, J)));
    r.z = sub(sub(sqr(add(p.z, H)), Z1Z1), HH);
    return r;
}

// k * p for a small non-negative k (bucket offsets), left to right double and add.
template <class F>
HD Jac<F> jac_mul_small(const Jac<F> &p, u64 k) {
    Jac<F> r = jac_inf<F>();
    for (int j = 63; j >= 0; j--) {
        r = jac_dbl(r);
        if ((k >> j) & 1) r = jac_add(r, p);
    }
    return r;
}

// s * p for a 256-bit s (4 limbs), left to right double and add.
template <class F>
HD Jac<F> jac_mul_u256(const Jac<F> &p, const u64 *s) {
    Jac<F> r = jac_inf<F>();
    for (int i = 3; i >= 0; i--) {
        for (int j = 63; j >= 0; j--) {
            r = jac_dbl(r);
            if ((s[i] >> j) & 1) r = jac_add(r, p);
        }
    }
    return r;
}

// Affine (canonical or Montgomery, as stored) from Jacobian: (X/Z^2, Y/Z^3); infinity -> (0, 0).
template <class F>
HD Aff<F> jac_to_aff(const Jac<F> &p) {
    Aff<F> r;
    if (is_inf(p)) {
        r.x = f_zero<F>(); r.y = f_zero<F>();
        return r;
    }
    F zi = inv(p.z);
    F zi2 = sqr(zi);
    r.x = mul(p.x, zi2);
    r.y = mul(p.y, mul(zi2, zi));
    return r;
}

template <class F>
HD void load_aff(const u64 *src, Aff<F> &p) {
    load(src, p.x);
    load(src + F::LIMBS, p.y);
}

template <class F>
HD void store_aff(u64 *dst, const Aff<F> &p) {
    store(dst, p.x);
    store(dst + F::LIMBS, p.y);
}

template <class F>
HD void load_jac(const u64 *src, Jac<F> &p) {
    load(src, p.x);
    load(src + F::LIMBS, p.y);
    load(src + 2 * F::LIMBS, p.z);
}

template <class F>
HD void store_jac(u64 *dst, const Jac<F> &p) {
    store(dst, p.x);
    store(dst + F::LIMBS, p.y);
    store(dst + 2 * F::LIMBS, p.z);
}
