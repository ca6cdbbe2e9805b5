"""`Store(url)`: the relayer's persistent state (SQLite file by default, PostgreSQL by URL).

Every method is one database transaction. Callers write a state BEFORE the side effect it
announces (write-ahead), so after a `kill -9` the store says what may have happened and a restart
resumes instead of repeating. Rows never leave this package: methods return frozen records.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, func
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, SQLModel, create_engine, select

from relayer.attest.eip712 import Attestation, hash_attestation_struct
from relayer.errors import HaltError, StorageError
from relayer.storage.models import (
    AttestationRow,
    NonceRow,
    ProofRow,
    RoundRow,
    RoundSnapshotRow,
    SentTxRow,
    SignatureRow,
    SigningRecordRow,
    SnapshotRow,
    SubmissionEventRow,
    SubmissionRow,
)
from relayer.storage.records import (
    REASON_REQUIRED,
    ROUND_TRANSITIONS,
    SUBMISSION_TRANSITIONS,
    RoundRecord,
    RoundState,
    SentTx,
    SignatureRecord,
    SubmissionEvent,
    SubmissionRecord,
    SubmissionState,
)
from relayer.storage.codec import snapshot_from_json, snapshot_to_json
from relayer.types import ChainSnapshot
from relayer.zk.formats.snarkjs_json import proof_from_json, proof_to_json, public_from_json, public_to_json
from relayer.zk.groth16.types import Proof

log = logging.getLogger(__name__)

_TABLES = [
    SnapshotRow.__table__, ProofRow.__table__, RoundRow.__table__, RoundSnapshotRow.__table__,
    AttestationRow.__table__, SigningRecordRow.__table__, SignatureRow.__table__, SubmissionRow.__table__,
    SentTxRow.__table__, SubmissionEventRow.__table__, NonceRow.__table__,
]


_TX_STATUSES = ("sent", "replaced", "dropped", "mined")


def _hex(b: bytes) -> str:
    return "0x" + bytes(b).hex()


def _unhex(s: str) -> bytes:
    return bytes.fromhex(s.removeprefix("0x"))


@dataclass(frozen=True)
class ProofRecord:
    """A chain's Groth16 proof as stored: proof points, public inputs and where it came from."""

    id: int
    chain_id: int
    block_number: int
    digest: bytes
    proof: Proof
    public_inputs: tuple[int, ...]
    backend: str


