"""Publishable market data of one chain in one round (`relayer market export`) and its independent
check (`relayer market check`): the instrument table, market parameters, scenario grid and oracle
inputs that the round's marks, risk arrays and marketCommitment were computed from. No account data.

File format "relayer-market/1" (JSON object; every integer is a string of decimal digits, exact in
any JSON reader; byte strings are 0x-hex):
  format        "relayer-market/1"
  chain         {id, name, vault, feed}                     the chain and its configured contracts
  round         the round whose proof used this market data
  snapshot      {block_number, block_hash, state_root, timestamp} of the chain in that round
  capacity      {accounts, instruments, scenarios}          the circuit's (circuit.json), public
  instruments   capacity.instruments rows in the circuit's order: the book's instruments
                {id, kind (call|put|perp), underlying, strike (micro-USD), expiry (unix s), lot_decimals},
                then {"kind": "pad"} rows (mark 0, zero risk: MarketData.padded)
  underlyings   {NAME: {asset, vol_bps, scan_bps, vol_scan_bps, spot}} (spot in micro-USD, derived)
  scenarios     [{name, price_move, vol_move, cover}] (fractions as "p/q"): compact_grid(capacity.scenarios)
  assets        the chain's collateral assets with the oracle reading at the snapshot block:
                {symbol, token, decimals, price_feed, answer, price_decimals, round_id, started_at,
                 updated_at, answered_in_round}
  marks         [K] micro-USD per lot;  risk  [K][S] micro-USD per lot (cover applied)
  marketCommitment  0x-hex of the Poseidon commitment (relayer.risk.commitment)
  attestation   the round's attestation (Attestation.to_json), so that a round that is no longer a
                feed's latest can be checked against the feed's RoundAccepted digest; null if absent
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from eth_utils import to_checksum_address
from web3 import Web3

from relayer.attest.eip712 import Attestation, ChainEntry, attestation_digest
from relayer.circuits.solvency import Capacity
from relayer.config import AssetConfig, ChainConfig, RelayerConfig
from relayer.errors import ChainError, FormatError, RelayerError, StorageError, VerificationError
from relayer.keys_setup import CircuitSpec, UnderlyingSpec, load_solvency_keys
from relayer.pipeline.inspect import _round_accepted_logs
from relayer.pipeline.market import load_book, market_data, market_inputs
from relayer.pipeline.round import feed_contract
from relayer.risk.ledger import Instrument
from relayer.risk.market import MarketData, Scenario, compact_grid, compute_market_data
from relayer.storage import Store
from relayer.types import AssetHolding, BlockNumber, ChainId, ChainSnapshot
from relayer.watch.rpc import RpcClient, redact_url
from relayer.watch.snapshot import read_at

FORMAT = "relayer-market/1"
PAD = "pad"

# ChainEntry tuple of SolvencyFeed.latestAttestation() (contracts/src/SolvencyTypes.sol field order)
_E_CHAIN_ID, _E_BLOCK_NUMBER, _E_BLOCK_HASH, _E_MARKET_COMMITMENT = 0, 1, 2, 9
# AttestationView: round [0], ..., chains [12]
_A_ROUND, _A_CHAINS = 0, 12


# ------------------------------------------------------------------------------------- the file

@dataclass(frozen=True)
class OracleInput:
    """One collateral asset of the chain and its aggregator's latest round at the snapshot block."""

    symbol: str
    token: str
    decimals: int
    price_feed: str
    answer: int
    price_decimals: int
    round_id: int
    started_at: int
    updated_at: int
    answered_in_round: int

    @classmethod
    def of(cls, h: AssetHolding) -> OracleInput:
        p = h.price
        return cls(h.symbol, h.token, h.token_decimals, p.feed, p.answer, p.decimals, p.round_id, p.started_at,
                   p.updated_at, p.answered_in_round)


