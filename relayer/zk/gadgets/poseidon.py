"""Poseidon hash gadget, circomlib BN254 parameters; its output equals relayer.zk.poseidon.poseidon.

Same permutation as the native function (see there). The S-box x^5 costs 3 constraints
(x2 = s*s, x4 = x2*x2, x5 = x4*s); round constants and the MDS mix are linear and free. In partial
rounds the untouched state words accumulate ever longer linear combinations; they are materialized
into signals (one constraint each) once longer than `max_terms`, to keep the R1CS sparse
(`max_terms=DENSE` never materializes: fewest constraints, denser rows). Two constraints are saved
for free: an S-box on a constant (the capacity word in round 0, a constant input) is folded, and the
last round's x^5 of state word 0 is folded into the output constraint (x4 * s * M00 = out - rest).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

from relayer.zk.circuit import ONE_ID, Circuit, CircuitError, Evaluator, LinearCombination, Operand, Signal, as_lc
from relayer.zk.field import R
from relayer.zk.poseidon import MAX_INPUTS, PoseidonParams, params

DENSE = 1 << 30  # max_terms that never materializes a partial-round state word


def _mix(row: Sequence[int], state: Sequence[LinearCombination]) -> LinearCombination:
    """sum_j row[j] * state[j] in one pass (much faster than chained LC additions)."""
    acc: dict[int, int] = {}
    for mij, s in zip(row, state):
        for k, v in s.terms.items():
            acc[k] = acc.get(k, 0) + mij * v
    return LinearCombination({k: v % R for k, v in acc.items() if v % R})


def _add_const(s: LinearCombination, k: int) -> LinearCombination:
    t = dict(s.terms)
    v = (t.get(ONE_ID, 0) + k) % R
    if v:
        t[ONE_ID] = v
    else:
        t.pop(ONE_ID, None)
    return LinearCombination(t)


def poseidon_hash(c: Circuit, inputs: Sequence[Operand], name: str | None = None,
                  max_terms: int | None = None) -> Signal:
    """Poseidon(inputs) for 1..16 inputs as a signal."""
    n = len(inputs)
    if not 1 <= n <= MAX_INPUTS:
        raise CircuitError(f"Poseidon takes 1..{MAX_INPUTS} inputs, got {n}")
    p = params(n + 1)
    t = p.t
    limit = max_terms if max_terms is not None else 3 * t + 4
    half_f = p.n_rounds_f // 2
    last = p.n_rounds_f + p.n_rounds_p - 1
    with c.scope(name or "poseidon"):
        state: list[LinearCombination] = [LinearCombination(), *(as_lc(x) for x in inputs)]
        r = 0
        while r < last:
            if r == half_f and limit >= DENSE:
                # all partial rounds at once from a precomputed plan (same constraints, far fewer LC operations)
                state = _partial_rounds(c, state, p, half_f)
                r += p.n_rounds_p
                continue
            state = [_add_const(s, p.c[r * t + i]) for i, s in enumerate(state)]
            full = r < half_f or r >= half_f + p.n_rounds_p
            for i in range(t if full else 1):
                state[i] = _sbox(c, state[i], f"r{r}.s{i}")
            state = [_mix(row, state) for row in p.m]
            if not full:
                for i in range(1, t):
                    if len(state[i].terms) > limit:
                        state[i] = c.materialize(state[i], name=f"r{r}.m{i}")
            r += 1
        # last (full) round: only word 0 of the mixed state is the output, so word 0's x^5 never needs
        # its own signal: (M00 * x4) * s = out - sum_{j>0} M0j * x5_j is one constraint instead of two
        state = [_add_const(s, p.c[last * t + i]) for i, s in enumerate(state)]
        s0 = state[0]
        rest: LinearCombination = LinearCombination()
        if s0.is_constant():
            rest = rest + pow(s0.constant_value(), 5, R) * p.m[0][0]
            x4 = None
        else:
            x2 = c.mul(s0, s0, name=f"r{last}.s0.x2")
            x4 = c.mul(x2, x2, name=f"r{last}.s0.x4")
        for j in range(1, t):
            rest = rest + _sbox(c, state[j], f"r{last}.s{j}") * p.m[0][j]

        def out_hint(ev: Evaluator, x4: Signal | None = x4, s0: LinearCombination = s0,
                     rest: LinearCombination = rest, m00: int = p.m[0][0]) -> int:
            return ((ev(x4) * ev(s0) * m00) if x4 is not None else 0) + ev(rest)

        # always a fresh signal (never an S-box output), so callers and tests can name "<scope>.out"
        out = c.signal("out", out_hint)
        if x4 is None:
            c.constrain(rest, 1, out, name="out:eq")
        else:
            c.constrain(x4 * p.m[0][0], s0, out - rest, name="out:eq")
    return out


@cache
def _partial_plan(t: int) -> tuple[tuple[tuple[int, ...], ...], tuple[tuple[int, ...], ...]]:
    """The partial rounds of width t as linear algebra over the basis [w_0..w_{t-1}, x_0..x_{RP-1}, 1]
    (w: the state entering the partial rounds, x_q: the S-box output of partial round q). Returns the
    S-box input of each partial round and the state leaving the last one, as coefficient rows. The
    permutation is the native one (add constants, x^5 on word 0, MDS mix); only the bookkeeping moves
    out of the per-hash loop: building each hash then costs O(t^2 + q) per round instead of O(t^2 n)."""
    p = params(t)
    half_f, rp = p.n_rounds_f // 2, p.n_rounds_p
    size = t + rp + 1
    one = size - 1
    words = [[1 if b == i else 0 for b in range(size)] for i in range(t)]
    inputs = []
    for q in range(rp):
        r = half_f + q
        for i in range(t):
            words[i][one] = (words[i][one] + p.c[r * t + i]) % R
        inputs.append(tuple(words[0]))
        words[0] = [1 if b == t + q else 0 for b in range(size)]
        words = [[sum(m * w[b] for m, w in zip(row, words)) % R for b in range(size)] for row in p.m]
    return tuple(inputs), tuple(tuple(w) for w in words)


def _combine(coef: Sequence[int], basis: Sequence[LinearCombination]) -> LinearCombination:
    """sum_b coef[b] * basis[b] (the last coefficient multiplies the constant 1)."""
    acc: dict[int, int] = {}
    for k_b, lc in zip(coef, basis):
        if k_b:
            for k, v in lc.terms.items():
                acc[k] = acc.get(k, 0) + k_b * v
    if coef[-1]:
        acc[ONE_ID] = acc.get(ONE_ID, 0) + coef[-1]
    return LinearCombination({k: v % R for k, v in acc.items() if v % R})


def _partial_rounds(c: Circuit, state: list[LinearCombination], p: PoseidonParams,
                    half_f: int) -> list[LinearCombination]:
    inputs, final = _partial_plan(p.t)
    basis = list(state)
    for q, row in enumerate(inputs):
        basis.append(_sbox(c, _combine(row[:len(basis)] + (row[-1],), basis), f"r{half_f + q}.s0"))
    return [_combine(row, basis) for row in final]


def _sbox(c: Circuit, s: LinearCombination, name: str) -> LinearCombination:
    if s.is_constant():  # e.g. the capacity word in round 0: x^5 of a constant is a constant
        return LinearCombination.const(pow(s.constant_value(), 5, R))
    x2 = c.mul(s, s, name=f"{name}.x2")
    x4 = c.mul(x2, x2, name=f"{name}.x4")
    return c.mul(x4, s, name=f"{name}.x5")


def poseidon_hash_many(c: Circuit, inputs: Sequence[Operand], name: str | None = None) -> Signal:
    """Length-prefixed chain of Poseidon calls over a list of any length; the layout (and the native
    counterpart) is `relayer.zk.poseidon.poseidon_many`. The length is a circuit constant."""
    vals = list(inputs)
    chunk = MAX_INPUTS - 1
    with c.scope(name or "poseidon_many"):
        h = poseidon_hash(c, [len(vals), *vals[:chunk]], name="h0")
        for k, i in enumerate(range(chunk, len(vals), chunk), 1):
            h = poseidon_hash(c, [h, *vals[i : i + chunk]], name=f"h{k}")
    return h
