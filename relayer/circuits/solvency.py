"""The per-chain solvency circuit: SPEC §2 over a private book, at a fixed capacity.

Public inputs (12, in the order SolvencyFeed derives them, see PUBLIC_INPUTS): chainId, blockNumber,
blockHash hi/lo 128 bits, marketCommitment, A_i, L_i, MM_i, D_i, U_i, root, round. Private: the
market data (bound to marketCommitment in-circuit), and per account slot a `real` flag, id, salt,
cash and quantities in offset encoding. Rules, bounds and constraint counts: docs/solvency.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from relayer.circuits.merkle_sum import LeafData, MerkleSumTree
from relayer.errors import ProverError
from relayer.risk.commitment import CHUNK, PACK_BITS, PER_WORD, TAG
from relayer.risk.evaluator import BookRisk, evaluate
from relayer.risk.ledger import Book
from relayer.risk.market import MarketData
from relayer.risk.units import (
    CASH_BITS,
    CASH_OFFSET,
    COUNT_BITS,
    ID_BITS,
    MARK_BITS,
    MAX_ACCOUNTS_LOG2,
    MAX_INSTRUMENTS,
    QTY_BITS,
    QTY_OFFSET,
    RISK_BITS,
    RISK_OFFSET,
    TOTAL_BITS,
    VALUE_BITS,
)
from relayer.zk.circuit import Circuit, LinearCombination, Signal, gc_paused
from relayer.zk.field import R
from relayer.zk.gadgets import (
    PackedValue,
    assert_bool,
    bits2num,
    packed_range_checks,
    poseidon_hash,
    range_check,
    range_check_product,
)
from relayer.zk.gadgets.poseidon import DENSE
from relayer.zk.poseidon import poseidon

PUBLIC_INPUTS: tuple[str, ...] = (
    "chainId", "blockNumber", "blockHashHi", "blockHashLo", "marketCommitment", "assets", "liabilities",
    "maintenanceMargin", "badDebt", "underMargined", "root", "round",
)
_HALF = R // 2
# |value| < 2^PACK_BOUND for every packed per-account value: |sum_k q*R| <= 16 * 2^32 * 2^40 = 2^76 (reached at q = -2^32, R = -2^40), plus
# MM, cash, E < 2^66 (see docs/solvency.md "Constraint counts")
PAD_PACK_BITS = 252  # values tested for zero together span at most this many bits (< log2 r)
PACK_BOUND = QTY_BITS + max(MARK_BITS, RISK_BITS) + (MAX_INSTRUMENTS - 1).bit_length() + 1


@dataclass(frozen=True)
class Capacity:
    """Fixed shape of one circuit: accounts (a power of two), instruments, scenarios."""

    accounts: int
    instruments: int
    scenarios: int

    def __post_init__(self) -> None:
        n = self.accounts
        if n < 2 or n & (n - 1) or n > 1 << MAX_ACCOUNTS_LOG2:
            raise ProverError(f"capacity accounts must be a power of two in [2, 2^{MAX_ACCOUNTS_LOG2}], got {n}")
        if not 1 <= self.instruments <= MAX_INSTRUMENTS:
            raise ProverError(f"capacity instruments must be in 1..{MAX_INSTRUMENTS}, got {self.instruments}")
        if not 1 <= self.scenarios <= 64:
            raise ProverError(f"capacity scenarios must be in 1..64, got {self.scenarios}")

    def __str__(self) -> str:
        return f"{self.accounts}x{self.instruments}x{self.scenarios}"


@dataclass(frozen=True)
class ChainContext:
    """What the attestation binds besides the book: the chain, the block, the vault assets, the round."""

    chain_id: int
    block_number: int
    block_hash: bytes
    assets: int
    round: int

    def __post_init__(self) -> None:
        # a 32-character str would pass a bare length check and fail later in int.from_bytes
        if not isinstance(self.block_hash, bytes) or len(self.block_hash) != 32:
            raise ProverError(f"block_hash must be 32 bytes, got {type(self.block_hash).__name__} {self.block_hash!r}")
        for n, bits in (("chain_id", 64), ("block_number", 64), ("round", 64), ("assets", TOTAL_BITS)):
            v = getattr(self, n)
            if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v < 1 << bits:
                raise ProverError(f"{n} = {v!r} must be an int in [0, 2^{bits})")


def _signed(v: int) -> int:
    return v - R if v > _HALF else v


class SolvencyCircuit:
    """Builds the R1CS once per capacity; `inputs()` turns a book into the witness inputs."""

    def __init__(self, cap: Capacity) -> None:
        self.cap = cap
        with gc_paused():
            self.circuit = self._build()

    # ------------------------------------------------------------------------------ build
    def _build(self) -> Circuit:
        n, k_n, s_n = self.cap.accounts, self.cap.instruments, self.cap.scenarios
        c = Circuit(f"solvency_{self.cap}")
        pub = {name: c.public_input(name) for name in PUBLIC_INPUTS}
        marks = c.private_inputs("mark", k_n)
        risk_off = [c.private_inputs(f"risk_off[{k}]", s_n) for k in range(k_n)]
        real = c.private_inputs("real", n)
        ids = c.private_inputs("id", n)
        salts = c.private_inputs("salt", n)
        cash_off = c.private_inputs("cash_off", n)
        qty_off = [c.private_inputs(f"qty_off[{a}]", k_n) for a in range(n)]

        # public inputs that are bound by being public: proven in the ranges the attestation uses
        with c.scope("pub"):
            for name, bits in (("chainId", 64), ("blockNumber", 64), ("blockHashHi", 128), ("blockHashLo", 128),
                               ("round", 64), ("assets", TOTAL_BITS), ("liabilities", TOTAL_BITS),
                               ("maintenanceMargin", TOTAL_BITS), ("badDebt", TOTAL_BITS),
                               ("underMargined", COUNT_BITS)):
                range_check(c, pub[name], bits, name=f"{name}_range")

        # market data: range-checked, packed 6 x 41 bits per word, hashed, equal to the public commitment
        with c.scope("market"):
            values: list[Signal] = []
            for k in range(k_n):
                range_check(c, marks[k], MARK_BITS, name=f"mark[{k}]_range")
                values.append(marks[k])
            for k in range(k_n):
                for s in range(s_n):
                    range_check(c, risk_off[k][s], RISK_BITS + 1, name=f"risk_off[{k}][{s}]_range")
                    values.append(risk_off[k][s])
            words = [sum((v * (1 << (PACK_BITS * j)) for j, v in enumerate(values[i:i + PER_WORD])), LinearCombination())
                     for i in range(0, len(values), PER_WORD)]
            h: LinearCombination = LinearCombination.const(poseidon([TAG, k_n, s_n]))  # constant: no constraints
            for i in range(0, len(words), CHUNK):
                h = poseidon_hash(c, [h, *words[i:i + CHUNK]], name=f"chunk[{i // CHUNK}]")
            c.assert_equal(h, pub["marketCommitment"], name="commitment_eq")
        self._implied: dict[str, LinearCombination] = {"marketCommitment": h}
        risk = [[risk_off[k][s] - RISK_OFFSET for s in range(s_n)] for k in range(k_n)]

        leaves: list[tuple[LinearCombination, LinearCombination, LinearCombination]] = []
        bad_debt: list[Signal] = []
        under: list[Signal] = []
        for a in range(n):
            with c.scope(f"acct[{a}]"):
                leaves.append(self._account(c, a, real, ids, salts, cash_off[a], qty_off[a], marks, risk,
                                            bad_debt, under))
        self._implied["badDebt"] = sum(bad_debt, LinearCombination())
        self._implied["underMargined"] = sum(under, LinearCombination())
        c.assert_equal(self._implied["badDebt"], pub["badDebt"], name="badDebt_eq")
        c.assert_equal(self._implied["underMargined"], pub["underMargined"], name="underMargined_eq")

        # Merkle-sum tree; every parent sum is a signal (tests can play a prover who cheats on it).
        # No range check is needed on parent sums: each leaf value is proven < 2^64 and there are at
        # most 2^20 leaves, so every sum is an integer < 2^84, far from r.
        level = leaves
        depth = 0
        with c.scope("tree"):
            while len(level) > 1:
                nxt = []
                for i in range(0, len(level), 2):
                    (lh, ll, lm), (rh, rl, rm) = level[i], level[i + 1]
                    with c.scope(f"l{depth + 1}[{i // 2}]"):
                        ph = poseidon_hash(c, [lh, ll, lm, rh, rl, rm], name="hash", max_terms=DENSE)
                        pl = c.materialize(ll + rl, name="owed")
                        pm = c.materialize(lm + rm, name="requirement")
                    nxt.append((ph, pl, pm))
                level = nxt
                depth += 1
        root_h, root_l, root_m = level[0]
        self._implied.update(root=root_h, liabilities=root_l, maintenanceMargin=root_m)
        c.assert_equal(root_h, pub["root"], name="root_eq")
        c.assert_equal(root_l, pub["liabilities"], name="liabilities_eq")
        c.assert_equal(root_m, pub["maintenanceMargin"], name="maintenanceMargin_eq")
        return c

    def _account(self, c: Circuit, a: int, real: list[Signal], ids: list[Signal], salts: list[Signal],
                 cash_off: Signal, qty_off: list[Signal], marks: list[Signal],
                 risk: list[list[LinearCombination]], bad_debt: list[Signal],
                 under: list[Signal]) -> tuple[LinearCombination, LinearCombination, LinearCombination]:
        k_n, s_n = self.cap.instruments, self.cap.scenarios
        r_a = real[a]
        assert_bool(c, r_a, name="real:bool")
        if a > 0:
            # real accounts form a prefix: a padding slot is never followed by a real one
            c.constrain(r_a, 1 - real[a - 1], 0, name="real:prefix")
        range_check(c, cash_off, CASH_BITS + 1, name="cash_range")
        cash = cash_off - CASH_OFFSET
        qty = []
        for k in range(k_n):
            range_check(c, qty_off[k], QTY_BITS + 1, name=f"qty[{k}]_range")
            qty.append(qty_off[k] - QTY_OFFSET)
        # a padding slot carries nothing: zero cash, zero positions, id 0, salt 0 (the fixed padding leaf)
        # cash and the quantities are bounded (|cash| <= 2^64, |q| <= 2^32, checked above), so they are tested
        # for zero together, packed: pad * (cash + 2^66 * sum_k 2^(34k) q_k) = 0. The packed integer is below
        # 2^253 < r and each value is smaller than its spacing, so it is 0 only if every value is 0 (reading
        # it mod 2^66, then mod 2^34 per quantity). Ids and salts are not bounded here: checked alone.
        pad = 1 - r_a
        terms: list[tuple[str, LinearCombination, int]] = [("pad_cash", cash, CASH_BITS + 2)]
        terms += [(f"pad_qty[{k}]", qty[k], QTY_BITS + 2) for k in range(k_n)]
        while terms:
            packed, shift, names = LinearCombination(), 0, []
            while terms and shift + terms[0][2] <= PAD_PACK_BITS:
                label, v, width = terms.pop(0)
                packed, shift = packed + v * (1 << shift), shift + width
                names.append(label)
            c.constrain(pad, packed, 0, name="+".join(names))
        c.constrain(pad, ids[a], 0, name="pad_id")
        c.constrain(pad, salts[a], 0, name="pad_salt")
        # ids: uint64, strictly increasing over real accounts (no duplicated account). One 64-bit check per
        # slot a > 0 covers both the order and the upper bound: with p = real[a-1],
        #   v = p * (id_a - id_{a-1} - 1 + 2^64 (1 - real_a))
        # is id_a - id_{a-1} - 1 between two real slots (so id_a > id_{a-1}), 2^64 - 1 - id_{a-1} at the
        # last real slot before padding (so that id < 2^64; padding ids are 0), and 0 after it. Slot 0's
        # id is range-checked itself; the last slot's upper bound is checked once after the loop.
        if a == 0:
            range_check(c, ids[a], ID_BITS, name="id_range")
        else:
            range_check_product(c, real[a - 1], ids[a] - ids[a - 1] - 1 + (1 << ID_BITS) * (1 - r_a), ID_BITS,
                                name="id_gap_range")
        if a == self.cap.accounts - 1:  # the last slot, when real, has no successor to bound its id
            range_check_product(c, r_a, (1 << ID_BITS) - 1 - ids[a], ID_BITS, name="id_last_range")

        # equity E = cash + sum q*mark, as sign and magnitude: E = mag - 2*neg*mag, mag < 2^64
        def equity(ev: Any) -> int:
            return _signed((ev(cash) + sum(ev(qty[k]) * ev(marks[k]) for k in range(k_n))) % R)

        neg = c.signal("neg", lambda ev: 1 if equity(ev) < 0 else 0)
        mag = c.signal("mag", lambda ev: abs(equity(ev)))
        assert_bool(c, neg, name="neg:bool")
        range_check(c, mag, VALUE_BITS, name="mag_range")
        debt = c.mul(neg, mag, name="debt")  # D_a
        e = mag - 2 * debt
        owed = mag - debt  # L_a = max(E, 0)
        bad_debt.append(debt)

        # MM = max(0, max_s loss_s), loss_s = -sum_k q*R_ks: MM < 2^64 (mm_range), every
        # d_s = MM - loss_s = MM + sum_k q*R_ks in [0, 2^64) (MM is at least every loss), and
        # MM * prod_s d_s = 0 (MM is 0 or one of the losses: the maximum, never higher)
        def loss(ev: Any, s: int) -> int:
            return _signed(-sum(ev(qty[k]) * ev(risk[k][s]) for k in range(k_n)) % R)

        mm = c.signal("mm", lambda ev: max(0, *(loss(ev, s) for s in range(s_n))))
        range_check(c, mm, VALUE_BITS, name="mm_range")

        # the 16 d_s checks, E = cash + sum q*mark (0 bits: an equality) and the under-margined flag share
        # their recompositions three at a time (gadgets/packed.py): each value is bounded by the checks
        # above (|value| < 2^PACK_BOUND), and the products q_k * (R or mark) cost one per pack, not per value.
        # U_a = [E < MM]: MM - E - 1 + 2^65 lies in [0, 2^66); its bit 65 is 1 iff MM - E - 1 >= 0.
        vals = [PackedValue(f"mm_ge_loss[{s}]", VALUE_BITS, mm, [risk[k][s] for k in range(k_n)])
                for s in range(s_n)]
        vals.append(PackedValue("equity", 0, cash - e, list(marks)))
        vals.append(PackedValue("under", VALUE_BITS + 2, mm - e - 1 + (1 << (VALUE_BITS + 1))))
        checked = packed_range_checks(c, vals, qty, PACK_BOUND, name="pack")
        under.append(checked[-1][VALUE_BITS + 1])
        prod: LinearCombination = mm
        for s in range(s_n):
            d_s = bits2num(checked[s])
            if s < s_n - 1:
                prod = c.mul(prod, d_s, name=f"one_of[{s}]")
            else:
                c.constrain(prod, d_s, 0, name="mm:one_of")

        leaf = poseidon_hash(c, [ids[a], salts[a], owed, mm], name="leaf", max_terms=DENSE)
        return leaf, owed, mm

    # ------------------------------------------------------------------------------ witness
    def inputs(self, ctx: ChainContext, book: Book, market: MarketData) -> dict[str, Any]:
        """Witness inputs for `book` at `market` (padded to capacity). Raises RelayerError subclasses
        when the book does not fit or a value is out of the proven ranges."""
        cap = self.cap
        if len(book.accounts) > cap.accounts:
            raise ProverError(f"the book has {len(book.accounts)} accounts; the circuit capacity is {cap.accounts}")
        if len(book.instruments) > cap.instruments:
            raise ProverError(f"the book has {len(book.instruments)} instruments; capacity {cap.instruments}")
        if ctx.chain_id != book.chain_id:
            raise ProverError(f"book is for chain {book.chain_id}, context for chain {ctx.chain_id}")
        md = market.padded(cap.instruments, cap.scenarios)
        res = evaluate(book, md)
        tree = self.tree(res)
        bh = int.from_bytes(ctx.block_hash, "big")
        inputs: dict[str, Any] = {
            "chainId": ctx.chain_id, "blockNumber": ctx.block_number, "blockHashHi": bh >> 128,
            "blockHashLo": bh & ((1 << 128) - 1), "marketCommitment": md.commitment(), "assets": ctx.assets,
            "liabilities": res.liabilities, "maintenanceMargin": res.maintenance_margin, "badDebt": res.bad_debt,
            "underMargined": res.under_margined, "root": tree.root.hash, "round": ctx.round,
            "mark": list(md.marks),
        }
        for k in range(cap.instruments):
            inputs[f"risk_off[{k}]"] = [r + RISK_OFFSET for r in md.risk[k]]
        n_real = len(book.accounts)
        pad = cap.accounts - n_real
        inputs["real"] = [1] * n_real + [0] * pad
        inputs["id"] = [a.id for a in book.accounts] + [0] * pad
        inputs["salt"] = [a.salt for a in book.accounts] + [0] * pad
        inputs["cash_off"] = [a.cash + CASH_OFFSET for a in book.accounts] + [CASH_OFFSET] * pad
        for i in range(cap.accounts):
            q = book.quantities(book.accounts[i]) if i < n_real else []
            q = q + [0] * (cap.instruments - len(q))
            inputs[f"qty_off[{i}]"] = [x + QTY_OFFSET for x in q]
        return inputs

    def tree(self, res: BookRisk) -> MerkleSumTree:
        """The native tree this circuit proves for an evaluated book (account holders' paths come from it)."""
        return build_tree(res, self.cap)

    def implied_public(self, witness: Sequence[int]) -> dict[str, int]:
        """The public values the witness's own internal signals imply (root, totals, commitment): what a
        cheating prover would have to publish to match its witness. Tests use it to play that prover."""
        return {k: self.circuit.value(witness, lc) for k, lc in self._implied.items()}

    def witness(self, inputs: Mapping[str, Any], overrides: Mapping[Signal | str, int] | None = None) -> list[int]:
        return self.circuit.witness(inputs, overrides=overrides)

    @staticmethod
    def public_from_inputs(inputs: Mapping[str, Any]) -> list[int]:
        return [int(inputs[n]) for n in PUBLIC_INPUTS]


def build_tree(res: BookRisk, cap: Capacity) -> MerkleSumTree:
    """The Merkle-sum tree over an evaluated book at a capacity (leaves in account-id order)."""
    return MerkleSumTree([LeafData(r.id, r.salt, r.owed, r.requirement) for r in res.accounts], cap.accounts)


def expected_public(ctx: ChainContext, book: Book, market: MarketData, cap: Capacity) -> list[int]:
    """The 12 public inputs computed natively (evaluator + native tree + commitment), no circuit."""
    md = market.padded(cap.instruments, cap.scenarios)
    res = evaluate(book, md)
    tree = build_tree(res, cap)
    bh = int.from_bytes(ctx.block_hash, "big")
    return [ctx.chain_id, ctx.block_number, bh >> 128, bh & ((1 << 128) - 1), md.commitment(), ctx.assets,
            res.liabilities, res.maintenance_margin, res.bad_debt, res.under_margined, tree.root.hash, ctx.round]


def public_signals_of(witness: Sequence[int]) -> list[int]:
    return [int(x) for x in witness[1:1 + len(PUBLIC_INPUTS)]]


__all__ = ["Capacity", "ChainContext", "SolvencyCircuit", "PUBLIC_INPUTS", "build_tree", "expected_public",
           "public_signals_of"]