@dataclass(frozen=True)
class MarketFile:
    """A parsed relayer-market/1 file (see the module docstring); values exactly as written."""

    chain_id: int
    chain_name: str
    vault: str
    feed: str
    round: int
    block_number: int
    block_hash: bytes
    state_root: bytes
    timestamp: int
    capacity: Capacity
    instruments: tuple[Instrument, ...]  # the book's, without padding
    underlyings: dict[str, UnderlyingSpec]
    spots: dict[str, int]
    scenarios: tuple[Scenario, ...]
    assets: tuple[OracleInput, ...]
    marks: tuple[int, ...]  # padded to capacity
    risk: tuple[tuple[int, ...], ...]
    commitment: int
    attestation: Attestation | None

    @property
    def spec(self) -> CircuitSpec:
        return CircuitSpec(self.capacity, dict(self.underlyings))

    def to_json(self) -> dict[str, Any]:
        s = str
        pads = [{"kind": PAD} for _ in range(self.capacity.instruments - len(self.instruments))]
        return {
            "format": FORMAT,
            "chain": {"id": s(self.chain_id), "name": self.chain_name, "vault": self.vault, "feed": self.feed},
            "round": s(self.round),
            "snapshot": {"block_number": s(self.block_number), "block_hash": "0x" + self.block_hash.hex(),
                         "state_root": "0x" + self.state_root.hex(), "timestamp": s(self.timestamp)},
            "capacity": {"accounts": s(self.capacity.accounts), "instruments": s(self.capacity.instruments),
                         "scenarios": s(self.capacity.scenarios)},
            "instruments": [{"id": i.id, "kind": i.kind, "underlying": i.underlying, "strike": s(i.strike),
                             "expiry": s(i.expiry), "lot_decimals": s(i.lot_decimals)} for i in self.instruments] + pads,
            "underlyings": {u: {"asset": p.asset, "vol_bps": s(p.vol_bps), "scan_bps": s(p.scan_bps),
                                "vol_scan_bps": s(p.vol_scan_bps), "spot": s(self.spots[u])}
                            for u, p in self.underlyings.items()},
            "scenarios": [{"name": sc.name, "price_move": _frac(sc.price_move), "vol_move": s(sc.vol_move),
                           "cover": _frac(sc.cover)} for sc in self.scenarios],
            "assets": [{"symbol": a.symbol, "token": a.token, "decimals": s(a.decimals), "price_feed": a.price_feed,
                        "answer": s(a.answer), "price_decimals": s(a.price_decimals), "round_id": s(a.round_id),
                        "started_at": s(a.started_at), "updated_at": s(a.updated_at),
                        "answered_in_round": s(a.answered_in_round)} for a in self.assets],
            "marks": [s(m) for m in self.marks],
            "risk": [[s(r) for r in row] for row in self.risk],
            "marketCommitment": f"0x{self.commitment:064x}",
            "attestation": self.attestation.to_json() if self.attestation is not None else None,
        }

    @classmethod
    def from_json(cls, obj: Any, where: str) -> MarketFile:
        """Parse and shape-check; FormatError naming the file and the key on anything malformed."""
        if not isinstance(obj, dict) or obj.get("format") != FORMAT:
            raise FormatError(f"{where}: not a {FORMAT} file (its 'format' is "
                              f"{obj.get('format') if isinstance(obj, dict) else None!r}); write one with "
                              "`relayer market export`")
        try:
            ch, sn, cp = obj["chain"], obj["snapshot"], obj["capacity"]
            cap = Capacity(_int(cp["accounts"], "capacity.accounts"), _int(cp["instruments"], "capacity.instruments"),
                           _int(cp["scenarios"], "capacity.scenarios"))
            rows = obj["instruments"]
            if not isinstance(rows, list) or len(rows) != cap.instruments:
                raise FormatError(f"instruments: {len(rows) if isinstance(rows, list) else rows!r} rows, the capacity "
                                  f"is {cap.instruments} (the table is padded to it)")
            instruments: list[Instrument] = []
            for k, r in enumerate(rows):
                if r.get("kind") == PAD:
                    if len(r) != 1:
                        raise FormatError(f"instruments[{k}]: a pad row has only kind = {PAD!r}")
                    continue
                if len(instruments) != k:
                    raise FormatError(f"instruments[{k}]: a real instrument after a pad row (pads come last)")
                ins = Instrument(str(r["id"]), r["kind"], str(r["underlying"]), _int(r["strike"], f"instruments[{k}].strike"),
                                 _int(r["expiry"], f"instruments[{k}].expiry"),
                                 _int(r["lot_decimals"], f"instruments[{k}].lot_decimals"))
                if ins.problems():
                    raise FormatError(f"instruments[{k}] ({ins.id}): " + "; ".join(ins.problems()))
                instruments.append(ins)
            unds = {str(u): UnderlyingSpec(str(p["asset"]), _int(p["vol_bps"], f"underlyings.{u}.vol_bps"),
                                           _int(p["scan_bps"], f"underlyings.{u}.scan_bps"),
                                           _int(p["vol_scan_bps"], f"underlyings.{u}.vol_scan_bps"))
                    for u, p in obj["underlyings"].items()}
            spots = {str(u): _int(p["spot"], f"underlyings.{u}.spot") for u, p in obj["underlyings"].items()}
            scen = tuple(Scenario(str(s["name"]), _fraction(s["price_move"], f"scenarios[{i}].price_move"),
                                  _int(s["vol_move"], f"scenarios[{i}].vol_move"),
                                  _fraction(s["cover"], f"scenarios[{i}].cover"))
                         for i, s in enumerate(obj["scenarios"]))
            assets = tuple(OracleInput(str(a["symbol"]), _addr(a["token"], f"assets[{i}].token"),
                                       _int(a["decimals"], f"assets[{i}].decimals"),
                                       _addr(a["price_feed"], f"assets[{i}].price_feed"),
                                       _int(a["answer"], f"assets[{i}].answer"),
                                       _int(a["price_decimals"], f"assets[{i}].price_decimals"),
                                       _int(a["round_id"], f"assets[{i}].round_id"),
                                       _int(a["started_at"], f"assets[{i}].started_at"),
                                       _int(a["updated_at"], f"assets[{i}].updated_at"),
                                       _int(a["answered_in_round"], f"assets[{i}].answered_in_round"))
                           for i, a in enumerate(obj["assets"]))
            marks = tuple(_int(m, f"marks[{k}]") for k, m in enumerate(obj["marks"]))
            risk = tuple(tuple(_int(r, f"risk[{k}][{s}]") for s, r in enumerate(row)) for k, row in enumerate(obj["risk"]))
            if len(marks) != cap.instruments or len(risk) != cap.instruments or any(len(r) != cap.scenarios for r in risk):
                raise FormatError(f"marks/risk must be {cap.instruments} values and {cap.instruments} x "
                                  f"{cap.scenarios} values (the capacity)")
            att = obj.get("attestation")
            return cls(
                chain_id=_int(ch["id"], "chain.id"), chain_name=str(ch["name"]), vault=_addr(ch["vault"], "chain.vault"),
                feed=_addr(ch["feed"], "chain.feed"), round=_int(obj["round"], "round"),
                block_number=_int(sn["block_number"], "snapshot.block_number"),
                block_hash=_bytes32(sn["block_hash"], "snapshot.block_hash"),
                state_root=_bytes32(sn["state_root"], "snapshot.state_root"),
                timestamp=_int(sn["timestamp"], "snapshot.timestamp"), capacity=cap, instruments=tuple(instruments),
                underlyings=unds, spots=spots, scenarios=scen, assets=assets, marks=marks, risk=risk,
                commitment=int.from_bytes(_bytes32(obj["marketCommitment"], "marketCommitment"), "big"),
                attestation=Attestation.from_json(att) if att is not None else None)
        except FormatError as exc:
            raise FormatError(f"{where}: {exc}") from None
        except (KeyError, TypeError, AttributeError, ValueError, RelayerError) as exc:
            raise FormatError(f"{where}: malformed {FORMAT} file ({type(exc).__name__}: {exc}); "
                              "write it again with `relayer market export`") from None

    @classmethod
    def load(cls, path: Path) -> MarketFile:
        try:
            obj = json.loads(Path(path).read_text())
        except OSError as exc:
            raise FormatError(f"cannot read market file {path}: {exc.strerror or exc}") from None
        except ValueError as exc:
            raise FormatError(f"{path}: not JSON ({exc})") from None
        return cls.from_json(obj, str(path))


