// Kernels of the `gpu` prover backend: MSM (Pippenger, signed digits), NTT over Fr, fixed-base mul.
// Each kernel is one index-parallel body. Under CUDA it is a __global__ over a 1-D grid; under a
// plain C++ compiler the same body runs in a loop, so the host tests (tests/test_gpu_kernels_host.py)
// execute exactly this file. Kernels use no shared memory or warp intrinsics, and the one atomic
// (a minimum, in qap_check) does not depend on the order of the threads, so the two builds compute
// the same thing; the host build can run a launch's threads in reverse or scattered order to show
// that no kernel depends on that order (tests/test_gpu_kernels_host.py).
// Array layouts: see relayer/zk/backends/gpu.py.
#include "gpu_field.cuh"

#ifdef __CUDACC__
#define KERNEL(name, ...)                                                         \
    extern "C" __global__ void name(i64 n_threads, __VA_ARGS__) {                 \
        i64 idx = (i64)blockIdx.x * (i64)blockDim.x + (i64)threadIdx.x;           \
        if (idx >= n_threads) return;                                             \
        [&]() {
#define KERNEL_END \
    }();           \
    }
#else
// Host build: the "threads" of a launch run one after another, in an order the tests choose
// (host_set_thread_order): 0 ascending, 1 descending, 2 a scattered permutation i -> (a*i + b) mod n.
// A kernel whose result depends on the order of its threads (one thread reading what another writes in
// the same launch, an unsynchronised read-modify-write) then gives different results on the host, as it
// would on the GPU, instead of passing by the luck of the ascending loop.
static int g_host_thread_order = 0;
extern "C" void host_set_thread_order(i64 order) { g_host_thread_order = (int)order; }
static u64 host_gcd(u64 a, u64 b) {
    while (b) { u64 t = a % b; a = b; b = t; }
    return a;
}
struct HostThreadOrder {
    u64 n, a, b;
    int mode;
    explicit HostThreadOrder(i64 n_threads) : n((u64)n_threads), a(1), b(0), mode(g_host_thread_order) {
        if (mode == 2 && n > 1) {
            a = ((n * 5) / 8) | 1;  // near n/golden ratio, odd, coprime with n: neighbours land far apart
            while (host_gcd(a, n) != 1) a += 2;
            b = n / 3;
        }
    }
    i64 at(i64 j) const {
        if (mode == 1) return (i64)(n - 1 - (u64)j);
        if (mode == 2) return (i64)(((u64)j * a + b) % n);  // n <= 2^31: no overflow
        return j;
    }
};
#define KERNEL(name, ...)                                                         \
    extern "C" void name(i64 n_threads, __VA_ARGS__) {                            \
        HostThreadOrder order_(n_threads);                                        \
        for (i64 j_ = 0; j_ < n_threads; ++j_) {                                  \
            i64 idx = order_.at(j_);                                              \
            [&]() {
#define KERNEL_END \
    }();           \
    }              \
    }
#endif

#define SENTINEL_KEY 0x7fffffff

typedef Jac<Fq> G1J;
typedef Aff<Fq> G1A;
typedef Jac<Fq2> G2J;
typedef Aff<Fq2> G2A;

// ---- element-wise conversions ----------------------------------------------------------------
// n_threads = number of field elements; in and out may alias.

KERNEL(fq_to_mont, const u64 *in, u64 *out)
    Fq a; load(in + 4 * idx, a);
    store(out + 4 * idx, to_mont(a));
KERNEL_END

KERNEL(fq_from_mont, const u64 *in, u64 *out)
    Fq a; load(in + 4 * idx, a);
    store(out + 4 * idx, from_mont(a));
KERNEL_END

// Any 256-bit value -> reduced mod r -> Montgomery form.
KERNEL(fr_to_mont, const u64 *in, u64 *out)
    Fr a; load(in + 4 * idx, a);
    store(out + 4 * idx, to_mont(fp_reduce_full(a)));
KERNEL_END

