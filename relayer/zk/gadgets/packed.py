"""Range checks that share their recomposition constraint: several ALREADY-BOUNDED values are packed
`bound_bits + 1` bits apart into one field element, so one constraint recomposes all their bits, and a
product term common to the values (x * y_j) costs one multiplication per pack instead of one per value.

Soundness (why a value cannot borrow from its neighbour). The caller promises that the true integer of
every value v_j satisfies |v_j| < 2^b (b = bound_bits), because its inputs are range-checked elsewhere.
The prover shows bits u_j in [0, 2^n_j), n_j <= b, with sum_j 2^(Bj) u_j = sum_j 2^(Bj) v_j (mod r), B = b + 1.
Let d_j = v_j - u_j, so |d_j| < 2^(b+1) = 2^B, and |sum_j 2^(Bj) d_j| < 2^(B(g-1) + b + 2) <= 2^253 < r
for g values per pack: the congruence is an integer equation. Modulo 2^B it gives d_0 = 0 (|d_0| < 2^B);
divide by 2^B and repeat: every d_j = 0, i.e. v_j = u_j in [0, 2^n_j). A value that is NOT bounded by
other constraints (a raw input) must not be packed: its own range check is what bounds it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from relayer.zk.circuit import Circuit, CircuitError, Evaluator, LinearCombination, Operand, Signal, as_lc
from relayer.zk.field import R
from relayer.zk.gadgets.bits import MAX_BITS, assert_bool, bits2num


@dataclass(frozen=True)
class PackedValue:
    """value = linear + sum_k factors[k] * coeffs[k] (factors are shared by the values of one call);
    proven 0 <= value < 2^bits (bits = 0: value == 0). Bits are named `<name>.bits[i]`."""

    name: str
    bits: int
    linear: Operand = 0
    coeffs: Sequence[Operand | None] = field(default_factory=tuple)


def pack_layout(bound_bits: int) -> tuple[int, int]:
    """(spacing B, values per pack g) for values whose integers are < 2^bound_bits in magnitude."""
    if not 1 <= bound_bits <= MAX_BITS - 2:
        raise CircuitError(f"packed range checks need a value bound of 1..{MAX_BITS - 2} bits, got {bound_bits}")
    spacing = bound_bits + 1
    per = 1 + (MAX_BITS - bound_bits - 2) // spacing  # B (g - 1) + b + 2 <= 253
    return spacing, per


def packed_range_checks(c: Circuit, values: Sequence[PackedValue], factors: Sequence[Operand], bound_bits: int,
                        name: str = "pack") -> list[list[Signal]]:
    """Prove 0 <= v < 2^v.bits for each value, given |v| < 2^bound_bits as an integer by the caller's own
    constraints (see the module docstring). Returns each value's little-endian bits. Cost: the bits, plus
    per pack one constraint per factor used (the first product is folded into the recomposition)."""
    spacing, per = pack_layout(bound_bits)
    fs = [as_lc(f) for f in factors]
    for v in values:
        if not 0 <= v.bits <= bound_bits:
            raise CircuitError(f"packed value {v.name!r}: {v.bits} bits must be in 0..{bound_bits} (the value bound)")
        if len(v.coeffs) > len(fs):
            raise CircuitError(f"packed value {v.name!r} has {len(v.coeffs)} coefficients for {len(fs)} factors")
    out: list[list[Signal]] = []
    for g, start in enumerate(range(0, len(values), per)):
        group = values[start:start + per]
        lin = LinearCombination()
        bitsum = LinearCombination()
        coef: dict[int, LinearCombination] = {}
        for j, v in enumerate(group):
            shift = 1 << (spacing * j)
            cs = [None if x is None else as_lc(x) for x in v.coeffs]
            bits = _value_bits(c, v, as_lc(v.linear), cs, fs)
            out.append(bits)
            lin = lin + as_lc(v.linear) * shift
            bitsum = bitsum + bits2num(bits) * shift
            for k, x in enumerate(cs):
                if x is not None:
                    coef[k] = coef.get(k, LinearCombination()) + x * shift
        label = "+".join(v.name for v in group)
        ks = sorted(coef)
        # sum_k f_k * P_k + lin = bitsum; f_k0 * P_k0 is the constraint itself, the others are products
        rest = lin
        for k in ks[1:]:
            rest = rest + c.mul(fs[k], coef[k], name=f"{name}[{g}].prod[{k}]")
        if ks:
            c.constrain(fs[ks[0]], coef[ks[0]], bitsum - rest, name=f"{name}[{g}]:{label}")
        else:
            c.constrain(bitsum, 1, rest, name=f"{name}[{g}]:{label}")
    return out


def _value_bits(c: Circuit, v: PackedValue, lin: LinearCombination, cs: list[LinearCombination | None],
                fs: list[LinearCombination]) -> list[Signal]:
    memo: list[object] = [None, 0]  # (evaluator, value): the value is computed once per witness, not per bit

    def value(ev: Evaluator) -> int:
        if memo[0] is not ev:
            x = ev(lin) + sum(ev(fs[k]) * ev(y) for k, y in enumerate(cs) if y is not None)
            memo[0], memo[1] = ev, x % R
        return memo[1]  # type: ignore[return-value]

    bits: list[Signal] = []
    for i in range(v.bits):
        b = c.signal(f"{v.name}.bits[{i}]", lambda ev, i=i: (value(ev) >> i) & 1)
        assert_bool(c, b, name=f"{v.name}.bits[{i}]:bool")
        bits.append(b)
    return bits