def _int(v: Any, what: str) -> int:
    # decimal strings only: a JSON number may have gone through a float somewhere
    if not isinstance(v, str) or not v.isascii() or not v.lstrip("-").isdigit() or v.startswith("-0") or (len(v) > 1 and v.startswith("0")):
        raise FormatError(f"{what} = {v!r} must be an integer written as a string of decimal digits")
    return int(v)


def _frac(f: Fraction) -> str:
    return f"{f.numerator}/{f.denominator}"


def _fraction(v: Any, what: str) -> Fraction:
    if not isinstance(v, str) or v.count("/") != 1:
        raise FormatError(f"{what} = {v!r} must be a fraction 'p/q'")
    p, q = v.split("/")
    den = _int(q, what)
    if den <= 0:
        raise FormatError(f"{what} = {v!r}: the denominator must be positive")
    return Fraction(_int(p, what), den)


def _bytes32(v: Any, what: str) -> bytes:
    if not isinstance(v, str) or not v.startswith("0x") or len(v) != 66:
        raise FormatError(f"{what} = {v!r} must be 32 bytes of 0x-hex")
    try:
        return bytes.fromhex(v[2:])
    except ValueError:
        raise FormatError(f"{what} = {v!r} is not hex") from None


def _addr(v: Any, what: str) -> str:
    try:
        return to_checksum_address(v)
    except (ValueError, TypeError):
        raise FormatError(f"{what} = {v!r} is not an address") from None