KERNEL(fr_from_mont, const u64 *in, u64 *out)
    Fr a; load(in + 4 * idx, a);
    store(out + 4 * idx, from_mont(a));
KERNEL_END

// ---- Fr vector kernels (NTT, batch inverse, h) ----------------------------------------------------

KERNEL(fr_mul_vec, const u64 *a, const u64 *b, u64 *out)
    Fr x, y; load(a + 4 * idx, x); load(b + 4 * idx, y);
    store(out + 4 * idx, mul(x, y));
KERNEL_END

KERNEL(fr_add_vec, const u64 *a, const u64 *b, u64 *out)
    Fr x, y; load(a + 4 * idx, x); load(b + 4 * idx, y);
    store(out + 4 * idx, add(x, y));
KERNEL_END

KERNEL(fr_sub_vec, const u64 *a, const u64 *b, u64 *out)
    Fr x, y; load(a + 4 * idx, x); load(b + 4 * idx, y);
    store(out + 4 * idx, sub(x, y));
KERNEL_END

// Elementwise Montgomery inverse (Fermat); zero -> zero.
KERNEL(fr_inv_vec, const u64 *in, u64 *out)
    Fr a; load(in + 4 * idx, a);
    store(out + 4 * idx, inv(a));
KERNEL_END

KERNEL(fq_inv_vec, const u64 *in, u64 *out)
    Fq a; load(in + 4 * idx, a);
    store(out + 4 * idx, inv(a));
KERNEL_END

// out[i] = base^i (Montgomery); base is one Montgomery element.
KERNEL(fr_powers, const u64 *base, u64 *out)
    Fr b; load(base, b);
    u64 e = (u64)idx;
    store(out + 4 * idx, fp_pow_u64<FrP>(b, e));
KERNEL_END

// v[i] *= mult * base^i in place (coset shifts and the 1/n of the inverse NTT, fused).
KERNEL(fr_scale_pow, u64 *v, const u64 *base, const u64 *mult)
    Fr b, m, x; load(base, b); load(mult, m); load(v + 4 * idx, x);
    Fr f = mul(m, fp_pow_u64<FrP>(b, (u64)idx));
    store(v + 4 * idx, mul(x, f));
KERNEL_END

// out[bitrev(i)] = in[i] over log_n bits (in and out must not alias).
KERNEL(fr_bitrev, const u64 *in, u64 *out, i64 log_n)
    u64 i = (u64)idx, r = 0;
    for (i64 k = 0; k < log_n; k++) r |= ((i >> k) & 1ULL) << (log_n - 1 - k);
    const u64 *s = in + 4 * i;
    u64 *d = out + 4 * r;
    d[0] = s[0]; d[1] = s[1]; d[2] = s[2]; d[3] = s[3];
KERNEL_END

// One radix-2 decimation-in-time stage over bit-reversed input: blocks of 2m, m = 2^log_m.
// tw[k] = w_n^k for k < n/2; butterfly j of a block uses w_{2m}^j = w_n^(j * n / 2m).
// n_threads = n/2 butterflies.
KERNEL(fr_ntt_stage, u64 *v, const u64 *tw, i64 log_m, i64 log_n)
    i64 m = (i64)1 << log_m;
    i64 blk = idx >> log_m;
    i64 j = idx & (m - 1);
    i64 i0 = (blk << (log_m + 1)) + j;
    i64 i1 = i0 + m;
    Fr w; load(tw + 4 * (j << (log_n - 1 - log_m)), w);
    Fr a, b; load(v + 4 * i0, a); load(v + 4 * i1, b);
    Fr t = mul(w, b);
    store(v + 4 * i0, add(a, t));
    store(v + 4 * i1, sub(a, t));
KERNEL_END

// compute_h's last step: out = a*b - c (Montgomery).
KERNEL(fr_h_combine, const u64 *a, const u64 *b, const u64 *c, u64 *out)
    Fr x, y, z; load(a + 4 * idx, x); load(b + 4 * idx, y); load(c + 4 * idx, z);
    store(out + 4 * idx, sub(mul(x, y), z));
