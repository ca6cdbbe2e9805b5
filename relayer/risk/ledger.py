"""The venue's private ledger for one chain: instruments, accounts, cash and signed positions.

Loaders for the documented JSON, CSV and SQLite formats (docs/solvency.md §Ledger formats) check
every row and raise one LedgerError listing each bad row and why: a partial book is never returned,
so nothing is ever proven from one.
"""

from __future__ import annotations

import csv
import json
import re
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from relayer.errors import FormatError
from relayer.risk.units import CASH_BITS, ID_BITS, MAX_INSTRUMENTS, QTY_BITS, in_signed_range
from relayer.zk.field import R

LEDGER_FORMAT = "relayer-ledger/1"
InstrumentKind = Literal["call", "put", "perp"]
KINDS: tuple[str, ...] = ("call", "put", "perp")
_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
MAX_ERRORS_SHOWN = 20


class LedgerError(FormatError):
    """A ledger file or table is malformed; the message lists each bad row and the reason."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        shown = problems[:MAX_ERRORS_SHOWN]
        more = f"\n  ... and {len(problems) - len(shown)} more" if len(problems) > len(shown) else ""
        super().__init__(f"ledger {source} rejected ({len(problems)} problem(s); nothing was loaded):\n  "
                         + "\n  ".join(shown) + more)


@dataclass(frozen=True)
class Instrument:
    """A European call/put (strike in micro-USD per underlying unit, expiry in unix seconds) or a
    perpetual on `underlying`. One lot = 10^-lot_decimals units of the underlying."""

    id: str
    kind: InstrumentKind
    underlying: str
    strike: int = 0
    expiry: int = 0
    lot_decimals: int = 0

    def problems(self) -> list[str]:
        p: list[str] = []
        if not isinstance(self.id, str) or not _ID_RE.match(self.id):
            p.append(f"id {self.id!r} must be 1-64 characters of [A-Za-z0-9._:-]")
        if self.kind not in KINDS:
            p.append(f"kind {self.kind!r} must be one of {', '.join(KINDS)}")
        if not isinstance(self.underlying, str) or not _ID_RE.match(self.underlying):
            p.append(f"underlying {self.underlying!r} must be 1-64 characters of [A-Za-z0-9._:-]")
        for name in ("strike", "expiry", "lot_decimals"):
            v = getattr(self, name)
            if not _is_int(v):
                p.append(f"{name} must be an integer, got {v!r}")
        if p:
            return p
        if self.kind == "perp":
            if self.strike != 0 or self.expiry != 0:
                p.append("a perp has no strike or expiry (both must be 0)")
        else:
            if not 0 < self.strike < 1 << 64:
                p.append(f"strike {self.strike} must be in (0, 2^64) micro-USD")
            if not 0 < self.expiry < 1 << 40:
                p.append(f"expiry {self.expiry} must be a positive unix timestamp")
        if not 0 <= self.lot_decimals <= 18:
            p.append(f"lot_decimals {self.lot_decimals} must be in 0..18")
        return p

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "underlying": self.underlying, "strike": self.strike,
                "expiry": self.expiry, "lot_decimals": self.lot_decimals}


@dataclass(frozen=True)
class Account:
    """An account: uint64 id, a salt (field element, blinds the id in the tree leaf), cash in
    micro-USD (signed) and signed positions in lots keyed by instrument id (zeros omitted)."""

    id: int
    salt: int
    cash: int
    positions: Mapping[str, int] = field(default_factory=dict)

    def problems(self, instruments: Mapping[str, Instrument] | None = None) -> list[str]:
        p: list[str] = []
        if not _is_int(self.id) or not 0 <= self.id < 1 << ID_BITS:
            p.append(f"account id {self.id!r} must be an integer in [0, 2^{ID_BITS})")
        if not _is_int(self.salt) or not 0 <= self.salt < R:
            p.append(f"salt must be an integer in [0, r), got {self.salt!r}")
        if not _is_int(self.cash) or not in_signed_range(self.cash, CASH_BITS):
            p.append(f"cash {self.cash!r} must be an integer micro-USD amount in [-2^{CASH_BITS}, 2^{CASH_BITS})")
        for k, q in self.positions.items():
            if instruments is not None and k not in instruments:
                p.append(f"position in unknown instrument {k!r}")
            if not _is_int(q) or not in_signed_range(q, QTY_BITS):
                p.append(f"quantity {q!r} in {k!r} must be an integer number of lots in [-2^{QTY_BITS}, 2^{QTY_BITS})")
        return p

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "salt": hex(self.salt), "cash": self.cash,
                "positions": {k: v for k, v in sorted(self.positions.items()) if v}}


@dataclass(frozen=True)
class Book:
    """One chain's book: instruments in a fixed order (the circuit's instrument index) and accounts
    sorted by strictly increasing id (the tree's leaf order). Validated on construction."""

    chain_id: int
    instruments: tuple[Instrument, ...]
    accounts: tuple[Account, ...]

    def __post_init__(self) -> None:
        problems: list[str] = []
        if not _is_int(self.chain_id) or not 0 < self.chain_id < 1 << 64:
            problems.append(f"chain_id {self.chain_id!r} must be in (0, 2^64)")
        if len(self.instruments) > MAX_INSTRUMENTS:
            problems.append(f"{len(self.instruments)} instruments; the circuit supports at most {MAX_INSTRUMENTS}")
        seen: set[str] = set()
        for i, ins in enumerate(self.instruments):
            problems += [f"instrument {i} ({ins.id!r}): {m}" for m in ins.problems()]
            if ins.id in seen:
                problems.append(f"instrument {i}: duplicate id {ins.id!r}")
            seen.add(ins.id)
        by_id = {ins.id: ins for ins in self.instruments}
        prev: int | None = None
        for i, a in enumerate(self.accounts):
            problems += [f"account {i} (id {a.id!r}): {m}" for m in a.problems(by_id)]
            if _is_int(a.id) and prev is not None and a.id <= prev:
                problems.append(f"account {i} (id {a.id}): ids must be strictly increasing "
                                f"(previous {prev}); {'duplicate' if a.id == prev else 'unsorted'} account")
            if _is_int(a.id):
                prev = a.id
        if problems:
            raise LedgerError(f"for chain {self.chain_id}", problems)

    @property
    def instrument_index(self) -> dict[str, int]:
        return {ins.id: i for i, ins in enumerate(self.instruments)}

    def quantities(self, account: Account) -> list[int]:
        """Dense signed quantities of `account`, in instrument order."""
        idx = self.instrument_index
        q = [0] * len(self.instruments)
        for k, v in account.positions.items():
            q[idx[k]] = v
        return q

    def to_json(self) -> dict[str, Any]:
        return {"format": LEDGER_FORMAT, "chain_id": self.chain_id,
                "instruments": [i.to_json() for i in self.instruments],
                "accounts": [a.to_json() for a in self.accounts]}

    def without(self, account_id: int) -> Book:
        return Book(self.chain_id, self.instruments, tuple(a for a in self.accounts if a.id != account_id))


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _parse_int(v: object, what: str) -> int:
    """Exact integers only: JSON ints, decimal strings, 0x-hex strings. Floats are refused: a float
    amount has already lost precision."""
    if _is_int(v):
        return v  # type: ignore[return-value]
    if isinstance(v, str):
        s = v.strip()
        try:
            if re.fullmatch(r"[+-]?0[xX][0-9a-fA-F]+", s):
                return int(s, 16)
            if re.fullmatch(r"[+-]?[0-9]+", s):
                return int(s, 10)
        except ValueError:
            pass
        raise ValueError(f"{what} {v!r} is not an exact integer (decimal or 0x-hex)")
    raise ValueError(f"{what} must be an exact integer, got {type(v).__name__} {v!r}")


# ---------------------------------------------------------------------------------------- JSON

def book_from_json(obj: Any, source: str = "<json>") -> Book:
    """Parse the JSON ledger format; every problem is collected and reported at once."""
    problems: list[str] = []
    if not isinstance(obj, dict):
        raise LedgerError(source, ["top level must be an object"])
    if obj.get("format") != LEDGER_FORMAT:
        problems.append(f"format must be {LEDGER_FORMAT!r}, got {obj.get('format')!r}")
    try:
        chain_id = _parse_int(obj.get("chain_id"), "chain_id")
    except ValueError as e:
        problems.append(str(e))
        chain_id = 0
    instruments: list[Instrument] = []
    raw_ins = obj.get("instruments")
    if not isinstance(raw_ins, list):
        problems.append("instruments must be a list")
        raw_ins = []
    ins_rows: list[int] = []
    for i, row in enumerate(raw_ins):
        try:
            instruments.append(_instrument_from_row(row))
            ins_rows.append(i)
        except ValueError as e:
            problems.append(f"instruments[{i}]: {e}")
    accounts: list[Account] = []
    rows: list[int] = []  # original row of each parsed account: errors name the row of the file
    raw_acc = obj.get("accounts")
    if not isinstance(raw_acc, list):
        problems.append("accounts must be a list")
        raw_acc = []
    for i, row in enumerate(raw_acc):
        try:
            if not isinstance(row, dict):
                raise ValueError("must be an object")
            extra = set(row) - {"id", "salt", "cash", "positions"}
            if extra:
                raise ValueError(f"unknown keys {sorted(extra)}")
            pos = row.get("positions", {})
            if not isinstance(pos, dict):
                raise ValueError("positions must be an object {instrument id: quantity}")
            accounts.append(Account(
                id=_parse_int(row.get("id"), "id"), salt=_parse_int(row.get("salt"), "salt"),
                cash=_parse_int(row.get("cash"), "cash"),
                positions={str(k): _parse_int(v, f"quantity of {k!r}") for k, v in pos.items()}))
            rows.append(i)
        except ValueError as e:
            problems.append(f"accounts[{i}]: {e}")
    return _finish(source, problems, chain_id, instruments, accounts,
                   row_name=lambda i: f"accounts[{rows[i]}]", ins_name=lambda i: f"instruments[{ins_rows[i]}]")


def load_json(path: str | Path) -> Book:
    p = Path(path)
    try:
        obj = json.loads(p.read_text())
    except OSError as e:
        raise LedgerError(str(p), [f"cannot read: {e}"]) from e
    except json.JSONDecodeError as e:
        raise LedgerError(str(p), [f"not JSON: {e}"]) from e
    return book_from_json(obj, source=str(p))


def save_json(book: Book, path: str | Path) -> None:
    Path(path).write_text(json.dumps(book.to_json(), indent=1) + "\n")


def _instrument_from_row(row: Any) -> Instrument:
    if not isinstance(row, dict):
        raise ValueError("must be an object")
    extra = set(row) - {"id", "kind", "underlying", "strike", "expiry", "lot_decimals"}
    if extra:
        raise ValueError(f"unknown keys {sorted(extra)}")
    kind = row.get("kind")
    ins = Instrument(
        id=str(row.get("id")), kind=kind, underlying=str(row.get("underlying")),  # type: ignore[arg-type]
        strike=_parse_int(row.get("strike", 0), "strike"), expiry=_parse_int(row.get("expiry", 0), "expiry"),
        lot_decimals=_parse_int(row.get("lot_decimals", 0), "lot_decimals"))
    p = ins.problems()
    if p:
        raise ValueError("; ".join(p))
    return ins


def _finish(source: str, problems: list[str], chain_id: int, instruments: list[Instrument],
            accounts: list[Account], row_name: Any, ins_name: Any) -> Book:
    """Row-level checks that need the whole book (unknown instrument, duplicate/unsorted ids), named
    by row, then the Book (whose own validation can only repeat what is checked here)."""
    seen_ins: set[str] = set()
    for i, ins in enumerate(instruments):
        if ins.id in seen_ins:
            problems.append(f"{ins_name(i)}: duplicate instrument id {ins.id!r}")
        seen_ins.add(ins.id)
    if len(instruments) > MAX_INSTRUMENTS:
        problems.append(f"{len(instruments)} instruments; the circuit supports at most {MAX_INSTRUMENTS}")
    by_id = {ins.id: ins for ins in instruments}
    prev: int | None = None
    for i, a in enumerate(accounts):
        for m in a.problems(by_id):
            problems.append(f"{row_name(i)}: {m}")
        if prev is not None and a.id <= prev:
            problems.append(f"{row_name(i)}: account id {a.id} is {'a duplicate' if a.id == prev else 'out of order'}"
                            f" (previous {prev}); ids must be strictly increasing")
        prev = a.id
    if not 0 < chain_id < 1 << 64:
        problems.append(f"chain_id {chain_id} must be in (0, 2^64)")
    if problems:
        raise LedgerError(source, problems)
    return Book(chain_id, tuple(instruments), tuple(accounts))


# ----------------------------------------------------------------------------------------- CSV

INSTRUMENT_COLUMNS = ("id", "kind", "underlying", "strike", "expiry", "lot_decimals")
ACCOUNT_FIXED_COLUMNS = ("account_id", "salt", "cash")


def load_csv(accounts_csv: str | Path, instruments_csv: str | Path, chain_id: int) -> Book:
    """Two CSV files: instruments (columns INSTRUMENT_COLUMNS) and accounts (columns account_id, salt,
    cash, then one column per instrument id holding the signed quantity; empty = 0). Row numbers in
    errors are file line numbers (header = line 1)."""
    problems: list[str] = []
    instruments: list[Instrument] = []
    ins_src = str(instruments_csv)
    rows = _read_csv(instruments_csv)
    header = rows[0] if rows else []
    if tuple(h.strip() for h in header) != INSTRUMENT_COLUMNS:
        raise LedgerError(ins_src, [f"line 1: header must be {','.join(INSTRUMENT_COLUMNS)}, got {','.join(header)}"])
    ins_lines: list[int] = []
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != len(INSTRUMENT_COLUMNS):
            problems.append(f"{ins_src} line {line}: {len(row)} fields, expected {len(INSTRUMENT_COLUMNS)}")
            continue
        try:
            d = dict(zip(INSTRUMENT_COLUMNS, (x.strip() for x in row)))
            instruments.append(_instrument_from_row(d))
            ins_lines.append(line)
        except ValueError as e:
            problems.append(f"{ins_src} line {line}: {e}")
    acc_src = str(accounts_csv)
    rows = _read_csv(accounts_csv)
    header = [h.strip() for h in (rows[0] if rows else [])]
    if tuple(header[:3]) != ACCOUNT_FIXED_COLUMNS:
        raise LedgerError(acc_src, [f"line 1: header must start with {','.join(ACCOUNT_FIXED_COLUMNS)}"])
    ins_cols = header[3:]
    known = {i.id for i in instruments}
    for col in ins_cols:
        if col not in known:
            problems.append(f"{acc_src} line 1: column {col!r} is not an instrument of {ins_src}")
    if len(set(ins_cols)) != len(ins_cols):
        problems.append(f"{acc_src} line 1: repeated instrument column")
    accounts: list[Account] = []
    lines: list[int] = []
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            problems.append(f"{acc_src} line {line}: {len(row)} fields, expected {len(header)}")
            continue
        try:
            pos: dict[str, int] = {}
            for col, v in zip(ins_cols, row[3:]):
                v = v.strip()
                if v:
                    q = _parse_int(v, f"quantity of {col!r}")
                    if q:
                        pos[col] = q
            accounts.append(Account(id=_parse_int(row[0], "account_id"), salt=_parse_int(row[1], "salt"),
                                    cash=_parse_int(row[2], "cash"), positions=pos))
            lines.append(line)
        except ValueError as e:
            problems.append(f"{acc_src} line {line}: {e}")
    return _finish(acc_src, problems, chain_id, instruments, accounts,
                   row_name=lambda i: f"{acc_src} line {lines[i]}", ins_name=lambda i: f"{ins_src} line {ins_lines[i]}")


def _read_csv(path: str | Path) -> list[list[str]]:
    try:
        with open(path, newline="") as f:
            return [r for r in csv.reader(f) if r and not (len(r) == 1 and not r[0].strip())]
    except OSError as e:
        raise LedgerError(str(path), [f"cannot read: {e}"]) from e
    except csv.Error as e:
        raise LedgerError(str(path), [f"not CSV: {e}"]) from e


def save_csv(book: Book, accounts_csv: str | Path, instruments_csv: str | Path) -> None:
    with open(instruments_csv, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(INSTRUMENT_COLUMNS)
        for ins in book.instruments:
            w.writerow([ins.id, ins.kind, ins.underlying, ins.strike, ins.expiry, ins.lot_decimals])
    with open(accounts_csv, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow([*ACCOUNT_FIXED_COLUMNS, *(i.id for i in book.instruments)])
        for a in book.accounts:
            w.writerow([a.id, hex(a.salt), a.cash, *(a.positions.get(i.id, "") for i in book.instruments)])


# -------------------------------------------------------------------------------------- SQLite

SQL_SCHEMA = """
CREATE TABLE IF NOT EXISTS ledger_instruments (
  chain_id INTEGER NOT NULL, position INTEGER NOT NULL, id TEXT NOT NULL, kind TEXT NOT NULL,
  underlying TEXT NOT NULL, strike TEXT NOT NULL, expiry INTEGER NOT NULL, lot_decimals INTEGER NOT NULL,
  PRIMARY KEY (chain_id, id));
CREATE TABLE IF NOT EXISTS ledger_accounts (
  chain_id INTEGER NOT NULL, account_id TEXT NOT NULL, salt TEXT NOT NULL, cash TEXT NOT NULL,
  PRIMARY KEY (chain_id, account_id));
CREATE TABLE IF NOT EXISTS ledger_positions (
  chain_id INTEGER NOT NULL, account_id TEXT NOT NULL, instrument TEXT NOT NULL, quantity TEXT NOT NULL,
  PRIMARY KEY (chain_id, account_id, instrument));
"""
# amounts are TEXT: SQLite integers are 64-bit signed and cash/salt need more; text keeps them exact


def _sqlite_path(db: str | Path) -> str:
    s = str(db)
    return s[len("sqlite:///"):] if s.startswith("sqlite:///") else s


def save_sqlite(book: Book, db: str | Path) -> None:
    with sqlite3.connect(_sqlite_path(db)) as con:
        con.executescript(SQL_SCHEMA)
        cid = book.chain_id
        for t in ("ledger_instruments", "ledger_accounts", "ledger_positions"):
            con.execute(f"DELETE FROM {t} WHERE chain_id = ?", (cid,))
        con.executemany("INSERT INTO ledger_instruments VALUES (?,?,?,?,?,?,?,?)",
                        [(cid, i, x.id, x.kind, x.underlying, str(x.strike), x.expiry, x.lot_decimals)
                         for i, x in enumerate(book.instruments)])
        con.executemany("INSERT INTO ledger_accounts VALUES (?,?,?,?)",
                        [(cid, str(a.id), hex(a.salt), str(a.cash)) for a in book.accounts])
        con.executemany("INSERT INTO ledger_positions VALUES (?,?,?,?)",
                        [(cid, str(a.id), k, str(q)) for a in book.accounts for k, q in a.positions.items() if q])


def load_sqlite(db: str | Path, chain_id: int) -> Book:
    """Read one chain's book from the ledger tables (SQL_SCHEMA) of a SQLite file or sqlite:/// URL."""
    path = _sqlite_path(db)
    src = f"{path} (chain {chain_id})"
    if not Path(path).exists():
        raise LedgerError(src, ["database file does not exist"])
    problems: list[str] = []
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            ins_rows = con.execute("SELECT position, id, kind, underlying, strike, expiry, lot_decimals FROM "
                                   "ledger_instruments WHERE chain_id = ? ORDER BY position", (chain_id,)).fetchall()
            acc_rows = con.execute("SELECT account_id, salt, cash FROM ledger_accounts WHERE chain_id = ?",
                                   (chain_id,)).fetchall()
            pos_rows = con.execute("SELECT account_id, instrument, quantity FROM ledger_positions WHERE chain_id = ?",
                                   (chain_id,)).fetchall()
        finally:
            con.close()
    except sqlite3.Error as e:
        raise LedgerError(src, [f"cannot read the ledger tables: {e}"]) from e
    instruments: list[Instrument] = []
    for row in ins_rows:
        try:
            instruments.append(_instrument_from_row(dict(zip(INSTRUMENT_COLUMNS, row[1:]))))
        except ValueError as e:
            problems.append(f"ledger_instruments row id={row[1]!r}: {e}")
    positions: dict[str, dict[str, int]] = {}
    for aid, ins, q in pos_rows:
        try:
            positions.setdefault(str(aid), {})[str(ins)] = _parse_int(q, f"quantity of {ins!r}")
        except ValueError as e:
            problems.append(f"ledger_positions row account_id={aid!r} instrument={ins!r}: {e}")
    known_accounts = {str(r[0]) for r in acc_rows}
    for aid in positions:
        if aid not in known_accounts:
            problems.append(f"ledger_positions: account_id={aid!r} has positions but no ledger_accounts row")
    parsed: list[tuple[int, Account, str]] = []
    for aid, salt, cash in acc_rows:
        try:
            a = Account(id=_parse_int(aid, "account_id"), salt=_parse_int(salt, "salt"), cash=_parse_int(cash, "cash"),
                        positions={k: v for k, v in positions.get(str(aid), {}).items() if v})
            parsed.append((a.id, a, str(aid)))
        except ValueError as e:
            problems.append(f"ledger_accounts row account_id={aid!r}: {e}")
    parsed.sort(key=lambda t: t[0])  # SQL rows have no order; the tree's order is by id
    names = [f"ledger_accounts row account_id={t[2]!r}" for t in parsed]
    return _finish(src, problems, chain_id, instruments, [t[1] for t in parsed],
                   row_name=lambda i: names[i], ins_name=lambda i: f"ledger_instruments position {i}")


def sorted_accounts(accounts: Iterable[Account]) -> tuple[Account, ...]:
    return tuple(sorted(accounts, key=lambda a: a.id))


__all__ = ["Instrument", "Account", "Book", "LedgerError", "LEDGER_FORMAT", "book_from_json", "load_json", "save_json",
           "load_csv", "save_csv", "load_sqlite", "save_sqlite", "SQL_SCHEMA", "sorted_accounts"]