# ------------------------------------------------------------------------------------- export

def _feed_latest(rpc_url: str, feed: str, where: str, timeout_s: float) -> tuple[Web3, Any, Any]:
    w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": timeout_s}))
    f = feed_contract(w3, feed)
    try:
        latest = f.functions.latestAttestation().call()
    except Exception as exc:  # web3 raises many unrelated types for one failed call
        raise ChainError(f"{where}: cannot read latestAttestation() of feed {feed} via {redact_url(rpc_url)}: "
                         f"{str(exc)[:200]}") from None
    return w3, f, latest


def export_market(cfg: RelayerConfig, chain_name: str, round_no: int | None = None, store: Store | None = None,
                  timeout_s: float = 10.0) -> MarketFile:
    """The market file of `chain_name` in `round_no` (default: the latest round on the chain's feed),
    from the relayer's database (snapshot, attestation), the key folder (capacity, market parameters)
    and the chain's ledger (instrument table only). Refuses (VerificationError) when the recomputed
    commitment is not the one the round proved: the ledger's instruments changed since that round."""
    chain = cfg.chain(chain_name)
    if store is None:
        own = Store(cfg.relayer.database_url)
        try:
            return export_market(cfg, chain_name, round_no, own, timeout_s)
        finally:
            own.close()
    if round_no is None:
        _, _, latest = _feed_latest(chain.rpc[0], chain.feed, chain.name, timeout_s)
        round_no = int(latest[_A_ROUND])
        if round_no == 0:
            raise ChainError(f"{chain.name}: the feed {chain.feed} has accepted no round yet; run a round first "
                             "(or name one with --round)")
    sid = store.round_snapshots(round_no).get(chain.chain_id)
    if sid is None:
        raise StorageError(f"round {round_no} has no snapshot of {chain.name} (chain {chain.chain_id}) in this relayer's "
                           f"database {redact_url(cfg.relayer.database_url)}; `relayer status` lists its rounds")
    snap = store.get_snapshot(sid)
    spec = load_solvency_keys(cfg.relayer.circuit_dir).spec
    cap = spec.capacity
    book = load_book(chain)
    md = market_data(snap, book, spec).padded(cap.instruments, cap.scenarios)
    got = md.commitment()
    # what the round proved and signed: the stored proof's public input [4] and the attestation's entry
    att: Attestation | None
    try:
        att, _ = store.get_attestation(round_no)
    except StorageError:
        att = None  # not attested yet: the proof's public input still binds it
    proven: list[tuple[str, int]] = []
    rec = store.round_proofs(round_no).get(chain.chain_id)
    if rec is not None:
        proven.append(("the stored proof's public input", int(rec.public_inputs[4])))
    if att is not None:
        entry = _entry(att, chain.chain_id, f"round {round_no}'s stored attestation")
        proven.append(("the stored attestation", int.from_bytes(entry.marketCommitment, "big")))
    if not proven:
        raise StorageError(f"round {round_no} has neither a proof nor an attestation for {chain.name} yet; export a "
                           "proven round")
    for what, value in proven:
        if value != got:
            raise VerificationError(
                f"{chain.name} round {round_no}: the market data recomputed from the current ledger's instrument table "
                f"commits to 0x{got:064x}, but {what} has 0x{value:064x}: the instruments changed since that round; "
                "export a round proven with the current ledger")
    spots = {u: q.spot for u, q in market_inputs(snap, spec).quotes.items()}
    return MarketFile(
        chain_id=chain.chain_id, chain_name=chain.name, vault=to_checksum_address(chain.vault),
        feed=to_checksum_address(chain.feed), round=round_no, block_number=int(snap.block_number),
        block_hash=snap.block_hash, state_root=snap.state_root, timestamp=snap.timestamp, capacity=cap,
        instruments=tuple(book.instruments), underlyings=dict(spec.underlyings), spots=spots,
        scenarios=compact_grid(cap.scenarios), assets=tuple(OracleInput.of(h) for h in snap.holdings),
        marks=md.marks, risk=md.risk, commitment=got, attestation=att)


