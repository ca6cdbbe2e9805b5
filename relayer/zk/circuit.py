"""R1CS builder: signals, linear combinations, constraints and witness hints declared together.

`Circuit.compile()` lays the wires out as circom does (1, public outputs, public inputs, private
inputs, internal) so that our circuits export to `.r1cs`/`.wtns` unchanged; `Circuit.witness()`
runs the hints in declaration order. Tests build bad witnesses with `overrides=` or `tamper()`.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Union

from relayer.errors import ProverError, UnsatisfiedConstraint
from relayer.zk.field import R
from relayer.zk.r1cs import R1CS


class CircuitError(ProverError):
    """A circuit was declared or fed wrongly: duplicate name, missing/unknown input, bad value."""


ONE_ID = 0  # builder-local id of the constant-1 wire (also wire 0 after compile)

_KIND_ONE, _KIND_OUT, _KIND_PUB, _KIND_PRV, _KIND_INT = 0, 1, 2, 3, 4
_KIND_NAMES = {_KIND_ONE: "one", _KIND_OUT: "output", _KIND_PUB: "public input", _KIND_PRV: "private input",
               _KIND_INT: "internal"}


class LinearCombination:
    """sum_i coeff_i * signal_i (+ constant via the one wire), coefficients reduced mod r."""

    __slots__ = ("terms",)

    def __init__(self, terms: dict[int, int] | None = None) -> None:
        # builder-local signal id -> coefficient in [1, r); zero coefficients are dropped
        self.terms: dict[int, int] = terms if terms is not None else {}

    @staticmethod
    def const(value: int) -> LinearCombination:
        v = value % R
        return LinearCombination({ONE_ID: v} if v else {})

    def _add(self, other: Operand, sign: int) -> LinearCombination:
        o = as_lc(other)
        t = dict(self.terms)
        for k, v in o.terms.items():
            nv = (t.get(k, 0) + sign * v) % R
            if nv:
                t[k] = nv
            else:
                t.pop(k, None)
        return LinearCombination(t)

    def __add__(self, other: Operand) -> LinearCombination:
        return self._add(other, 1)

    def __radd__(self, other: Operand) -> LinearCombination:
        return self._add(other, 1)

    def __sub__(self, other: Operand) -> LinearCombination:
        return self._add(other, -1)

    def __rsub__(self, other: Operand) -> LinearCombination:
        return as_lc(other)._add(self, -1)

    def __neg__(self) -> LinearCombination:
        return LinearCombination({k: (-v) % R for k, v in self.terms.items()})

    def __mul__(self, k: object) -> LinearCombination:
        if isinstance(k, LinearCombination):
            # a product of two signals is not linear: it needs a constraint and a new signal
            raise TypeError("cannot multiply two linear combinations; use Circuit.mul(a, b)")
        if not isinstance(k, int) or isinstance(k, bool):
            return NotImplemented
        k %= R
        if k == 0:
            return LinearCombination()
        return LinearCombination({i: v * k % R for i, v in self.terms.items()})

    __rmul__ = __mul__

    def is_constant(self) -> bool:
        t = self.terms
        return not t or (len(t) == 1 and ONE_ID in t)

    def constant_value(self) -> int:
        return self.terms.get(ONE_ID, 0)

    def __repr__(self) -> str:
        return f"LinearCombination({self.terms})"


class Signal(LinearCombination):
    """One wire of a circuit; usable wherever a linear combination is."""

    __slots__ = ("id", "name", "circuit")

    def __init__(self, circuit: Circuit, sid: int, name: str) -> None:
        super().__init__({sid: 1})
        self.id = sid
        self.name = name
        self.circuit = circuit

    def __repr__(self) -> str:
        return f"Signal({self.name!r}, id={self.id})"

    def __hash__(self) -> int:
        return hash((id(self.circuit), self.id))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Signal) and other.circuit is self.circuit and other.id == self.id


Operand = Union[LinearCombination, int]


def as_lc(x: Operand) -> LinearCombination:
    if isinstance(x, LinearCombination):
        return x
    if isinstance(x, int) and not isinstance(x, bool):
        return LinearCombination.const(x)
    raise TypeError(f"expected a Signal, LinearCombination or int, got {type(x).__name__}")


Evaluator = Callable[[Operand], int]
Hint = Callable[[Evaluator], int]


@dataclass(frozen=True, slots=True)
class _Constraint:
    a: dict[int, int]
    b: dict[int, int]
    c: dict[int, int]
    name: str


class Circuit:
    """A circuit under construction. Every internal signal carries the hint that computes it."""

    def __init__(self, name: str = "circuit") -> None:
        self.name = name
        self._names: list[str] = ["one"]
        self._kinds: list[int] = [_KIND_ONE]
        self._by_name: dict[str, int] = {"one": ONE_ID}
        self._hints: list[tuple[int, Hint]] = []  # (signal id, hint) in declaration order
        self._constraints: list[_Constraint] = []
        self._inputs: list[int] = []  # ids of public and private inputs
        self._arrays: dict[str, list[int]] = {}  # array input name -> element ids
        self._scope: list[str] = []
        self._scope_used: dict[str, int] = {}
        self._auto = 0
        self._compiled: tuple[int, R1CS, list[int]] | None = None  # (n constraints at compile, r1cs, perm)
        self._unassigned: set[int] = set()  # outputs declared but not yet given a value
        self.one = Signal(self, ONE_ID, "one")

    # ---- names ---------------------------------------------------------------------------
    @contextmanager
    def scope(self, name: str) -> Iterator[str]:
        """Prefix the names declared inside with `name.`; a repeated scope name gets `#k` appended."""
        full = ".".join([*self._scope, name])
        k = self._scope_used.get(full, 0)
        self._scope_used[full] = k + 1
        self._scope.append(name if k == 0 else f"{name}#{k}")
        try:
            yield ".".join(self._scope)
        finally:
            self._scope.pop()

    def _full_name(self, name: str | None, default: str) -> str:
        if name is None:
            self._auto += 1
            name = f"{default}{self._auto}"
        if not self._scope:
            return name
        return ".".join([*self._scope, name])

    def _new(self, name: str, kind: int) -> Signal:
        if name in self._by_name:
            raise CircuitError(f"signal name {name!r} is already declared in circuit {self.name!r}; "
                               "pick another name or wrap the gadget in c.scope(...)")
        sid = len(self._names)
        self._names.append(name)
        self._kinds.append(kind)
        self._by_name[name] = sid
        self._compiled = None
        return Signal(self, sid, name)

    # ---- declarations --------------------------------------------------------------------
    def public_input(self, name: str) -> Signal:
        s = self._new(self._full_name(name, "in"), _KIND_PUB)
        self._inputs.append(s.id)
        return s

    def private_input(self, name: str) -> Signal:
        s = self._new(self._full_name(name, "in"), _KIND_PRV)
        self._inputs.append(s.id)
        return s

    def public_inputs(self, name: str, n: int) -> list[Signal]:
        """An input array `name[0..n)`; `witness()` accepts `{name: [..]}` or `{"name[i]": ..}`."""
        sigs = [self.public_input(f"{name}[{i}]") for i in range(n)]
        self._arrays[self._full_name(name, "")] = [s.id for s in sigs]
        return sigs

    def private_inputs(self, name: str, n: int) -> list[Signal]:
        sigs = [self.private_input(f"{name}[{i}]") for i in range(n)]
        self._arrays[self._full_name(name, "")] = [s.id for s in sigs]
        return sigs

    def signal(self, name: str | None, hint: Hint) -> Signal:
        """A new internal signal whose witness value is `hint(ev)`; it is NOT constrained here:
        the caller must add the constraints that pin it down (an unconstrained signal is a bug)."""
        s = self._new(self._full_name(name, "s"), _KIND_INT)
        self._hints.append((s.id, hint))
        return s

    def constrain(self, a: Operand, b: Operand, c: Operand, name: str | None = None) -> None:
        """Raw constraint a * b = c."""
        self._add_constraint(as_lc(a), as_lc(b), as_lc(c), self._full_name(name, "constraint"))

    def _add_constraint(self, la: LinearCombination, lb: LinearCombination, lc: LinearCombination,
                        cname: str) -> None:
        if la.is_constant() and lb.is_constant() and lc.is_constant():
            # a constraint without signals is either always true or a circuit that can never be satisfied
            if (la.constant_value() * lb.constant_value() - lc.constant_value()) % R:
                raise CircuitError(f"constraint {cname!r} is constant and false")
        # linear combinations are never mutated after creation, so their term dicts are shared, not copied
        self._constraints.append(_Constraint(la.terms, lb.terms, lc.terms, cname))
        self._compiled = None

    def mul(self, a: Operand, b: Operand, name: str | None = None) -> Signal:
        """z = a * b: a new signal with its hint and the constraint a * b = z."""
        la, lb = as_lc(a), as_lc(b)
        z = self.signal(name, _mul_hint(la, lb))
        self._add_constraint(la, lb, z, f"{z.name}:mul")
        return z

    def square(self, a: Operand, name: str | None = None) -> Signal:
        return self.mul(a, a, name)

    def assert_equal(self, a: Operand, b: Operand, name: str | None = None) -> None:
        """(a - b) * 1 = 0."""
        self._add_constraint(as_lc(a) - as_lc(b), as_lc(1), as_lc(0), self._full_name(name, "assert_equal"))

    def assert_zero(self, a: Operand, name: str | None = None) -> None:
        self._add_constraint(as_lc(a), as_lc(1), as_lc(0), self._full_name(name, "assert_zero"))

    def materialize(self, a: Operand, name: str | None = None) -> Signal:
        """A signal equal to the linear combination `a` (one constraint a * 1 = s)."""
        la = as_lc(a)
        if isinstance(la, Signal):
            return la
        s = self.signal(name, lambda ev: ev(la))
        self._add_constraint(la, as_lc(1), s, f"{s.name}:eq")
        return s

    def output(self, name: str, value: Operand) -> Signal:
        """A public output equal to `value` (one constraint value * 1 = out); wires 1.. in order."""
        s = self.declare_output(name)
        self.assign_output(s, value)
        return s

    def declare_output(self, name: str) -> Signal:
        """Declare a public output now, give its value later with assign_output. Declaring outputs,
        then public inputs, then private inputs, before any internal signal makes the builder's order
        the circom order already, which spares compile() a renumbering (it matters at 2^20)."""
        s = self._new(self._full_name(name, "out"), _KIND_OUT)
        self._unassigned.add(s.id)
        return s

    def assign_output(self, out: Signal, value: Operand) -> None:
        if out.circuit is not self or out.id not in self._unassigned:
            raise CircuitError(f"{out.name!r} is not a declared, unassigned output of circuit {self.name!r}")
        lv = as_lc(value)
        self._unassigned.discard(out.id)
        self._hints.append((out.id, lambda ev: ev(lv)))
        self._add_constraint(lv, as_lc(1), out, f"{out.name}:out")

    # ---- introspection -------------------------------------------------------------------
    @property
    def n_constraints(self) -> int:
        return len(self._constraints)

    @property
    def n_signals(self) -> int:
        """Number of wires including the constant one."""
        return len(self._names)

    def signal_by_name(self, name: str) -> Signal:
        sid = self._by_name.get(name)
        if sid is None:
            raise CircuitError(f"no signal named {name!r} in circuit {self.name!r}{_suggest(name, self._by_name)}")
        return Signal(self, sid, name)

    def signal_names(self) -> list[str]:
        return list(self._names)

    def unconstrained_signals(self) -> list[str]:
        """Names of signals (inputs included) that appear in no constraint: almost always a bug,
        since the prover may then set them freely. Circuit tests should assert this is empty."""
        used: set[int] = set()
        for con in self._constraints:
            used.update(con.a)
            used.update(con.b)
            used.update(con.c)
        return [n for i, n in enumerate(self._names) if i != ONE_ID and i not in used]

    # ---- compile -------------------------------------------------------------------------
    def _permutation(self) -> list[int]:
        """perm[local id] = wire index in circom order."""
        order: list[int] = [ONE_ID]
        for kind in (_KIND_OUT, _KIND_PUB, _KIND_PRV, _KIND_INT):
            order.extend(i for i, k in enumerate(self._kinds) if k == kind)
        perm = [0] * len(order)
        for wire, sid in enumerate(order):
            perm[sid] = wire
        return perm

    def compile(self) -> R1CS:
        """The R1CS of everything declared so far (cached until the next declaration).

        When the declaration order is already circom's, the R1CS shares its term dicts with the
        builder instead of copying them: treat the result as read-only.
        """
        if self._compiled is not None:
            return self._compiled[1]
        with gc_paused():  # allocation-heavy and garbage-free: see gc_paused
            return self._compile()

    def _compile(self) -> R1CS:
        if self._unassigned:
            names = ", ".join(self._names[i] for i in sorted(self._unassigned))
            raise CircuitError(f"outputs declared but never assigned a value: {names} (use assign_output)")
        perm = self._permutation()
        if all(p == i for i, p in enumerate(perm)):
            constraints = [(c.a, c.b, c.c) for c in self._constraints]
        else:
            constraints = [({perm[k]: v for k, v in c.a.items()}, {perm[k]: v for k, v in c.b.items()},
                            {perm[k]: v for k, v in c.c.items()}) for c in self._constraints]
        kinds = self._kinds
        r1cs = R1CS(
            n_wires=len(self._names),
            n_pub_out=kinds.count(_KIND_OUT),
            n_pub_in=kinds.count(_KIND_PUB),
            n_prv_in=kinds.count(_KIND_PRV),
            constraints=constraints,
            constraint_names=[c.name for c in self._constraints],
            wire_names={perm[i]: n for i, n in enumerate(self._names)},
        )
        self._compiled = (len(self._constraints), r1cs, perm)
        return r1cs

    def wire_index(self, signal: Signal | str) -> int:
        """The wire index of a signal in the compiled R1CS / witness."""
        sid = signal.id if isinstance(signal, Signal) else self.signal_by_name(signal).id
        self.compile()
        assert self._compiled is not None
        return self._compiled[2][sid]

    # ---- witness -------------------------------------------------------------------------
    def _resolve(self, key: Signal | str) -> int:
        if isinstance(key, Signal):
            if key.circuit is not self:
                raise CircuitError(f"signal {key.name!r} belongs to another circuit")
            return key.id
        return self.signal_by_name(key).id

    def _input_values(self, inputs: Mapping[str, object]) -> dict[int, int]:
        vals: dict[int, int] = {}
        for key, value in inputs.items():
            if key in self._arrays and isinstance(value, (list, tuple)):
                ids = self._arrays[key]
                if len(value) != len(ids):
                    raise CircuitError(f"input {key!r} has {len(value)} values, the circuit declares {len(ids)}")
                for sid, v in zip(ids, value):
                    vals[sid] = _field_value(self._names[sid], v)
                continue
            sid = self._by_name.get(key)
            if sid is None or self._kinds[sid] not in (_KIND_PUB, _KIND_PRV):
                raise CircuitError(f"{key!r} is not an input of circuit {self.name!r}"
                                   f"{_suggest(key, [self._names[i] for i in self._inputs] + list(self._arrays))}")
            vals[sid] = _field_value(key, value)
        missing = [self._names[i] for i in self._inputs if i not in vals]
        if missing:
            shown = ", ".join(missing[:8]) + (f" and {len(missing) - 8} more" if len(missing) > 8 else "")
            raise CircuitError(f"missing inputs for circuit {self.name!r}: {shown}")
        return vals

    def witness(self, inputs: Mapping[str, object],
                overrides: Mapping[Signal | str, int] | None = None) -> list[int]:
        """Full witness in wire order (1, outputs, public inputs, private inputs, internal).

        `overrides` replaces the value of chosen signals as they are computed (later hints see the
        replaced value): the way tests play a cheating prover. The result may then violate the
        constraints, which is the point; `compile().check(w)` names the first broken one.
        """
        vals = [0] * len(self._names)
        vals[ONE_ID] = 1
        for sid, v in self._input_values(inputs).items():
            vals[sid] = v
        ov: dict[int, int] = {}
        for key, v in (overrides or {}).items():
            ov[self._resolve(key)] = _field_value(str(key), v)
        for sid, v in ov.items():
            if self._kinds[sid] in (_KIND_PUB, _KIND_PRV, _KIND_ONE):
                vals[sid] = v

        def ev(x: Operand) -> int:
            if isinstance(x, Signal):
                return vals[x.id]
            if isinstance(x, int):
                return x % R
            return sum(vals[k] * c for k, c in x.terms.items()) % R

        for sid, hint in self._hints:
            if sid in ov:
                vals[sid] = ov[sid]
                continue
            try:
                v = hint(ev)
            except ZeroDivisionError as e:
                raise CircuitError(f"hint of signal {self._names[sid]!r} failed: {e}") from e
            if not isinstance(v, int) or isinstance(v, bool):
                raise CircuitError(f"hint of signal {self._names[sid]!r} returned {type(v).__name__}, not int")
            vals[sid] = v % R
        self.compile()
        assert self._compiled is not None
        perm = self._compiled[2]
        out = [0] * len(vals)
        for sid, v in enumerate(vals):
            out[perm[sid]] = v
        return out

    def tamper(self, witness: Sequence[int], changes: Mapping[Signal | str, int]) -> list[int]:
        """A copy of a computed witness with some signals set by name, nothing recomputed."""
        w = list(witness)
        for key, v in changes.items():
            w[self.wire_index(self.signal_by_name(key) if isinstance(key, str) else key)] = _field_value(str(key), v)
        return w

    def value(self, witness: Sequence[int], x: Signal | str | LinearCombination) -> int:
        """Evaluate a signal (by name) or linear combination on a compiled-order witness."""
        if isinstance(x, str):
            x = self.signal_by_name(x)
        self.compile()
        assert self._compiled is not None
        perm = self._compiled[2]
        return sum(witness[perm[k]] * c for k, c in x.terms.items()) % R

    def check(self, witness: Sequence[int]) -> None:
        """Raise UnsatisfiedConstraint naming the first problem: a bad value (as R1CS.check_values
        words it), else the first constraint the witness breaks, with the signals it involves and
        their values (the debugging mode of SPEC 5.2)."""
        r1cs = self.compile()
        try:
            r1cs.check(witness)
        except UnsatisfiedConstraint as e:
            # A value problem (length, type, outside [0, r), wire 0 not 1) comes first and its
            # message already names the wire: report it alone, not with the signals of some
            # constraint that also fails further on.
            try:
                r1cs.check_values(witness)
            except UnsatisfiedConstraint:
                raise e from None
            idx = self._first_failing(r1cs, witness)
            if idx is None:
                raise
            a, b, cc = r1cs.constraints[idx]
            wires = sorted({*a, *b, *cc} - {0})
            shown = ", ".join(f"{r1cs.wire_names.get(k, f'w{k}')}={witness[k]}" for k in wires[:8])
            more = f" (+{len(wires) - 8} more)" if len(wires) > 8 else ""
            raise UnsatisfiedConstraint(f"{e}; signals: {shown}{more}") from None

    @staticmethod
    def _first_failing(r1cs: R1CS, witness: Sequence[int]) -> int | None:
        if len(witness) != r1cs.n_wires or witness[0] != 1:
            return None
        for i, (a, b, c) in enumerate(r1cs.constraints):
            va = sum(witness[k] * v for k, v in a.items()) % R
            vb = sum(witness[k] * v for k, v in b.items()) % R
            vc = sum(witness[k] * v for k, v in c.items()) % R
            if (va * vb - vc) % R:
                return i
        return None


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building a large circuit: the builder allocates
    millions of small objects and no garbage, so the collector's repeated full scans are pure
    overhead (more than half of the build time at 2^17 constraints)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _mul_hint(la: LinearCombination, lb: LinearCombination) -> Hint:
    return lambda ev: ev(la) * ev(lb) % R


def _field_value(name: str, v: object) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise CircuitError(f"value for {name!r} must be an int, got {type(v).__name__} ({v!r})")
    if not 0 <= v < R:
        raise CircuitError(f"value for {name!r} is outside the field [0, r): {v}; encode negatives as r - |v| "
                           "explicitly if that is what you mean")
    return v


def _suggest(name: str, candidates: object) -> str:
    import difflib

    close = difflib.get_close_matches(name, list(candidates), n=3)  # type: ignore[call-overload]
    return f" (did you mean {', '.join(map(repr, close))}?)" if close else ""


def fr_inv(x: int) -> int:
    """Inverse in Fr (0 maps to 0, the convention of circomlib's IsZero hint)."""
    return pow(x, R - 2, R) if x % R else 0


__all__ = ["Circuit", "CircuitError", "LinearCombination", "Signal", "Operand", "Hint", "Evaluator", "as_lc", "fr_inv",
           "gc_paused", "ONE_ID"]