class Store:
    """The relayer database. `url`: `sqlite:///path.db` (WAL, foreign keys on) or `postgresql://...`."""

    def __init__(self, url: str = "sqlite:///relayer.db", echo: bool = False) -> None:
        self.url = url
        self._write_lock = threading.RLock()
        try:
            if url.startswith("sqlite"):
                self.engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False, "timeout": 60})
                _sqlite_pragmas(self.engine)
            elif url.startswith("postgresql"):
                # code path only (no server in the test environment); rows lock with SELECT ... FOR UPDATE
                self.engine = create_engine(url, echo=echo, pool_pre_ping=True)
            else:
                raise StorageError(f"database URL {url!r} is neither sqlite:/// nor postgresql://")
            SQLModel.metadata.create_all(self.engine, tables=_TABLES)
        except ImportError as exc:
            raise StorageError(f"the database URL {_redact(url)} needs a driver that is not installed ({exc.name}); "
                               "install it (PostgreSQL: pip install 'psycopg[binary]') or use sqlite:///") from None
        except SQLAlchemyError as exc:
            raise StorageError(f"cannot open the database {_redact(url)}: {exc}; check relayer.database_url") from None

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _tx(self) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back on any exception."""
        # SQLite takes the write lock at BEGIN IMMEDIATE (see _sqlite_pragmas); the in-process lock
        # keeps this process's threads from queueing on the file lock's busy timeout.
        with self._write_lock:
            session = Session(self.engine, expire_on_commit=False)
            try:
                yield session
                session.commit()
            except SQLAlchemyError as exc:
                session.rollback()
                raise StorageError(f"database error on {_redact(self.url)}: {exc}") from exc
            except BaseException:
                session.rollback()
                raise
            finally:
                session.close()

    # ------------------------------------------------------------------ pragmas (for tests/status)

    def pragma(self, name: str) -> Any:
        if not self.is_sqlite:
            raise StorageError("PRAGMA is SQLite only")
        with self.engine.connect() as conn:
            return conn.exec_driver_sql(f"PRAGMA {name}").scalar()

    # ------------------------------------------------------------------ snapshots and proofs

    def save_snapshot(self, snap: ChainSnapshot) -> int:
        """Store a snapshot (idempotent for the same chain/block/hash); returns its id."""
        with self._tx() as s:
            row = s.exec(select(SnapshotRow).where(
                SnapshotRow.chain_id == snap.chain_id, SnapshotRow.block_number == snap.block_number,
                SnapshotRow.block_hash == _hex(snap.block_hash))).first()
            if row is None:
                row = SnapshotRow(chain_id=snap.chain_id, block_number=snap.block_number, block_hash=_hex(snap.block_hash),
                                  data=json.dumps(snapshot_to_json(snap), sort_keys=True), created_at=time.time())
                s.add(row)
                s.flush()
            assert row.id is not None
            return row.id

    def get_snapshot(self, snapshot_id: int) -> ChainSnapshot:
        with self._tx() as s:
            row = s.get(SnapshotRow, snapshot_id)
            if row is None:
                raise StorageError(f"no snapshot with id {snapshot_id}")
            return snapshot_from_json(json.loads(row.data))

    def latest_snapshot(self, chain_id: int) -> ChainSnapshot | None:
        with self._tx() as s:
            row = s.exec(select(SnapshotRow).where(SnapshotRow.chain_id == chain_id)
                         .order_by(SnapshotRow.block_number.desc(), SnapshotRow.id.desc())).first()  # type: ignore[union-attr]
            return None if row is None else snapshot_from_json(json.loads(row.data))

    def save_proof(self, chain_id: int, block_number: int, digest: bytes, proof: Proof,
                   public_inputs: Sequence[int], backend: str) -> int:
        """Store a verified proof (idempotent by digest); returns its id."""
        with self._tx() as s:
            row = s.exec(select(ProofRow).where(ProofRow.digest == _hex(digest))).first()
            if row is None:
                row = ProofRow(chain_id=chain_id, block_number=block_number, digest=_hex(digest),
                               proof=json.dumps(proof_to_json(proof)), public_inputs=json.dumps(public_to_json(list(public_inputs))),
                               backend=backend, created_at=time.time())
                s.add(row)
                s.flush()
            assert row.id is not None
            return row.id

    def get_proof(self, digest: bytes) -> ProofRecord:
        with self._tx() as s:
            row = s.exec(select(ProofRow).where(ProofRow.digest == _hex(digest))).first()
            if row is None:
                raise StorageError(f"no proof with digest {_hex(digest)}")
            return ProofRecord(id=row.id or 0, chain_id=row.chain_id, block_number=row.block_number,
                               digest=_unhex(row.digest), proof=proof_from_json(json.loads(row.proof)),
                               public_inputs=tuple(public_from_json(json.loads(row.public_inputs))), backend=row.backend)

    # ------------------------------------------------------------------ rounds

    def create_round(self, round: int, snapshot_ids: Mapping[int, int]) -> RoundRecord:
        """A new round in state `snapshotted`, pinned to one snapshot per chain."""
        if round < 1:
            raise StorageError(f"round numbers start at 1, got {round}")
        now = time.time()
        with self._tx() as s:
            if s.get(RoundRow, round) is not None:
                raise StorageError(f"round {round} already exists; a new snapshot needs a new round number")
            row = RoundRow(round=round, state=RoundState.SNAPSHOTTED.value, created_at=now, updated_at=now,
                           stage_times=json.dumps({RoundState.SNAPSHOTTED.value: now}))
            s.add(row)
            s.flush()  # the round row first: round_snapshots references it only logically
            for chain_id, sid in snapshot_ids.items():
                if s.get(SnapshotRow, sid) is None:
                    raise StorageError(f"round {round}: snapshot id {sid} for chain {chain_id} does not exist")
                s.add(RoundSnapshotRow(round=round, chain_id=chain_id, snapshot_id=sid))
            return _round(row)

    def set_round_proof(self, round: int, chain_id: int, proof_id: int) -> None:
        with self._tx() as s:
            link = s.get(RoundSnapshotRow, (round, chain_id))
            if link is None:
                raise StorageError(f"round {round} has no snapshot for chain {chain_id}")
            if s.get(ProofRow, proof_id) is None:
                raise StorageError(f"no proof with id {proof_id}")
            link.proof_id = proof_id
            s.add(link)

    def round_snapshots(self, round: int) -> dict[int, int]:
        """chain id -> snapshot id of a round."""
        with self._tx() as s:
            rows = s.exec(select(RoundSnapshotRow).where(RoundSnapshotRow.round == round)).all()
            return {r.chain_id: r.snapshot_id for r in rows}

    def round_proofs(self, round: int) -> dict[int, ProofRecord]:
        """chain id -> the proof stored for that chain in `round` (chains not proven yet are absent).
        Added for the pipeline: a restarted round keeps the proofs it already has."""
        with self._tx() as s:
            links = s.exec(select(RoundSnapshotRow).where(RoundSnapshotRow.round == round)).all()
            out: dict[int, ProofRecord] = {}
            for link in links:
                row = s.get(ProofRow, link.proof_id) if link.proof_id is not None else None
                if row is not None:
                    out[link.chain_id] = ProofRecord(
                        id=row.id or 0, chain_id=row.chain_id, block_number=row.block_number, digest=_unhex(row.digest),
                        proof=proof_from_json(json.loads(row.proof)),
                        public_inputs=tuple(public_from_json(json.loads(row.public_inputs))), backend=row.backend)
            return out

    def advance_round(self, round: int, state: RoundState, reason: str | None = None) -> RoundRecord:
        """Move a round forward; an illegal move is a broken invariant (HaltError)."""
        with self._tx() as s:
            row = s.get(RoundRow, round)
            if row is None:
                raise StorageError(f"no round {round}")
            return _round(self._advance(row, state, reason, s))

    def _advance(self, row: RoundRow, state: RoundState, reason: str | None, s: Session) -> RoundRow:
        cur = RoundState(row.state)
        if state == cur and state != RoundState.FAILED:
            return row  # idempotent: a resumed step writes the same state again
        if state not in ROUND_TRANSITIONS[cur]:
            raise HaltError(f"round {row.round}: illegal state change {cur.value} -> {state.value}")
        if state == RoundState.FAILED and not reason:
            raise StorageError(f"round {row.round}: failed needs a reason")
        now = time.time()
        times = json.loads(row.stage_times)
        times.setdefault(state.value, now)
        row.state, row.reason, row.updated_at, row.stage_times = state.value, reason, now, json.dumps(times)
        s.add(row)
        return row

    def get_round(self, round: int) -> RoundRecord | None:
        with self._tx() as s:
            row = s.get(RoundRow, round)
            return None if row is None else _round(row)

    def rounds(self, states: Sequence[RoundState] | None = None) -> list[RoundRecord]:
        with self._tx() as s:
            q = select(RoundRow)
            if states:
                q = q.where(RoundRow.state.in_([st.value for st in states]))  # type: ignore[attr-defined]
            return [_round(r) for r in s.exec(q.order_by(RoundRow.round)).all()]

    def last_round_number(self) -> int:
        with self._tx() as s:
            return int(s.exec(select(func.max(RoundRow.round))).one() or 0)

    def newest_signed_round(self) -> int:
        """The highest round that reached `signed` (or later, except failed); 0 when none."""
        live = [RoundState.SIGNED.value, RoundState.SUBMITTING.value, RoundState.DONE.value]
        with self._tx() as s:
            return int(s.exec(select(func.max(RoundRow.round)).where(RoundRow.state.in_(live))).one() or 0)  # type: ignore[attr-defined]

    # ------------------------------------------------------------------ attestations and signatures

    def save_attestation(self, att: Attestation, bundle: bytes) -> RoundRecord:
        """Store the round's attestation and move it to `attested`, in one transaction. Saving a
        different attestation for the same round is refused (HaltError)."""
        struct = _hex(hash_attestation_struct(att))
        with self._tx() as s:
            row = s.get(RoundRow, att.round)
            if row is None:
                raise StorageError(f"no round {att.round}; create it from its snapshots first")
            existing = s.get(AttestationRow, att.round)
            if existing is not None:
                if existing.struct_hash != struct:
                    raise HaltError(f"round {att.round} already has a different attestation ({existing.struct_hash}); "
                                    "a new snapshot needs a new round number")
                return _round(row)
            s.add(AttestationRow(round=att.round, struct_hash=struct, data=json.dumps(att.to_json()),
                                 bundle=_hex(bundle), created_at=time.time()))
            return _round(self._advance(row, RoundState.ATTESTED, None, s))

    def get_attestation(self, round: int) -> tuple[Attestation, bytes]:
        with self._tx() as s:
            row = s.get(AttestationRow, round)
            if row is None:
                raise StorageError(f"round {round} has no attestation")
            att = Attestation.from_json(json.loads(row.data))
            if _hex(hash_attestation_struct(att)) != row.struct_hash:
                raise HaltError(f"round {round}: the stored attestation does not match its recorded hash (corrupt database)")
            return att, _unhex(row.bundle)

    def record_signing_intent(self, signer: str, round: int, struct_hash: bytes) -> bool:
        """Persist that `signer` signs `struct_hash` for `round`, BEFORE it releases a signature.
        Returns False when it was already recorded (same data: signing again is harmless).
        Raises HaltError when the signer already signed different data for this round."""
        with self._tx() as s:
            row = s.get(SigningRecordRow, (signer, round))
            if row is not None:
                if row.struct_hash != _hex(struct_hash):
                    raise HaltError(f"signer {signer} already signed round {round} with attestation {row.struct_hash}; "
                                    f"refusing to sign a different one ({_hex(struct_hash)}): a signer never signs "
                                    "two digests for the same round")
                return False
            s.add(SigningRecordRow(signer=signer, round=round, struct_hash=_hex(struct_hash), created_at=time.time()))
            return True

    def save_signature(self, sig: SignatureRecord) -> None:
        with self._tx() as s:
            row = s.exec(select(SignatureRow).where(SignatureRow.round == sig.round, SignatureRow.chain_id == sig.chain_id,
                                                    SignatureRow.signer == sig.signer)).first()
            if row is not None:
                if row.digest != _hex(sig.digest):
                    raise HaltError(f"signer {sig.signer} has a stored signature over another digest for round {sig.round} "
                                    f"on chain {sig.chain_id}")
                return
            s.add(SignatureRow(round=sig.round, chain_id=sig.chain_id, feed=sig.feed, signer=sig.signer,
                               digest=_hex(sig.digest), signature=_hex(sig.signature), created_at=time.time()))

    def signatures(self, round: int, chain_id: int | None = None) -> list[SignatureRecord]:
        with self._tx() as s:
            q = select(SignatureRow).where(SignatureRow.round == round)
            if chain_id is not None:
                q = q.where(SignatureRow.chain_id == chain_id)
            return [SignatureRecord(r.round, r.chain_id, r.feed, r.signer, _unhex(r.digest), _unhex(r.signature))
                    for r in s.exec(q.order_by(SignatureRow.id)).all()]

    def mark_signed(self, round: int) -> RoundRecord:
        return self.advance_round(round, RoundState.SIGNED)

    # ------------------------------------------------------------------ submissions

    def ensure_submission(self, round: int, chain_id: int) -> SubmissionRecord:
        """The (round, chain) submission, created `pending` if new."""
        with self._tx() as s:
            row = s.get(SubmissionRow, (round, chain_id))
            if row is None:
                if s.get(RoundRow, round) is None:
                    raise StorageError(f"no round {round}")
                now = time.time()
                row = SubmissionRow(round=round, chain_id=chain_id, state=SubmissionState.PENDING.value,
                                    created_at=now, updated_at=now)
                s.add(row)
                s.add(SubmissionEventRow(round=round, chain_id=chain_id, state=row.state, at=now))
            return _submission(row)

    def get_submission(self, round: int, chain_id: int) -> SubmissionRecord | None:
        with self._tx() as s:
            row = s.get(SubmissionRow, (round, chain_id))
            return None if row is None else _submission(row)

    def submissions(self, round: int | None = None, chain_id: int | None = None) -> list[SubmissionRecord]:
        with self._tx() as s:
            q = select(SubmissionRow)
            if round is not None:
                q = q.where(SubmissionRow.round == round)
            if chain_id is not None:
                q = q.where(SubmissionRow.chain_id == chain_id)
            return [_submission(r) for r in s.exec(q.order_by(SubmissionRow.round, SubmissionRow.chain_id)).all()]

    def transition(self, round: int, chain_id: int, state: SubmissionState, reason: str | None = None, *,
                   tx_hash: str | None = None, block_number: int | None = None, gas_used: int | None = None,
                   tx_status: str | None = None) -> SubmissionRecord:
        """Move a submission to `state` (with its reason); `tx_status` also marks the tx `tx_hash`."""
        with self._tx() as s:
            row = s.get(SubmissionRow, (round, chain_id))
            if row is None:
                raise StorageError(f"no submission for round {round} on chain {chain_id}")
            self._move(row, state, reason, s, tx_hash=tx_hash)
            if block_number is not None:
                row.block_number = block_number
            if gas_used is not None:
                row.gas_used = gas_used
            if tx_hash is not None and state == SubmissionState.INCLUDED:
                row.tx_hash = tx_hash
            if tx_status is not None and tx_hash is not None:
                tx = s.get(SentTxRow, tx_hash)
                if tx is None:
                    raise StorageError(f"no sent transaction {tx_hash}")
                tx.status = tx_status
                s.add(tx)
            s.add(row)
            return _submission(row)

    def _move(self, row: SubmissionRow, state: SubmissionState, reason: str | None, s: Session,
              tx_hash: str | None = None) -> None:
        cur = SubmissionState(row.state)
        if state not in SUBMISSION_TRANSITIONS[cur]:
            raise HaltError(f"submission of round {row.round} to chain {row.chain_id}: illegal state change "
                            f"{cur.value} -> {state.value}")
        if state in REASON_REQUIRED and not reason:
            raise StorageError(f"submission state {state.value} needs a reason")
        now = time.time()
        row.state, row.reason, row.updated_at = state.value, reason, now
        s.add(SubmissionEventRow(round=row.round, chain_id=row.chain_id, state=state.value, reason=reason,
                                 tx_hash=tx_hash or row.tx_hash, at=now))

    def rounds_with_submission_state(self, state: SubmissionState) -> list[int]:
        """Round numbers (ascending) with at least one submission in `state`; e.g. `included`: the
        rounds that reached some feed, whatever the round's own final state."""
        with self._tx() as s:
            q = (select(SubmissionRow.round).where(SubmissionRow.state == state.value).distinct()
                 .order_by(SubmissionRow.round))
            return [int(r) for r in s.exec(q).all()]

    def record_sent(self, round: int, chain_id: int, sender: str, tx_hash: str, raw: bytes, nonce: int | None,
                    max_fee_wei: int, priority_fee_wei: int, kind: str = "submit",
                    allocate: bool = False, note: str | None = None) -> SentTx:
        """Write-ahead record of a signed transaction, BEFORE it is broadcast, in one transaction:
        with `allocate`, the nonce is taken from the (chain, sender) counter (which must equal
        `nonce`, the one the transaction was signed with); a replacement reuses its nonce and marks
        the transactions it replaces. A `submit` moves the submission to `sent`."""
        now = time.time()
        with self._tx() as s:
            sub = s.get(SubmissionRow, (round, chain_id))
            if sub is None:
                raise StorageError(f"no submission for round {round} on chain {chain_id}")
            if nonce is None:
                raise StorageError("record_sent needs the nonce the transaction was signed with")
            if allocate:
                nrow = self._nonce_row(s, chain_id, sender)
                if nrow is None or nrow.next_nonce != nonce:
                    have = None if nrow is None else nrow.next_nonce
                    raise HaltError(f"chain {chain_id} sender {sender}: signed with nonce {nonce} but the nonce manager "
                                    f"expects {have}; refusing to create a nonce gap or reuse")
                nrow.next_nonce = nonce + 1
                nrow.updated_at = now
                s.add(nrow)
            else:
                # a replacement: the nonce must belong to one of this submission's transactions
                prior = s.exec(select(SentTxRow).where(SentTxRow.round == round, SentTxRow.chain_id == chain_id,
                                                       SentTxRow.sender == sender, SentTxRow.nonce == nonce)).all()
                if not prior:
                    raise HaltError(f"chain {chain_id}: nonce {nonce} is not held by round {round}'s submission; "
                                    "a replacement must reuse its own nonce")
                for p in prior:
                    if p.status in ("sent", "dropped"):
                        p.status = "replaced"
                        s.add(p)
            if s.get(SentTxRow, tx_hash) is not None:
                raise StorageError(f"transaction {tx_hash} was already recorded")
            s.add(SentTxRow(tx_hash=tx_hash, round=round, chain_id=chain_id, sender=sender, nonce=nonce,
                            max_fee_wei=str(max_fee_wei), priority_fee_wei=str(priority_fee_wei), raw=_hex(raw),
                            kind=kind, note=note, created_at=now))
            if kind == "submit":
                self._move(sub, SubmissionState.SENT, None, s, tx_hash=tx_hash)
                sub.tx_hash, sub.nonce, sub.sender = tx_hash, nonce, sender
                sub.max_fee_wei, sub.priority_fee_wei = str(max_fee_wei), str(priority_fee_wei)
                sub.attempts += 1
                s.add(sub)
            return _sent(s.get(SentTxRow, tx_hash))  # type: ignore[arg-type]

    def sent_txs(self, round: int | None = None, chain_id: int | None = None, sender: str | None = None) -> list[SentTx]:
        with self._tx() as s:
            q = select(SentTxRow)
            if round is not None:
                q = q.where(SentTxRow.round == round)
            if chain_id is not None:
                q = q.where(SentTxRow.chain_id == chain_id)
            if sender is not None:
                q = q.where(SentTxRow.sender == sender)
            return [_sent(r) for r in s.exec(q.order_by(SentTxRow.nonce, SentTxRow.created_at)).all()]

    def mark_tx(self, tx_hash: str, status: str) -> None:
        if status not in _TX_STATUSES:
            raise StorageError(f"unknown transaction status {status!r}")
        with self._tx() as s:
            row = s.get(SentTxRow, tx_hash)
            if row is None:
                raise StorageError(f"no sent transaction {tx_hash}")
            row.status = status
            s.add(row)

    def submission_events(self, round: int, chain_id: int | None = None) -> list[SubmissionEvent]:
        with self._tx() as s:
            q = select(SubmissionEventRow).where(SubmissionEventRow.round == round)
            if chain_id is not None:
                q = q.where(SubmissionEventRow.chain_id == chain_id)
            return [SubmissionEvent(r.round, r.chain_id, SubmissionState(r.state), r.reason, r.tx_hash, r.at)
                    for r in s.exec(q.order_by(SubmissionEventRow.id)).all()]

    # ------------------------------------------------------------------ nonces

    def _nonce_row(self, s: Session, chain_id: int, sender: str) -> NonceRow | None:
        q = select(NonceRow).where(NonceRow.chain_id == chain_id, NonceRow.sender == sender)
        if not self.is_sqlite:
            q = q.with_for_update()  # PostgreSQL: serialize allocations across processes
        return s.exec(q).first()

    def next_nonce(self, chain_id: int, sender: str) -> int | None:
        with self._tx() as s:
            row = self._nonce_row(s, chain_id, sender)
            return None if row is None else row.next_nonce

    def set_next_nonce(self, chain_id: int, sender: str, value: int) -> None:
        if value < 0:
            raise StorageError(f"nonce {value} < 0")
        with self._tx() as s:
            row = self._nonce_row(s, chain_id, sender)
            if row is None:
                row = NonceRow(chain_id=chain_id, sender=sender, next_nonce=value, updated_at=time.time())
            row.next_nonce, row.updated_at = value, time.time()
            s.add(row)