def _entry(att: Attestation, chain_id: int, where: str) -> ChainEntry:
    for e in att.chains:
        if e.chainId == chain_id:
            return e
    raise VerificationError(f"{where} has no entry for chain {chain_id}")


# ------------------------------------------------------------------------------------- check

def _chain_config_of(mf: MarketFile, rpc_url: str) -> ChainConfig:
    """The chain as the file describes it (its public contracts), reading through `rpc_url`."""
    try:
        return ChainConfig(name=mf.chain_name, chain_id=mf.chain_id, rpc=(rpc_url,), confirmations=0, vault=mf.vault,
                           feed=mf.feed, assets=tuple(AssetConfig(symbol=a.symbol, token=a.token, price_feed=a.price_feed,
                                                                  decimals=a.decimals) for a in mf.assets))
    except ValueError as exc:  # pydantic's ValidationError
        raise FormatError(f"the market file's chain/assets do not make a valid chain description: {exc}") from None


def _compare_config(mf: MarketFile, chain: ChainConfig) -> None:
    """With a chains.toml, the contracts the file names must be the configured ones."""
    if chain.chain_id != mf.chain_id:
        raise VerificationError(f"the file is for chain {mf.chain_id}, chains.{chain.name} is chain {chain.chain_id}")
    if to_checksum_address(chain.vault) != mf.vault:
        raise VerificationError(f"chain.vault: the file names {mf.vault}, chains.{chain.name}.vault is {chain.vault}")
    cfg_assets = {a.symbol: a for a in chain.assets}
    for a in mf.assets:
        c = cfg_assets.get(a.symbol)
        if c is None:
            raise VerificationError(f"asset {a.symbol}: not configured for chains.{chain.name}")
        if to_checksum_address(c.price_feed) != a.price_feed or to_checksum_address(c.token) != a.token:
            raise VerificationError(f"asset {a.symbol}: the file's token/price_feed {a.token}/{a.price_feed} are not "
                                    f"chains.{chain.name}'s {c.token}/{c.price_feed}")


def _compare_spec(mf: MarketFile, spec: CircuitSpec, where: str) -> None:
    """With the key folder at hand, the capacity and market parameters must be its circuit.json's."""
    if mf.capacity != spec.capacity:
        raise _differs("capacity", mf.capacity, spec.capacity, where)
    if set(mf.underlyings) != set(spec.underlyings):
        raise _differs("underlyings", sorted(mf.underlyings), sorted(spec.underlyings), where)
    for u, p in mf.underlyings.items():
        for name in ("asset", "vol_bps", "scan_bps", "vol_scan_bps"):
            if getattr(p, name) != getattr(spec.underlyings[u], name):
                raise _differs(f"underlyings.{u}.{name}", getattr(p, name), getattr(spec.underlyings[u], name), where)


def _differs(what: str, file_value: Any, chain_value: Any, source: str, hint: str = "") -> VerificationError:
    return VerificationError(f"{what}: the file says {file_value}, {source} says {chain_value}"
                             + (f"; {hint}" if hint else ""))


def recompute(mf: MarketFile, snapshot: ChainSnapshot) -> MarketData:
    """Marks and risk arrays (padded to the capacity) from the file's instruments and parameters at
    the oracle prices of `snapshot`, by the pipeline's own rules (relayer.pipeline.market)."""
    cap = mf.capacity
    want = compact_grid(cap.scenarios)
    if mf.scenarios != want:
        raise VerificationError(f"scenarios: the file's grid {[s.name for s in mf.scenarios]} is not the circuit's "
                                f"documented grid compact_grid({cap.scenarios}) = {[s.name for s in want]}")
    spec = mf.spec
    inputs = market_inputs(snapshot, spec)
    for u, q in inputs.quotes.items():
        if mf.spots.get(u) != q.spot:
            raise _differs(f"underlyings.{u}.spot", mf.spots.get(u), q.spot,
                           f"floor(answer * 10^6 / 10^decimals) of {spec.underlyings[u].asset}'s price at the block")
    return compute_market_data(mf.instruments, inputs, mf.scenarios).padded(cap.instruments, cap.scenarios)


