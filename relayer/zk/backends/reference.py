"""The `reference` prover backend: plain Python ints and py_ecc, slow and obviously correct.

It is the oracle of the conformance suite (tests/test_backend_conformance.py) and usable for
tiny circuits; MSM is a naive sum of scalar multiplications, NTT a textbook radix-2 transform.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from py_ecc import optimized_bn128 as _b

from relayer.errors import ProverError
from relayer.zk import curve
from relayer.zk.backends.base import ProverBackend
from relayer.zk.field import (
    FR_TWO_ADICITY,
    R,
    G1Point,
    G2Point,
    array_to_g1,
    array_to_g2,
    fr_root_of_unity,
    g1_to_array,
    g2_to_array,
    ints_to_limbs,
    limbs_to_ints,
)


@dataclass(frozen=True)
class _Prepared:
    group: str  # "g1" | "g2"
    points: tuple[Any, ...]  # py_ecc Jacobian points (infinity = Z1/Z2)


def check_g1_array(bases: np.ndarray) -> np.ndarray:
    if not isinstance(bases, np.ndarray) or bases.ndim != 3 or bases.shape[1:] != (2, 4):
        raise ProverError(f"G1 bases must be an (n, 2, 4) uint64 array, got {getattr(bases, 'shape', type(bases))}")
    return bases


def check_g2_array(bases: np.ndarray) -> np.ndarray:
    if not isinstance(bases, np.ndarray) or bases.ndim != 4 or bases.shape[1:] != (2, 2, 4):
        raise ProverError(f"G2 bases must be an (n, 2, 2, 4) uint64 array, got {getattr(bases, 'shape', type(bases))}")
    return bases


def check_fr_array(values: np.ndarray, what: str = "scalars") -> np.ndarray:
    if not isinstance(values, np.ndarray) or values.ndim != 2 or values.shape[1] != 4:
        raise ProverError(f"{what} must be an (n, 4) uint64 array, got {getattr(values, 'shape', type(values))}")
    if values.dtype != np.uint64:
        raise ProverError(f"{what} must have dtype uint64, got {values.dtype}")
    return values


def check_domain(n: int) -> int:
    """log2(n) for a power-of-two NTT size; ProverError otherwise."""
    k = n.bit_length() - 1
    if n < 1 or (1 << k) != n:
        raise ProverError(f"NTT size must be a power of two, got {n}")
    if k >= FR_TWO_ADICITY:
        # the coset is built from 2n-th roots of unity, and Fr has them only up to 2^28
        raise ProverError(f"NTT size 2^{k} is too large: Fr supports domains up to 2^{FR_TWO_ADICITY - 1}")
    return k


def ntt_ints(v: list[int], w: int) -> list[int]:
    """Iterative radix-2 DIT NTT over Fr: out[j] = sum_i v[i] w^(ij), natural order."""
    n = len(v)
    logn = check_domain(n)
    a = [v[int(format(i, f"0{logn}b")[::-1], 2) if logn else 0] % R for i in range(n)]
    half = 1
    while half < n:
        wm = pow(w, n // (2 * half), R)
        for blk in range(0, n, 2 * half):
            t = 1
            for j in range(blk, blk + half):
                u, x = a[j], a[j + half] * t % R
                a[j], a[j + half] = (u + x) % R, (u - x) % R
                t = t * wm % R
        half *= 2
    return a


class ReferenceBackend(ProverBackend):
    name = "reference"

    def describe(self) -> str:
        return "reference (py_ecc optimized_bn128, pure Python)"

    def prepare_g1(self, bases: np.ndarray) -> _Prepared:
        pts = array_to_g1(check_g1_array(bases))
        for i, p in enumerate(pts):
            if not curve.is_on_curve_g1(p):
                raise ProverError(f"G1 base {i} is not a point of BN254 G1 (bad proving key?)")
        return _Prepared("g1", tuple(curve.to_py_ecc_g1(p) for p in pts))

    def prepare_g2(self, bases: np.ndarray) -> _Prepared:
        pts = array_to_g2(check_g2_array(bases))
        for i, p in enumerate(pts):
            if not curve.is_on_curve_g2(p):
                raise ProverError(f"G2 base {i} is not a point of BN254 G2 (bad proving key?)")
        return _Prepared("g2", tuple(curve.to_py_ecc_g2(p) for p in pts))

    def _msm(self, prep: _Prepared, scalars: np.ndarray, zero: Any) -> Any:
        group = "g1" if zero is _b.Z1 else "g2"
        if not isinstance(prep, _Prepared) or prep.group != group:
            raise ProverError(f"msm_{group} needs bases from prepare_{group}")
        ks = limbs_to_ints(check_fr_array(scalars))
        if len(ks) > len(prep.points):
            raise ProverError(f"{len(ks)} scalars for {len(prep.points)} prepared bases")
        acc = zero
        for p, k in zip(prep.points, ks):
            k %= R
            if k:
                acc = _b.add(acc, _b.multiply(p, k))
        return acc

    def msm_g1(self, bases: Any, scalars: np.ndarray) -> G1Point:
        return curve.from_py_ecc_g1(self._msm(bases, scalars, _b.Z1))

    def msm_g2(self, bases: Any, scalars: np.ndarray) -> G2Point:
        return curve.from_py_ecc_g2(self._msm(bases, scalars, _b.Z2))

    def fixed_base_mul_g1(self, base: G1Point, scalars: np.ndarray) -> np.ndarray:
        if not curve.is_on_curve_g1(base):
            raise ProverError("fixed-base G1 point is not on the curve")
        ks = limbs_to_ints(check_fr_array(scalars))
        return g1_to_array([curve.g1_mul(base, k) for k in ks]) if ks else np.zeros((0, 2, 4), np.uint64)

    def fixed_base_mul_g2(self, base: G2Point, scalars: np.ndarray) -> np.ndarray:
        if not curve.is_on_curve_g2(base):
            raise ProverError("fixed-base G2 point is not on the twist curve")
        ks = limbs_to_ints(check_fr_array(scalars))
        return g2_to_array([curve.g2_mul(base, k) for k in ks]) if ks else np.zeros((0, 2, 2, 4), np.uint64)

    def ntt(self, values: np.ndarray, inverse: bool = False, coset: bool = False) -> np.ndarray:
        v = [x % R for x in limbs_to_ints(check_fr_array(values, "NTT input"))]
        n = len(v)
        check_domain(n)
        w = fr_root_of_unity(n)
        g = fr_root_of_unity(2 * n) if coset else 1
        if not inverse:
            if coset:
                v = [x * pow(g, i, R) % R for i, x in enumerate(v)]
            out = ntt_ints(v, w)
        else:
            n_inv = pow(n, -1, R)
            out = [x * n_inv % R for x in ntt_ints(v, pow(w, -1, R))]
            if coset:
                g_inv = pow(g, -1, R)
                out = [x * pow(g_inv, i, R) % R for i, x in enumerate(out)]
        return ints_to_limbs(out, n)

    def batch_inverse(self, values: np.ndarray) -> np.ndarray:
        v = limbs_to_ints(check_fr_array(values, "batch_inverse input"))
        out = [pow(x, -1, R) if x % R else 0 for x in v]
        return ints_to_limbs(out, len(v)) if out else np.zeros((0, 4), np.uint64)
