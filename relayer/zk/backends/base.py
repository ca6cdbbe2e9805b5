"""The one small interface every prover backend implements: the hot loops of Groth16.

Data crosses this interface in the array conventions of `relayer.zk.field` (canonical, not
Montgomery, little-endian uint64 limbs); each backend converts to its own internal form.
Bases are *prepared* once (converted, uploaded to a device, precomputed) and the handle reused
across proofs, so that a proving key is converted once per process, not once per proof.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np

from relayer.errors import ProverError
from relayer.zk.field import G1Point, G2Point


class ProverBackend(ABC):
    name: ClassVar[str]

    @classmethod
    def check_available(cls) -> None:
        """Raise BackendUnavailable (with an install hint) if this backend cannot run here."""

    def describe(self) -> str:
        """One line on what runs (device name, cores...) for logs and benchmark JSON."""
        return self.name

    # --- multi-scalar multiplication -------------------------------------------------------
    @abstractmethod
    def prepare_g1(self, bases: np.ndarray) -> Any:
        """Take (n, 2, 4) affine G1 bases; return an opaque handle for msm_g1."""

    @abstractmethod
    def prepare_g2(self, bases: np.ndarray) -> Any:
        """Take (n, 2, 2, 4) affine G2 bases; return an opaque handle for msm_g2."""

    @abstractmethod
    def msm_g1(self, bases: Any, scalars: np.ndarray) -> G1Point:
        """sum_i scalars[i] * bases[i]; scalars (n, 4) are any 256-bit values, reduced mod r.
        `len(scalars)` may be smaller than the prepared bases: the first len(scalars) are used."""

    @abstractmethod
    def msm_g2(self, bases: Any, scalars: np.ndarray) -> G2Point:
        """As msm_g1, over G2."""

    # --- fixed-base batch multiplication (setup: powers of tau, key queries) -----------------
    @abstractmethod
    def fixed_base_mul_g1(self, base: G1Point, scalars: np.ndarray) -> np.ndarray:
        """[scalars[i]] * base for every i, as an (n, 2, 4) affine array (infinity = zeros).
        Scalars (n, 4) are any 256-bit values, reduced mod r."""

    @abstractmethod
    def fixed_base_mul_g2(self, base: G2Point, scalars: np.ndarray) -> np.ndarray:
        """As fixed_base_mul_g1, over G2: an (n, 2, 2, 4) affine array."""

    # --- NTT over Fr ------------------------------------------------------------------------
    @abstractmethod
    def ntt(self, values: np.ndarray, inverse: bool = False, coset: bool = False) -> np.ndarray:
        """Radix-2 NTT of an (n, 4) Fr vector, n a power of two, natural order in and out.

        Forward: out[j] = sum_i v[i] * (g * w^j)^i where w = primitive n-th root of unity
        (w = FR_ROOT_OF_UNITY_2_28^(2^(28 - log2 n))) and g = 1, or, if coset, g = the primitive
        2n-th root of unity (so the coset points are the odd powers of w_2n: snarkjs's convention,
        which lets our prover use snarkjs .zkey files unchanged). Inverse undoes the forward
        transform with the same `coset` flag exactly.
        """

    @abstractmethod
    def batch_inverse(self, values: np.ndarray) -> np.ndarray:
        """Elementwise inverse mod r of an (n, 4) Fr vector (zero maps to zero)."""

    # --- optional capability: witness, QAP and h resident where the MSMs run -----------------
    #: Declared (not discovered) by a backend that evaluates the QAP and h on its own device. The
    #: prover then calls load_witness once, prepare_qap once per key, evaluate_qap and h_resident per
    #: proof, and passes their handles to msm_g1/msm_g2 in place of arrays. Backends that leave it
    #: False keep the prover's host path (numba QAP evaluation, compute_h on arrays) unchanged.
    resident_qap: ClassVar[bool] = False

    def _no_resident(self, what: str) -> ProverError:
        return ProverError(f"backend {self.name!r} does not declare resident_qap: {what} is not available")

    def load_witness(self, w: np.ndarray) -> Any:
        """Take the checked witness as canonical (n, 4) limbs; return a handle msm_g1/msm_g2 accept
        as scalars (uploaded once, read by every MSM of the proof)."""
        raise self._no_resident("load_witness")

    def scalars_tail(self, scalars: Any, start: int) -> Any:
        """scalars[start:] for an array or a load_witness handle (the C query skips the public wires)."""
        return scalars[start:]

    def prepare_qap(self, row_ptr: np.ndarray, wires: np.ndarray, coefs: np.ndarray, domain: int, n_check: int) -> Any:
        """Keep a key's QAP coefficients for evaluate_qap. Row t = matrix·domain + row (matrix 0 = A,
        1 = B, 2 = C) holds entries row_ptr[t]..row_ptr[t+1] (row_ptr: int64, 3·domain + 1 offsets)
        of wire indices `wires` and canonical coefficients `coefs` (n, 4); the first n_check rows
        are checked A·B = C (0: the key has no C coefficients)."""
        raise self._no_resident("prepare_qap")

    def evaluate_qap(self, qap: Any, witness: Any) -> tuple[Any, int]:
        """(rows handle, first row < n_check with A·B ≠ C, or −1) for a load_witness handle; the
        rows hold A, B and C = A·B over the domain (snarkjs's convention) for h_resident."""
        raise self._no_resident("evaluate_qap")

    def h_resident(self, rows: Any) -> Any:
        """compute_h of evaluate_qap's rows, returned as a handle msm_g1 accepts as scalars."""
        raise self._no_resident("h_resident")

    def compute_h(self, a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
        """Evaluations d_j = A(x_j)·B(x_j) − C(x_j) at the odd points x_j = w_2n · w_n^j.

        a, b, c are evaluations of the QAP polynomials over the domain {w_n^i} (n = len(a), a
        power of two). Since Z(x) = x^n − 1 equals −2 at every x_j, h(x_j) = −d_j/2; the
        proving key's H query absorbs that constant and the Lagrange basis over the coset
        (snarkjs zkey section 9 layout), so the prover takes sum_j d_j · H_j as one MSM.
        Backends override this with a fused version; this generic one uses ntt().
        """
        from relayer.zk.field import R, ints_to_limbs, limbs_to_ints

        ca = self.ntt(self.ntt(a, inverse=True), coset=True)
        cb = self.ntt(self.ntt(b, inverse=True), coset=True)
        cc = self.ntt(self.ntt(c, inverse=True), coset=True)
        va, vb, vc = limbs_to_ints(ca), limbs_to_ints(cb), limbs_to_ints(cc)
        return ints_to_limbs([(x * y - z) % R for x, y, z in zip(va, vb, vc)])