KERNEL_END

// ---- QAP evaluation (the prover's A, B, C rows over the domain) ------------------------------------
// The key's coefficients in CSR order: row t = matrix * domain + row (matrix 0 = A, 1 = B, 2 = C),
// entries [row_ptr[t], row_ptr[t+1]) with wire index and Montgomery coefficient. One thread per row:
// rows are independent, so no atomics; out is [3][domain] Montgomery elements (empty rows -> 0).
KERNEL(qap_rows, const i64 *row_ptr, const u32 *wires, const u64 *coefs, const u64 *w, u64 *out)
    Fr acc = fp_zero<FrP>();
    for (i64 k = row_ptr[idx]; k < row_ptr[idx + 1]; k++) {
        Fr c, x;
        load(coefs + 4 * k, c);
        load(w + 4 * (i64)wires[k], x);
        acc = add(acc, mul(c, x));
    }
    store(out + 4 * idx, acc);
KERNEL_END

// Minimum of *p and v, stored in *p (the first unsatisfied constraint wins whatever the thread order).
HD void atomic_min_u64(u64 *p, u64 v) {
#ifdef __CUDA_ARCH__
    atomicMin((unsigned long long *)p, (unsigned long long)v);
#else
    if (v < *p) *p = v;
#endif
}

// Satisfaction check of the first n_threads constraints: *bad = min(*bad, every index i with
// A_i * B_i != C_i); the caller starts *bad at n_threads (= no bad row). abc as written by qap_rows.
KERNEL(qap_check, const u64 *abc, i64 domain, u64 *bad)
    Fr a, b, c;
    load(abc + 4 * idx, a);
    load(abc + 4 * (domain + idx), b);
    load(abc + 4 * (2 * domain + idx), c);
    if (!eq(mul(a, b), c)) atomic_min_u64(bad, (u64)idx);
KERNEL_END

// ---- MSM: Pippenger with signed window digits ----------------------------------------------------
// Digits: for each scalar (reduced mod r) and window w (c bits), d in [-(2^(c-1) - 1), 2^(c-1)];
// key = w * 2^(c-1) + |d| - 1 (the bucket), val = point index | sign << 31; d = 0 -> SENTINEL_KEY.
// n_threads = number of scalars n; keys/vals are [n_windows][n].

KERNEL(msm_digits, const u64 *scalars, i64 c, i64 n_windows, i32 *keys, u32 *vals)
    Fr s; load(scalars + 4 * idx, s);
    s = fp_reduce_full(s);
    const u64 full = 1ULL << c, half = full >> 1;
    u64 carry = 0;
    for (i64 w = 0; w < n_windows; w++) {
        i64 bit = w * c;
        i64 limb = bit >> 6, off = bit & 63;
        u64 chunk = 0;
        if (limb < 4) {
            chunk = s.v[limb] >> off;
            if (off + c > 64 && limb + 1 < 4) chunk |= s.v[limb + 1] << (64 - off);
        }
        chunk = (chunk & (full - 1)) + carry;
        u64 mag;
        u32 sign;
        if (chunk > half) {
            mag = full - chunk;  // digit chunk - 2^c < 0
            sign = 1;
            carry = 1;
        } else {
            mag = chunk;
            sign = 0;
            carry = 0;
        }
        i64 o = w * n_threads + idx;
        if (mag == 0) {
            keys[o] = SENTINEL_KEY;
            vals[o] = 0;
        } else {
            keys[o] = (i32)(w * (i64)half + (i64)(mag - 1));
            vals[o] = (u32)idx | (sign << 31);
        }
    }
KERNEL_END