def _inputs_of(mf: MarketFile, k: int) -> str:
    if k >= len(mf.instruments):
        return "a pad row (mark 0, zero risk)"
    i = mf.instruments[k]
    u = mf.underlyings.get(i.underlying)
    params = (f"vol_bps {u.vol_bps}, scan_bps {u.scan_bps}, vol_scan_bps {u.vol_scan_bps}" if u else "no parameters")
    return (f"{i.kind} {i.id} (strike {i.strike}, expiry {i.expiry}, lot_decimals {i.lot_decimals}) on "
            f"{i.underlying} at spot {mf.spots.get(i.underlying)}, {params}")


def check_market(mf: MarketFile, rpc_url: str, *, feed: str | None = None, feed_rpc_url: str | None = None,
                 chain: ChainConfig | None = None, spec: tuple[CircuitSpec, str] | None = None,
                 attestation: Attestation | None = None, timeout_s: float = 10.0) -> dict[str, Any]:
    """Check a market file against the chain: the snapshot block's hash, timestamp and state root;
    the oracle readings at that block (storage-proven, relayer.watch.snapshot.read_at); the marks,
    risk arrays and commitment recomputed from them; and the marketCommitment, block number and hash
    the feed holds for this chain in the file's round. `chain` and `spec` (a key folder's CircuitSpec
    and where it was read), when given, must agree with the file's contracts and market parameters.
    VerificationError names the first mismatch."""
    if chain is not None:
        _compare_config(mf, chain)
    if spec is not None:
        _compare_spec(mf, *spec)
    reader = _chain_config_of(mf, rpc_url)
    client = RpcClient(rpc_url, timeout_s)
    served = client.chain_id()
    if served != mf.chain_id:
        raise ChainError(f"{redact_url(rpc_url)} serves chain {served}, the market file is for chain {mf.chain_id} "
                         f"({mf.chain_name}); give --rpc of that chain")
    r = read_at(reader, client, mf.block_number)  # header hash-checked, prices storage-proven at the block
    if r.header.hash != mf.block_hash:
        raise _differs(f"snapshot.block_hash of block {mf.block_number}", "0x" + mf.block_hash.hex(),
                       "0x" + r.header.hash.hex(), "the chain")
    if r.header.timestamp != mf.timestamp:
        raise _differs("snapshot.timestamp", mf.timestamp, r.header.timestamp, "the block header")
    if r.header.state_root != mf.state_root:
        raise _differs("snapshot.state_root", "0x" + mf.state_root.hex(), "0x" + r.header.state_root.hex(), "the block header")
    for a, h in zip(mf.assets, r.holdings):
        got = OracleInput.of(h)
        for name, fname in (("answer", "answer"), ("price_decimals", "decimals"), ("round_id", "round_id"),
                            ("started_at", "started_at"), ("updated_at", "updated_at"),
                            ("answered_in_round", "answered_in_round")):
            if getattr(a, name) != getattr(got, name):
                raise _differs(f"price {fname} of {a.symbol}", getattr(a, name), getattr(got, name),
                               f"its aggregator {a.price_feed} at block {mf.block_number}")
    snap = ChainSnapshot(chain_id=ChainId(mf.chain_id), chain_name=mf.chain_name, block_number=BlockNumber(mf.block_number),
                         block_hash=r.header.hash, state_root=r.header.state_root, timestamp=r.header.timestamp,
                         vault=mf.vault, holdings=r.holdings)
    md = recompute(mf, snap)
    for k in range(mf.capacity.instruments):
        if md.marks[k] != mf.marks[k]:
            raise _differs(f"mark of instrument {k}", mf.marks[k], md.marks[k],
                           f"Black-Scholes of {_inputs_of(mf, k)}")
        for s in range(mf.capacity.scenarios):
            if md.risk[k][s] != mf.risk[k][s]:
                raise _differs(f"risk[{k}][{s}] (scenario {mf.scenarios[s].name})", mf.risk[k][s], md.risk[k][s],
                               f"the recomputation from {_inputs_of(mf, k)}")
    commitment = md.commitment()
    if commitment != mf.commitment:
        raise _differs("marketCommitment", f"0x{mf.commitment:064x}", f"0x{commitment:064x}",
                       "the commitment of the recomputed marks and risk arrays")
    onchain = _feed_commitment(mf, feed or (chain.feed if chain is not None else mf.feed), feed_rpc_url or rpc_url,
                               attestation or mf.attestation, timeout_s)
    return {"ok": True, "chain": mf.chain_name, "chain_id": mf.chain_id, "round": mf.round,
            "block_number": mf.block_number, "block_hash": "0x" + mf.block_hash.hex(),
            "marketCommitment": f"0x{commitment:064x}", "instruments": len(mf.instruments),
            "prices": {a.symbol: {"answer": a.answer, "decimals": a.price_decimals} for a in mf.assets}} | onchain


