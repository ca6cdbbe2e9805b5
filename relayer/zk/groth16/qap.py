"""R1CS → QAP: the Lagrange-basis polynomials of the Groth16 key, in snarkjs's layout.

Rows 0..m-1 are the constraints; rows m..m+nPublic bind the public signals (incl. the constant
wire 0): an extra A-row with coefficient 1 on that wire and nothing in B or C, exactly as snarkjs
`zkey_new.js` does, so that the IC points are linearly independent of the rest. The domain is the
smallest power of two ≥ m + nPublic + 1 (snarkjs `cirPower`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from relayer.errors import ProverError
from relayer.zk.field import R, fr_root_of_unity
from relayer.zk.r1cs import R1CS

# (matrix, row, wire, coefficient): matrix 0 = A, 1 = B, 2 = C; the order of zkey section 4.
Coef = tuple[int, int, int, int]


def domain_size_for(n_constraints: int, n_public: int) -> int:
    need = n_constraints + n_public + 1
    size = 1
    while size < need:
        size <<= 1
    # snarkjs needs 2n odd points, i.e. a 2n-th root of unity: n ≤ 2^27
    if size > 1 << 27:
        raise ProverError(f"circuit needs a domain of {size} > 2^27 points; BN254 Fr supports at most 2^28")
    return size


@dataclass(frozen=True)
class QAP:
    n_wires: int
    n_public: int
    n_constraints: int  # R1CS constraints, without the binding rows
    domain_size: int
    coeffs: tuple[Coef, ...]  # sorted by (matrix, row); C rows optional (absent when read from a .zkey)
    has_c: bool = True

    @property
    def n_rows(self) -> int:
        return self.n_constraints + self.n_public + 1


def from_r1cs(r1cs: R1CS) -> QAP:
    if r1cs.prime != R:
        raise ProverError("the R1CS is not over the BN254 scalar field")
    n_pub = r1cs.n_public
    m = r1cs.n_constraints
    coeffs: list[Coef] = []
    for mat in range(3):
        for row, con in enumerate(r1cs.constraints):
            for wire, v in sorted(con[mat].items()):
                v %= R
                if v:
                    if not 0 <= wire < r1cs.n_wires:
                        raise ProverError(f"constraint {row} references wire {wire} outside 0..{r1cs.n_wires - 1}")
                    coeffs.append((mat, row, wire, v))
        if mat == 0:
            coeffs.extend((0, m + s, s, 1) for s in range(n_pub + 1))
    return QAP(r1cs.n_wires, n_pub, m, domain_size_for(m, n_pub), tuple(coeffs))


def evaluate(qap: QAP, witness: Sequence[int]) -> tuple[list[int], list[int], list[int]]:
    """A, B, C evaluated over the domain {w_n^i} for this witness (zeros past the last row).

    C is taken as A·B row by row, like snarkjs: equal to the C matrix for a satisfying witness
    (the binding rows have B = C = 0), and it lets a .zkey without C coefficients be used.
    """
    a, b, _ = evaluate_rows(qap, witness)
    return a, b, [x * y % R for x, y in zip(a, b)]


def evaluate_rows(qap: QAP, witness: Sequence[int]) -> tuple[list[int], list[int], list[int] | None]:
    """One pass over the coefficients: A and B per domain row, and the C matrix's rows (None
    when the QAP has no C coefficients), all reduced mod r."""
    n = qap.domain_size
    rows: tuple[list[int], list[int], list[int]] = ([0] * n, [0] * n, [0] * n)
    for mat, row, wire, v in qap.coeffs:
        rows[mat][row] += v * witness[wire]
    a = [x % R for x in rows[0]]
    b = [x % R for x in rows[1]]
    c = [x % R for x in rows[2]] if qap.has_c else None
    return a, b, c


def _batch_inverse(values: Sequence[int]) -> list[int]:
    prefix = []
    acc = 1
    for v in values:
        prefix.append(acc)
        acc = acc * v % R
    inv = pow(acc, -1, R)
    out = [0] * len(values)
    for i in range(len(values) - 1, -1, -1):
        out[i] = inv * prefix[i] % R
        inv = inv * values[i] % R
    return out


def lagrange_at(tau: int, n: int, step: int = 1, offset: int = 0, count: int | None = None) -> list[int]:
    """L_k(τ) over the size-n domain {w_n^k}, for k = offset, offset+step, ... (count values).

    L_k(τ) = (τ^n − 1)/n · w^k/(τ − w^k). Raises if τ is a domain point (probability ~n/r).
    """
    w = fr_root_of_unity(n)
    count = n if count is None else count
    zt = (pow(tau, n, R) - 1) % R
    if zt == 0:
        raise ProverError("setup randomness hit the evaluation domain; run the setup again")
    pts = []
    x = pow(w, offset, R)
    wstep = pow(w, step, R)
    for _ in range(count):
        pts.append(x)
        x = x * wstep % R
    invs = _batch_inverse([(tau - p) % R for p in pts])
    f = zt * pow(n, -1, R) % R
    return [f * p % R * iv % R for p, iv in zip(pts, invs)]


def h_lagrange_at(tau: int, n: int) -> list[int]:
    """L^{(2n)}_{2j+1}(τ) for j < n: the Lagrange basis of the 2n-domain at its odd points.

    Σ_j d_j L_{2j+1}(τ) = A(τ)B(τ) − C(τ) = h(τ)Z(τ), because A·B − C vanishes at the even points
    (the size-n domain); this is snarkjs's zkey section 9 before division by δ.
    """
    return lagrange_at(tau, 2 * n, step=2, offset=1, count=n)


def wire_polys_at(qap: QAP, lag: Sequence[int]) -> tuple[list[int], list[int], list[int]]:
    """u_i(τ), v_i(τ), w_i(τ) for every wire i, given lag[k] = L_k(τ) over the domain."""
    u = [0] * qap.n_wires
    v = [0] * qap.n_wires
    w = [0] * qap.n_wires
    out = (u, v, w)
    for mat, row, wire, c in qap.coeffs:
        out[mat][wire] += c * lag[row]
    return [x % R for x in u], [x % R for x in v], [x % R for x in w]