// Bucket accumulation, first level: thread t sums the signed affine bases of sorted entries
// [seg_start[t], seg_end[t]) into one Jacobian point (empty -> infinity).
template <class F>
HD void bucket_sum_body(i64 t, const u64 *bases, const u32 *vals, const i64 *seg_start,
                        const i64 *seg_end, u64 *out) {
    Jac<F> acc = jac_inf<F>();
    for (i64 k = seg_start[t]; k < seg_end[t]; k++) {
        u32 v = vals[k];
        Aff<F> p;
        load_aff(bases + (i64)(v & 0x7fffffffu) * 2 * F::LIMBS, p);
        if (v >> 31) p = aff_neg(p);
        acc = jac_add_aff(acc, p);
    }
    store_jac(out + t * 3 * F::LIMBS, acc);
}

KERNEL(msm_bucket_sum_g1, const u64 *bases, const u32 *vals, const i64 *seg_start,
       const i64 *seg_end, u64 *out)
    bucket_sum_body<Fq>(idx, bases, vals, seg_start, seg_end, out);
KERNEL_END

KERNEL(msm_bucket_sum_g2, const u64 *bases, const u32 *vals, const i64 *seg_start,
       const i64 *seg_end, u64 *out)
    bucket_sum_body<Fq2>(idx, bases, vals, seg_start, seg_end, out);
KERNEL_END

// Sum of Jacobian points in[seg_start[t] .. seg_end[t]) -> out[t] (later reduction levels).
template <class F>
HD void jac_segment_sum_body(i64 t, const u64 *in, const i64 *seg_start, const i64 *seg_end,
                             u64 *out) {
    Jac<F> acc = jac_inf<F>();
    for (i64 k = seg_start[t]; k < seg_end[t]; k++) {
        Jac<F> p;
        load_jac(in + k * 3 * F::LIMBS, p);
        acc = jac_add(acc, p);
    }
    store_jac(out + t * 3 * F::LIMBS, acc);
}

KERNEL(jac_segment_sum_g1, const u64 *in, const i64 *seg_start, const i64 *seg_end, u64 *out)
    jac_segment_sum_body<Fq>(idx, in, seg_start, seg_end, out);
KERNEL_END

KERNEL(jac_segment_sum_g2, const u64 *in, const i64 *seg_start, const i64 *seg_end, u64 *out)
    jac_segment_sum_body<Fq2>(idx, in, seg_start, seg_end, out);
KERNEL_END

// Bucket reduction: window w holds buckets B_0..B_{nb-1} (bucket j has digit j+1) and we need
// sum_j (j+1) B_j. Thread t = (w, s) takes buckets [lo, hi), lo = s*seg_len, and returns
// sum_{j in [lo,hi)} (j - lo + 1) B_j  (running sum from the top)  +  lo * sum_{j in [lo,hi)} B_j.
// Summing the threads of a window gives the window's total. n_threads = n_windows * segs_per_win.
template <class F>
HD void bucket_reduce_body(i64 t, const u64 *buckets, i64 nb, i64 seg_len, i64 segs_per_win,
                           u64 *out) {
    i64 w = t / segs_per_win, s = t % segs_per_win;
    i64 lo = s * seg_len;
    i64 hi = lo + seg_len < nb ? lo + seg_len : nb;
    Jac<F> running = jac_inf<F>(), acc = jac_inf<F>();
    for (i64 j = hi - 1; j >= lo; j--) {
        Jac<F> b;
        load_jac(buckets + (w * nb + j) * 3 * F::LIMBS, b);
        running = jac_add(running, b);
        acc = jac_add(acc, running);
    }
    if (lo > 0) acc = jac_add(acc, jac_mul_small(running, (u64)lo));
    store_jac(out + t * 3 * F::LIMBS, acc);
}

KERNEL(msm_bucket_reduce_g1, const u64 *buckets, i64 nb, i64 seg_len, i64 segs_per_win, u64 *out)
    bucket_reduce_body<Fq>(idx, buckets, nb, seg_len, segs_per_win, out);
KERNEL_END

KERNEL(msm_bucket_reduce_g2, const u64 *buckets, i64 nb, i64 seg_len, i64 segs_per_win, u64 *out)
    bucket_reduce_body<Fq2>(idx, buckets, nb, seg_len, segs_per_win, out);