def _feed_commitment(mf: MarketFile, feed: str, rpc_url: str, att: Attestation | None, timeout_s: float) -> dict[str, Any]:
    """Compare with the chain entry the feed holds: latestAttestation() when the file's round is the
    feed's latest; otherwise the file's (or --attestation's) attestation, accepted only when the feed
    emitted RoundAccepted for this round with that attestation's EIP-712 digest."""
    feed = to_checksum_address(feed)
    w3, f, latest = _feed_latest(rpc_url, feed, f"feed {feed}", timeout_s)
    feed_round = int(latest[_A_ROUND])
    source = f"the feed {feed} (chain {int(w3.eth.chain_id)}) for round {mf.round}"
    if feed_round == mf.round:
        entries = {int(e[_E_CHAIN_ID]): e for e in latest[_A_CHAINS]}
        if mf.chain_id not in entries:
            raise VerificationError(f"{source} has no entry for chain {mf.chain_id}")
        e = entries[mf.chain_id]
        entry = (int.from_bytes(bytes(e[_E_MARKET_COMMITMENT]), "big"), int(e[_E_BLOCK_NUMBER]), bytes(e[_E_BLOCK_HASH]))
        how = "latestAttestation()"
    else:
        if att is None:
            raise VerificationError(
                f"the feed {feed}'s latest round is {feed_round}, not the file's round {mf.round}: only the relayer's "
                "database or an archive of attestations has that round's marketCommitment; give its attestation "
                "(`relayer market export` embeds it; or --attestation FILE, Attestation JSON)")
        if att.round != mf.round:
            raise VerificationError(f"the attestation is of round {att.round}, the file of round {mf.round}")
        feed_chain = int(w3.eth.chain_id)
        digest = attestation_digest(att, feed_chain, feed)
        own = next((e for e in att.chains if e.chainId == feed_chain), None)
        start = own.blockNumber if own is not None else (mf.block_number if feed_chain == mf.chain_id else None)
        if start is None:
            raise VerificationError(f"round {mf.round}'s attestation has no entry for the feed's chain {feed_chain}, "
                                    "so there is no block to search its acceptance from; check against a feed of a "
                                    "chain in the round")
        try:
            logs = _round_accepted_logs(w3, f, mf.round, None, start)
        except RelayerError:
            raise
        except Exception as exc:  # web3 transport/decoding errors
            raise ChainError(f"feed {feed}: cannot read RoundAccepted events: {str(exc)[:200]}") from None
        if not any(bytes(ev["args"]["digest"]) == digest for ev in logs):
            raise VerificationError(f"{source}: no RoundAccepted event with the attestation's digest 0x{digest.hex()} "
                                    f"({len(logs)} event(s) for that round): the attestation is not the one the feed "
                                    "accepted")
        e2 = _entry(att, mf.chain_id, f"round {mf.round}'s attestation")
        entry = (int.from_bytes(e2.marketCommitment, "big"), e2.blockNumber, e2.blockHash)
        how = "the attestation matching its RoundAccepted digest"
    commitment, number, block_hash = entry
    if commitment != mf.commitment:
        raise _differs("marketCommitment", f"0x{mf.commitment:064x}", f"0x{commitment:064x}",
                       f"{source} ({how})", "the file is not the market data that round proved")
    if number != mf.block_number:
        raise _differs("snapshot.block_number", mf.block_number, number, f"{source} ({how})")
    if block_hash != mf.block_hash:
        raise _differs("snapshot.block_hash", "0x" + mf.block_hash.hex(), "0x" + block_hash.hex(), f"{source} ({how})")
    return {"feed": feed, "feed_round": feed_round, "feed_source": how}


__all__ = ["FORMAT", "MarketFile", "OracleInput", "check_market", "export_market", "recompute"]