# ---------------------------------------------------------------------- helpers


def _sqlite_pragmas(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _rec: Any) -> None:
        # let SQLAlchemy's "begin" event below issue BEGIN itself (pysqlite's implicit BEGIN is DEFERRED)
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        # FULL: a committed write-ahead state survives even a power cut, not just kill -9
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA busy_timeout=60000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # IMMEDIATE: take the write lock up front, so two writers never deadlock upgrading a read lock
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _redact(url: str) -> str:
    import re

    return re.sub(r"://([^:/@]+):[^@/]+@", r"://\1:***@", url)


def _round(row: RoundRow) -> RoundRecord:
    return RoundRecord(round=row.round, state=RoundState(row.state), reason=row.reason, created_at=row.created_at,
                       updated_at=row.updated_at, stage_times=json.loads(row.stage_times))


def _int_or_none(v: str | None) -> int | None:
    return None if v is None else int(v)


def _submission(row: SubmissionRow) -> SubmissionRecord:
    return SubmissionRecord(round=row.round, chain_id=row.chain_id, state=SubmissionState(row.state), reason=row.reason,
                            sender=row.sender, tx_hash=row.tx_hash, nonce=row.nonce,
                            max_fee_wei=_int_or_none(row.max_fee_wei), priority_fee_wei=_int_or_none(row.priority_fee_wei),
                            attempts=row.attempts, block_number=row.block_number, gas_used=row.gas_used,
                            updated_at=row.updated_at)


def _sent(row: SentTxRow) -> SentTx:
    return SentTx(tx_hash=row.tx_hash, round=row.round, chain_id=row.chain_id, sender=row.sender, nonce=row.nonce,
                  max_fee_wei=int(row.max_fee_wei), priority_fee_wei=int(row.priority_fee_wei), raw=_unhex(row.raw),
                  kind=row.kind, status=row.status, created_at=row.created_at, note=row.note)