KERNEL_END

// Window combination (one thread): sum_w 2^(c*w) W_w by Horner from the top window.
template <class F>
HD void window_combine_body(const u64 *wins, i64 n_windows, i64 c, u64 *out) {
    Jac<F> acc = jac_inf<F>();
    for (i64 w = n_windows - 1; w >= 0; w--) {
        for (i64 k = 0; k < c; k++) acc = jac_dbl(acc);
        Jac<F> p;
        load_jac(wins + w * 3 * F::LIMBS, p);
        acc = jac_add(acc, p);
    }
    store_jac(out, acc);
}

KERNEL(msm_window_combine_g1, const u64 *wins, i64 n_windows, i64 c, u64 *out)
    window_combine_body<Fq>(wins, n_windows, c, out);
KERNEL_END

KERNEL(msm_window_combine_g2, const u64 *wins, i64 n_windows, i64 c, u64 *out)
    window_combine_body<Fq2>(wins, n_windows, c, out);
KERNEL_END

// Jacobian (Montgomery) -> canonical affine, infinity -> (0, 0). One thread per point.
template <class F>
HD void jac_to_affine_body(i64 t, const u64 *in, u64 *out) {
    Jac<F> p;
    load_jac(in + t * 3 * F::LIMBS, p);
    Aff<F> a = jac_to_aff(p);
    a.x = from_mont(a.x);
    a.y = from_mont(a.y);
    store_aff(out + t * 2 * F::LIMBS, a);
}

KERNEL(jac_to_affine_g1, const u64 *in, u64 *out)
    jac_to_affine_body<Fq>(idx, in, out);
KERNEL_END

KERNEL(jac_to_affine_g2, const u64 *in, u64 *out)
    jac_to_affine_body<Fq2>(idx, in, out);
KERNEL_END

// On-curve check of Montgomery affine points: bad[t] = 1 unless y^2 = x^3 + b or (0, 0).
// b (Montgomery, one element of F) comes from the host: 3 for G1, 3/(9+u) for G2.
template <class F>
HD void on_curve_body(i64 t, const u64 *pts, const u64 *b_coef, u32 *bad) {
    Aff<F> p;
    load_aff(pts + t * 2 * F::LIMBS, p);
    F b;
    load(b_coef, b);
    if (is_inf(p)) {
        bad[t] = 0;
        return;
    }
    F lhs = sqr(p.y);
    F rhs = add(mul(sqr(p.x), p.x), b);
    bad[t] = eq(lhs, rhs) ? 0u : 1u;
}

KERNEL(g1_check_curve, const u64 *pts, const u64 *b_coef, u32 *bad)
    on_curve_body<Fq>(idx, pts, b_coef, bad);
KERNEL_END

KERNEL(g2_check_curve, const u64 *pts, const u64 *b_coef, u32 *bad)
    on_curve_body<Fq2>(idx, pts, b_coef, bad);
KERNEL_END

// ---- fixed-base multiplication (setup) -------------------------------------------------------
// Table T[w][d] = (d * 2^(8w)) * B for w < 32, d < 256 (Jacobian, Montgomery); then each scalar
// is the sum over its 32 bytes of T[w][byte_w]: 32 additions instead of ~380 doublings/additions.

template <class F>
HD void fb_table_body(i64 t, const u64 *base_aff, u64 *table) {
    Aff<F> b;
    load_aff(base_aff, b);
    i64 w = t >> 8, d = t & 255;
    u64 s[4] = {0, 0, 0, 0};
    i64 bit = 8 * w;
    s[bit >> 6] = (u64)d << (bit & 63);  // 8w is a multiple of 8: the byte never straddles limbs
    Jac<F> r = jac_mul_u256(from_affine(b), s);
    store_jac(table + t * 3 * F::LIMBS, r);
}

