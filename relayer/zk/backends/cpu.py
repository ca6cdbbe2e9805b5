"""The `cpu` prover backend: numba kernels over 4 x 64-bit Montgomery limbs, on all cores.

MSM is Pippenger with signed digits, buckets summed batch-affine (one inversion per round of
pairwise additions), zero scalars skipped and one-scalars summed directly, windows in parallel;
NTT is radix-2 with cached twiddles; fixed-base multiplication uses windowed tables and sums each
scalar's table entries batch-affine. Kernels live in `relayer.zk.arith.kernels` (generated).
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from relayer.errors import BackendUnavailable, ProverError
from relayer.zk.backends.base import ProverBackend
from relayer.zk.backends.reference import check_domain, check_fr_array, check_g1_array, check_g2_array
from relayer.zk.field import Q, R, G1Point, G2Point, fr_root_of_unity, g1_to_array, g2_to_array

_R_INV_Q = pow(1 << 256, -1, Q)
_M64 = (1 << 64) - 1


def _u64_tuple(v: int) -> tuple[np.uint64, ...]:
    # numba types a tuple of np.uint64 as UniTuple(uint64, 4); Python ints would type as int64
    return tuple(np.uint64((v >> (64 * i)) & _M64) for i in range(4))


def _fr_mont(v: int) -> tuple[np.uint64, ...]:
    return _u64_tuple((v % R) * (1 << 256) % R)


def _int(t: Any) -> int:
    return sum(int(x) << (64 * i) for i, x in enumerate(t))


def _fq_from_mont(t: Any) -> int:
    return _int(t) * _R_INV_Q % Q


def _fq2_from_mont(t: Any) -> tuple[int, int]:
    return (_fq_from_mont(t[0]), _fq_from_mont(t[1]))


def _jac_to_affine_g1(p: Any) -> G1Point:
    x, y, z = (_fq_from_mont(c) for c in p)
    if z == 0:
        return None
    zi = pow(z, -1, Q)
    zi2 = zi * zi % Q
    return (x * zi2 % Q, y * zi2 * zi % Q)


def _fq2_mul(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
    return ((a[0] * b[0] - a[1] * b[1]) % Q, (a[0] * b[1] + a[1] * b[0]) % Q)


def _jac_to_affine_g2(p: Any) -> G2Point:
    x, y, z = (_fq2_from_mont(c) for c in p)
    if z == (0, 0):
        return None
    n = pow((z[0] * z[0] + z[1] * z[1]) % Q, -1, Q)
    zi = (z[0] * n % Q, (-z[1]) * n % Q)
    zi2 = _fq2_mul(zi, zi)
    return (_fq2_mul(x, zi2), _fq2_mul(y, _fq2_mul(zi2, zi)))


def choose_window(m: int) -> int:
    """Pippenger window minimising (windows) x (bucket adds + reduction adds) for m points."""
    if m <= 1:
        return 2
    best, best_cost = 2, math.inf
    for c in range(2, 21):
        # per point one batch-affine addition (~6M); per bucket a mixed and a full Jacobian
        # addition in the running-sum reduction (~27M), i.e. ~2.25 point additions per 2^c
        cost = (254 // c + 1) * (m + 2.25 * (1 << c))
        if cost < best_cost:
            best, best_cost = c, cost
    return best


def choose_fixed_window(n: int, g2: bool) -> int:
    """Fixed-base table window: minimise windows x (table entries + additions per scalar).
    A table entry is a Jacobian addition (~2.5 batch-affine additions); w is capped to keep the
    table under ~100 MB."""
    best, best_cost = 1, math.inf
    for w in range(1, 15 if g2 else 17):
        cost = -(-254 // w) * (2.5 * (1 << w) + n)
        if cost < best_cost:
            best, best_cost = w, cost
    return best


@dataclass(frozen=True)
class PreparedBases:
    """Bases in Montgomery affine form, with a flag per point at infinity."""

    group: str  # "g1" | "g2"
    mont: np.ndarray
    inf: np.ndarray  # bool (n,)

    @property
    def n(self) -> int:
        return int(self.mont.shape[0])


class CpuBackend(ProverBackend):
    name = "cpu"

    def __init__(self) -> None:
        from relayer.zk.arith import kernels

        self._k = kernels
        self._tw: dict[int, dict[str, np.ndarray]] = {}
        self._tw_lock = threading.Lock()

    @classmethod
    def check_available(cls) -> None:
        try:
            import numba  # noqa: F401
        except ImportError as exc:  # pragma: no cover - numba is a pinned dependency
            raise BackendUnavailable(f"the cpu backend needs numba ({exc}); run scripts/bootstrap") from exc

    def describe(self) -> str:
        import numba

        return f"cpu (numba {numba.__version__}, {numba.get_num_threads()} threads)"

    def _nchunks(self, n: int, per: int = 1024) -> int:
        import numba

        return max(1, min(-(-n // per), 4 * numba.get_num_threads()))

    # --- MSM --------------------------------------------------------------------------------
    def _prepare(self, group: str, canon: np.ndarray) -> PreparedBases:
        canon = np.ascontiguousarray(canon, dtype=np.uint64)
        prep = self._k.g1_prepare if group == "g1" else self._k.g2_prepare
        mont, status = prep(canon)
        bad = np.flatnonzero(status >= 2)
        if bad.size:
            i = int(bad[0])
            why = "has a coordinate >= q" if status[i] == 2 else "is not on the curve"
            raise ProverError(f"{group.upper()} base {i} {why} (bad proving key?); {bad.size} bad bases in all")
        return PreparedBases(group, mont, status == 1)

    def prepare_g1(self, bases: np.ndarray) -> PreparedBases:
        return self._prepare("g1", check_g1_array(bases))

    def prepare_g2(self, bases: np.ndarray) -> PreparedBases:
        return self._prepare("g2", check_g2_array(bases))

    def _msm(self, prep: PreparedBases, scalars: np.ndarray, group: str) -> Any:
        if not isinstance(prep, PreparedBases) or prep.group != group:
            raise ProverError(f"msm_{group} needs bases from prepare_{group}")
        scalars = np.ascontiguousarray(check_fr_array(scalars))
        m = scalars.shape[0]
        if m > prep.n:
            raise ProverError(f"{m} scalars for {prep.n} prepared bases")
        k = self._k
        kind = k.classify_scalars(scalars, prep.inf, m)
        ones = np.flatnonzero(kind == 1).astype(np.int64)
        gen = np.flatnonzero(kind == 2).astype(np.int64)
        jac_zeros = k.g1_jac_zeros if group == "g1" else k.g2_jac_zeros
        if gen.size:
            c = choose_window(int(gen.size))
            nwin = 254 // c + 1
            digits = k.signed_digits(scalars, gen, c, nwin)
            win = jac_zeros(nwin)
            (k.g1_msm_windows if group == "g1" else k.g2_msm_windows)(prep.mont, gen, digits, c, win)
        else:
            c, win = 1, jac_zeros(0)
        nch = self._nchunks(int(ones.size), 256)
        extra = jac_zeros(nch)
        if ones.size:
            (k.g1_sum_points if group == "g1" else k.g2_sum_points)(prep.mont, ones, nch, extra)
        return (k.g1_combine if group == "g1" else k.g2_combine)(win, c, extra)

    def msm_g1(self, bases: Any, scalars: np.ndarray) -> G1Point:
        return _jac_to_affine_g1(self._msm(bases, scalars, "g1"))

    def msm_g2(self, bases: Any, scalars: np.ndarray) -> G2Point:
        return _jac_to_affine_g2(self._msm(bases, scalars, "g2"))

    # --- fixed-base multiplication ----------------------------------------------------------
    def _fixed_base(self, group: str, base_arr: np.ndarray, scalars: np.ndarray) -> np.ndarray:
        k = self._k
        g1 = group == "g1"
        scalars = np.ascontiguousarray(check_fr_array(scalars))
        n = scalars.shape[0]
        prep = self._prepare(group, base_arr)
        if prep.inf[0] or n == 0:
            return (k.g1_aff_zeros if g1 else k.g2_aff_zeros)(n)
        w = choose_fixed_window(n, not g1)
        nwin = -(-254 // w)
        tab_jac = (k.g1_fb_table if g1 else k.g2_fb_table)(prep.mont, w, nwin)
        normalize = k.g1_normalize if g1 else k.g2_normalize
        tab = normalize(tab_jac, self._nchunks(tab_jac.shape[0]), False)
        out = (k.g1_aff_zeros if g1 else k.g2_aff_zeros)(n)
        (k.g1_fb_mul if g1 else k.g2_fb_mul)(tab, scalars, w, nwin, 512, out)
        return out

    def fixed_base_mul_g1(self, base: G1Point, scalars: np.ndarray) -> np.ndarray:
        return self._fixed_base("g1", g1_to_array([base]), scalars)

    def fixed_base_mul_g2(self, base: G2Point, scalars: np.ndarray) -> np.ndarray:
        return self._fixed_base("g2", g2_to_array([base]), scalars)

    # --- NTT ----------------------------------------------------------------------------------
    def _twiddles(self, n: int) -> dict[str, np.ndarray]:
        with self._tw_lock:
            if n in self._tw:
                return self._tw[n]
        k = self._k
        w = fr_root_of_unity(n)
        g = fr_root_of_unity(2 * n)
        half = max(n // 2, 1)
        nch = self._nchunks(n)
        t = {
            "fwd": k.fr_powers(_fr_mont(w), half, nch),
            "inv": k.fr_powers(_fr_mont(pow(w, -1, R)), half, nch),
            # forward coset: v[i] *= g^i before the NTT
            "coset": k.fr_powers(_fr_mont(g), n, nch),
            # inverse: v[i] *= 1/n after the iNTT; inverse coset: v[i] *= g^-i / n
            "n_inv": np.array(_fr_mont(pow(n, -1, R)), dtype=np.uint64),
        }
        cinv = k.fr_powers(_fr_mont(pow(g, -1, R)), n, nch)
        k.fr_scale_const(cinv, _fr_mont(pow(n, -1, R)))
        t["coset_inv"] = cinv
        # iNTT then coset NTT (compute_h): v[i] *= g^i / n in between
        cn = t["coset"].copy()
        k.fr_scale_const(cn, _fr_mont(pow(n, -1, R)))
        t["coset_over_n"] = cn
        with self._tw_lock:
            self._tw[n] = t
        return t

    def _ntt_mont(self, a: np.ndarray, inverse: bool, coset: bool) -> None:
        k = self._k
        n = a.shape[0]
        logn = check_domain(n)
        t = self._twiddles(n)
        if not inverse:
            if coset:
                k.fr_scale(a, t["coset"])
            k.fr_ntt_inplace(a, t["fwd"], logn)
        else:
            k.fr_ntt_inplace(a, t["inv"], logn)
            if coset:
                k.fr_scale(a, t["coset_inv"])
            else:
                k.fr_scale_const(a, tuple(t["n_inv"]))

    def ntt(self, values: np.ndarray, inverse: bool = False, coset: bool = False) -> np.ndarray:
        values = np.ascontiguousarray(check_fr_array(values, "NTT input"))
        check_domain(values.shape[0])
        a = self._k.fr_arr_to_mont(values)
        self._ntt_mont(a, inverse, coset)
        return self._k.fr_arr_from_mont(a)

    def compute_h(self, a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
        k = self._k
        arrs = [np.ascontiguousarray(check_fr_array(x, "QAP evaluations")) for x in (a, b, c)]
        n = arrs[0].shape[0]
        if any(x.shape[0] != n for x in arrs):
            raise ProverError(f"compute_h needs three vectors of one length, got {[x.shape[0] for x in arrs]}")
        logn = check_domain(n)
        t = self._twiddles(n)
        mont = []
        for x in arrs:
            m = k.fr_arr_to_mont(x)
            # evaluations on {w^i} -> coefficients -> evaluations on the odd coset {g w^j}
            k.fr_ntt_inplace(m, t["inv"], logn)
            k.fr_scale(m, t["coset_over_n"])
            k.fr_ntt_inplace(m, t["fwd"], logn)
            mont.append(m)
        k.fr_h_combine(mont[0], mont[1], mont[2])
        return k.fr_arr_from_mont(mont[0])

    def batch_inverse(self, values: np.ndarray) -> np.ndarray:
        values = np.ascontiguousarray(check_fr_array(values, "batch_inverse input"))
        k = self._k
        m = k.fr_arr_to_mont(values)
        return k.fr_arr_from_mont(k.fr_batch_inv(m, self._nchunks(m.shape[0])))
