"""Ledger loaders (JSON, CSV, SQLite): round trips, and malformed rows rejected with row and reason."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from relayer.risk.ledger import (
    Account,
    Book,
    Instrument,
    LedgerError,
    book_from_json,
    load_csv,
    load_json,
    load_sqlite,
    save_csv,
    save_json,
    save_sqlite,
)
from relayer.risk.synthetic import generate_book


@pytest.fixture
def book() -> Book:
    return generate_book(31337, 12, seed=2)


def test_json_round_trip(book: Book, tmp_path: Path) -> None:
    p = tmp_path / "ledger.json"
    save_json(book, p)
    assert load_json(p) == book


def test_csv_round_trip(book: Book, tmp_path: Path) -> None:
    save_csv(book, tmp_path / "accounts.csv", tmp_path / "instruments.csv")
    assert load_csv(tmp_path / "accounts.csv", tmp_path / "instruments.csv", book.chain_id) == book


def test_sqlite_round_trip(book: Book, tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"
    save_sqlite(book, db)
    other = generate_book(5, 3, seed=9)
    save_sqlite(other, f"sqlite:///{db}")
    assert load_sqlite(db, book.chain_id) == book
    assert load_sqlite(f"sqlite:///{db}", 5) == other


def test_json_malformed_rows_named(book: Book) -> None:
    obj = book.to_json()
    obj["accounts"][1]["cash"] = 12.5  # a float amount has already lost precision
    obj["accounts"][3]["positions"] = {"NOPE": 3}
    obj["accounts"][4]["id"] = obj["accounts"][3]["id"]  # duplicate account
    obj["accounts"][6]["positions"] = {book.instruments[0].id: 1 << 40}
    obj["instruments"][2]["kind"] = "future"
    with pytest.raises(LedgerError) as ei:
        book_from_json(obj, "ledger.json")
    msg = str(ei.value)
    assert "nothing was loaded" in msg
    assert "accounts[1]: cash must be an exact integer, got float" in msg
    assert "accounts[3]: position in unknown instrument 'NOPE'" in msg
    assert "accounts[4]: account id" in msg and "a duplicate" in msg
    assert "accounts[6]: quantity" in msg
    assert "instruments[2]: kind 'future'" in msg
    assert len(ei.value.problems) >= 5


@pytest.mark.parametrize("mutate, reason", [
    (lambda o: o.update(format="other/1"), "format must be"),
    (lambda o: o.update(chain_id=0), "chain_id"),
    (lambda o: o["accounts"].reverse(), "out of order"),
    (lambda o: o["accounts"][0].update(salt="0x" + "f" * 64), "salt"),
    (lambda o: o["accounts"][0].update(extra=1), "unknown keys"),
    (lambda o: o["accounts"][0].update(id=-1), "account id"),
    (lambda o: o["accounts"][0].update(cash=str(1 << 64)), "cash"),
    (lambda o: o["instruments"][1].update(strike=0), "strike"),
    (lambda o: o["instruments"][0].update(expiry=5), "perp has no strike or expiry"),
    (lambda o: o["instruments"].append(dict(o["instruments"][0])), r"instruments\[4\]: duplicate instrument id"),
    (lambda o: (o["instruments"][0].update(kind="x"), o["instruments"].append(dict(o["instruments"][1]))),
     r"instruments\[4\]: duplicate instrument id"),
    (lambda o: o.update(accounts={}), "accounts must be a list"),
])
def test_json_rejections(book: Book, mutate: object, reason: str) -> None:
    obj = json.loads(json.dumps(book.to_json()))
    mutate(obj)  # type: ignore[operator]
    with pytest.raises(LedgerError, match=reason):
        book_from_json(obj)


def test_json_file_errors(tmp_path: Path) -> None:
    p = tmp_path / "x.json"
    p.write_text("{")
    with pytest.raises(LedgerError, match="not JSON"):
        load_json(p)
    with pytest.raises(LedgerError, match="cannot read"):
        load_json(tmp_path / "missing.json")


def test_csv_malformed_rows_named_by_line(book: Book, tmp_path: Path) -> None:
    acc, ins = tmp_path / "accounts.csv", tmp_path / "instruments.csv"
    save_csv(book, acc, ins)
    lines = acc.read_text().splitlines()
    cols = lines[3].split(",")
    cols[2] = "1e6"  # scientific notation is a float
    lines[3] = ",".join(cols)
    lines[5] = lines[5] + ",7"  # one field too many
    acc.write_text("\n".join(lines) + "\n")
    with pytest.raises(LedgerError) as ei:
        load_csv(acc, ins, book.chain_id)
    msg = str(ei.value)
    assert "line 4: cash '1e6' is not an exact integer" in msg
    assert "line 6:" in msg and "fields, expected" in msg
    # an instrument column that the instruments file does not define
    lines = acc.read_text().splitlines()
    lines[0] = lines[0].replace(book.instruments[0].id, "BTC-PERP")
    acc.write_text("\n".join(lines) + "\n")
    with pytest.raises(LedgerError, match="column 'BTC-PERP' is not an instrument"):
        load_csv(acc, ins, book.chain_id)
    ins.write_text("id,kind\nX,perp\n")
    with pytest.raises(LedgerError, match="header must be"):
        load_csv(acc, ins, book.chain_id)


def test_sqlite_malformed_rows(book: Book, tmp_path: Path) -> None:
    db = tmp_path / "l.db"
    save_sqlite(book, db)
    with sqlite3.connect(db) as con:
        con.execute("UPDATE ledger_accounts SET cash = 'lots' WHERE account_id = ?", (str(book.accounts[2].id),))
        con.execute("INSERT INTO ledger_positions VALUES (?, '424242', ?, '1')", (book.chain_id, book.instruments[0].id))
    with pytest.raises(LedgerError) as ei:
        load_sqlite(db, book.chain_id)
    msg = str(ei.value)
    assert f"account_id='{book.accounts[2].id}': cash 'lots' is not an exact integer" in msg
    assert "account_id='424242' has positions but no ledger_accounts row" in msg
    with pytest.raises(LedgerError, match="does not exist"):
        load_sqlite(tmp_path / "none.db", 1)
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    with pytest.raises(LedgerError, match="cannot read the ledger tables"):
        load_sqlite(empty, 1)


def test_book_validation_direct() -> None:
    ins = (Instrument("P", "perp", "ETH", 0, 0, 2),)
    with pytest.raises(LedgerError, match="duplicate"):
        Book(1, ins, (Account(1, 0, 0), Account(1, 0, 0)))
    with pytest.raises(LedgerError, match="unknown instrument"):
        Book(1, ins, (Account(1, 0, 0, {"Q": 1}),))
    with pytest.raises(LedgerError, match="must be an integer"):
        Book(1, ins, (Account(1, 0, True),))  # type: ignore[arg-type]
    with pytest.raises(LedgerError, match="at most 16"):
        Book(1, tuple(Instrument(f"P{i}", "perp", "ETH") for i in range(17)), ())
    b = Book(1, ins, (Account(1, 0, 5, {"P": -3}), Account(4, 0, 0)))
    assert b.quantities(b.accounts[0]) == [-3]
    assert b.without(1).accounts == (Account(4, 0, 0),)