KERNEL(fb_table_g1, const u64 *base_aff, u64 *table)
    fb_table_body<Fq>(idx, base_aff, table);
KERNEL_END

KERNEL(fb_table_g2, const u64 *base_aff, u64 *table)
    fb_table_body<Fq2>(idx, base_aff, table);
KERNEL_END

// out[i] = canonical affine of (scalars[i] mod r) * B using the table.
template <class F>
HD void fb_mul_body(i64 t, const u64 *table, const u64 *scalars, u64 *out) {
    Fr s;
    load(scalars + 4 * t, s);
    s = fp_reduce_full(s);
    Jac<F> acc = jac_inf<F>();
    for (int w = 0; w < 32; w++) {
        u64 d = (s.v[w >> 3] >> (8 * (w & 7))) & 255;
        if (d == 0) continue;
        Jac<F> p;
        load_jac(table + ((i64)w * 256 + (i64)d) * 3 * F::LIMBS, p);
        acc = jac_add(acc, p);
    }
    Aff<F> a = jac_to_aff(acc);
    a.x = from_mont(a.x);
    a.y = from_mont(a.y);
    store_aff(out + t * 2 * F::LIMBS, a);
}

KERNEL(fb_mul_g1, const u64 *table, const u64 *scalars, u64 *out)
    fb_mul_body<Fq>(idx, table, scalars, out);
KERNEL_END

KERNEL(fb_mul_g2, const u64 *table, const u64 *scalars, u64 *out)
    fb_mul_body<Fq2>(idx, table, scalars, out);
KERNEL_END

// ---- primitive test kernels (host harness and device self-check) -------------------------------
// op codes: 0 add, 1 dbl, 2 add-affine (b read as affine), 3 neg. In/out Montgomery Jacobian.

template <class F>
HD void point_op_body(i64 t, i64 op, const u64 *a, const u64 *b, u64 *out) {
    Jac<F> p, q, r;
    load_jac(a + t * 3 * F::LIMBS, p);
    if (op == 0) {
        load_jac(b + t * 3 * F::LIMBS, q);
        r = jac_add(p, q);
    } else if (op == 1) {
        r = jac_dbl(p);
    } else if (op == 2) {
        Aff<F> qa;
        load_aff(b + t * 2 * F::LIMBS, qa);
        r = jac_add_aff(p, qa);
    } else {
        r = jac_neg(p);
    }
    store_jac(out + t * 3 * F::LIMBS, r);
}

KERNEL(g1_point_op, i64 op, const u64 *a, const u64 *b, u64 *out)
    point_op_body<Fq>(idx, op, a, b, out);
KERNEL_END

KERNEL(g2_point_op, i64 op, const u64 *a, const u64 *b, u64 *out)
    point_op_body<Fq2>(idx, op, a, b, out);
KERNEL_END

// op codes: 0 add, 1 sub, 2 mul, 3 sqr, 4 inv, 5 neg (Montgomery in, Montgomery out).
template <class F>
HD void field_op_body(i64 t, i64 op, const u64 *a, const u64 *b, u64 *out) {
    F x, y, r;
    load(a + t * F::LIMBS, x);
    load(b + t * F::LIMBS, y);
    if (op == 0) r = add(x, y);
    else if (op == 1) r = sub(x, y);
    else if (op == 2) r = mul(x, y);
    else if (op == 3) r = sqr(x);
    else if (op == 4) r = inv(x);
    else r = neg(x);
    store(out + t * F::LIMBS, r);
}

KERNEL(fq_op, i64 op, const u64 *a, const u64 *b, u64 *out)
    field_op_body<Fq>(idx, op, a, b, out);
KERNEL_END

KERNEL(fr_op, i64 op, const u64 *a, const u64 *b, u64 *out)
    field_op_body<Fr>(idx, op, a, b, out);
KERNEL_END

KERNEL(fq2_op, i64 op, const u64 *a, const u64 *b, u64 *out)
    field_op_body<Fq2>(idx, op, a, b, out);
KERNEL_END
