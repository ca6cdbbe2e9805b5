"""Take one chain's snapshot (SPEC §1 "watch"): pick the final block, check its header against its
hash, prove the vault's holdings and each asset's latest price from storage against the header's
stateRoot (EIP-1186), cross-check them with the contracts' own views, require at least rpc_quorum of
the configured RPC endpoints to answer and every one that answers to agree, and refuse a price older
than the asset's max_price_age_s (or newer than the block). Any doubt is a ChainError: nothing
unproven or stale reaches the signer.

An endpoint that gives no answer (RpcUnavailable: no connection, timeout, HTTP error, JSON-RPC error)
is left out, with a warning and relayer_rpc_endpoint_errors_total; one that answers wrongly (another
chain id, a proof that does not verify, an eth_call that contradicts its proof, a different block) is
never outvoted: the snapshot fails naming it.

Storage layouts proven here (checked with solc's storageLayout output for the committed sources):

CollateralVault (contracts/src/CollateralVault.sol):
  slot 0  mapping(address token => uint256) totalHeld
          totalHeld[token] at keccak256(abi.encode(token, uint256(0)))   (Solidity docs, "Mappings")
PriceAggregator (contracts/src/PriceAggregator.sol; `decimals`, `owner`, `version` are immutable or
constant, i.e. in the code, not in storage):
  slot 0  string _description
  slot 1  uint80 latestRound                          (low 10 bytes; the rest of the slot is zero)
  slot 2  mapping(uint80 => Round) _rounds, Round r at base = keccak256(abi.encode(uint256(id), uint256(2))):
          base + 0: int256 answer                     (two's complement)
          base + 1: uint64 startedAt (bytes 0..7, low-order first) | uint64 updatedAt (8..15)
                    | uint80 answeredInRound (16..25); bytes 26..31 zero
The aggregator's `decimals()` is immutable, so it cannot be storage-proven: it is read with
eth_call and must agree across endpoints. The token's `decimals()` must equal the config's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_abi.exceptions import DecodingError
from eth_utils import function_signature_to_4byte_selector, keccak, to_checksum_address

from relayer import metrics
from relayer.config import ChainConfig
from relayer.errors import ChainError
from relayer.types import AssetHolding, BlockNumber, ChainId, ChainSnapshot, PriceReading
from relayer.watch.header import BlockHeader, parse_header
from relayer.watch.mpt import EMPTY_CODE_HASH, check_get_proof
from relayer.watch.rpc import DEFAULT_TIMEOUT_S, RpcClient, RpcUnavailable

T = TypeVar("T")

log = logging.getLogger(__name__)

VAULT_TOTAL_HELD_SLOT = 0
AGGREGATOR_LATEST_ROUND_SLOT = 1
AGGREGATOR_ROUNDS_SLOT = 2

_U64 = 2**64 - 1
_U80 = 2**80 - 1


def mapping_slot(key: int, base_slot: int) -> int:
    """Storage slot of `m[key]` for a mapping at `base_slot` with a value-type key (address,
    uintN): keccak256(pad32(key) ++ pad32(base_slot)) (Solidity docs, "Layout of State Variables")."""
    return int.from_bytes(keccak(key.to_bytes(32, "big") + base_slot.to_bytes(32, "big")), "big")


def vault_holding_slot(token: str) -> int:
    return mapping_slot(int(to_checksum_address(token), 16), VAULT_TOTAL_HELD_SLOT)


def aggregator_round_slot(round_id: int) -> int:
    return mapping_slot(round_id, AGGREGATOR_ROUNDS_SLOT)


def _selector(signature: str) -> bytes:
    return function_signature_to_4byte_selector(signature)


def _signed256(word: int) -> int:
    return word - 2**256 if word >= 2**255 else word


@dataclass(frozen=True)
class _Reading:
    """What one endpoint proved for the block."""

    rpc: RpcClient
    header: BlockHeader
    holdings: tuple[AssetHolding, ...]


def _clients(chain: ChainConfig, timeout_s: float) -> list[RpcClient]:
    return [RpcClient(u, timeout_s) for u in chain.rpc]


def check_chain_ids(chain: ChainConfig, clients: Sequence[RpcClient]) -> None:
    """Every endpoint must serve the configured chain (a wrong URL is caught before any read)."""
    for c in clients:
        got = c.chain_id()
        if got != chain.chain_id:
            raise ChainError(f"{chain.name}: {c.name} serves chain id {got}, but the config says {chain.chain_id}; "
                             "fix the rpc URL or chain_id")


def select_block(chain: ChainConfig, clients: Sequence[RpcClient]) -> int:
    """The block to snapshot: the lowest `finalized` block among the endpoints, or the lowest head
    minus `confirmations` (lowest, so that every endpoint has it)."""
    rule = chain.head_rule
    if rule == "finalized":
        numbers = []
        for c in clients:
            block = c.get_block("finalized")
            if block is None:
                raise ChainError(f"{chain.name}: {c.name} does not serve the 'finalized' block tag; set "
                                 "confirmations = N for this chain instead")
            n = block.get("number")
            try:
                if not isinstance(n, str) or not n.startswith("0x"):
                    raise ValueError("not a 0x-hex string")
                numbers.append(int(n, 16))
            except ValueError:
                # a garbled number is the endpoint's fault: a ChainError naming it, not a bare ValueError
                raise ChainError(f"{chain.name}: {c.name} finalized block has no valid number: {n!r}") from None
        return min(numbers)
    head = min(c.block_number() for c in clients)
    if head < rule:
        raise ChainError(f"{chain.name}: head is block {head}, fewer than the {rule} confirmations required; "
                         "wait for more blocks")
    return head - rule


def _read_price(chain: ChainConfig, c: RpcClient, header: BlockHeader, feed: str, symbol: str) -> PriceReading:
    where = f"{chain.name} {c.name} {symbol}/USD feed {feed}"
    account, vals = check_get_proof(header.state_root, feed, [AGGREGATOR_LATEST_ROUND_SLOT],
                                    c.get_proof(feed, [AGGREGATOR_LATEST_ROUND_SLOT], header.hash))
    if account.code_hash == EMPTY_CODE_HASH:
        raise ChainError(f"{where}: no contract at this address at block {header.number}; check price_feed")
    word = vals[AGGREGATOR_LATEST_ROUND_SLOT]
    if word > _U80:
        raise ChainError(f"{where}: latestRound slot holds {word:#x}, more than a uint80; not a PriceAggregator")
    round_id = word
    if round_id == 0:
        raise ChainError(f"{where}: the feed has no round yet")
    base = aggregator_round_slot(round_id)
    _, rvals = check_get_proof(header.state_root, feed, [base, base + 1],
                               c.get_proof(feed, [base, base + 1], header.hash))
    answer = _signed256(rvals[base])
    packed = rvals[base + 1]
    if packed >> (64 + 64 + 80):
        raise ChainError(f"{where}: round {round_id} packed slot has bits above answeredInRound; layout mismatch")
    started_at, updated_at, answered_in = packed & _U64, (packed >> 64) & _U64, (packed >> 128) & _U80
    if updated_at == 0:
        raise ChainError(f"{where}: round {round_id} has no data (updatedAt = 0)")

    # cross-check with the contract's own views at the same block (a lying eth_call is caught here)
    try:
        got = abi_decode(["uint80", "int256", "uint256", "uint256", "uint80"],
                         c.eth_call(feed, _selector("latestRoundData()"), header.hash))
        (dec,) = abi_decode(["uint8"], c.eth_call(feed, _selector("decimals()"), header.hash))
    except DecodingError as exc:
        raise ChainError(f"{where}: eth_call answer does not decode: {exc}") from None
    proven = (round_id, answer, started_at, updated_at, answered_in)
    if tuple(got) != proven:
        raise ChainError(f"{where}: eth_call latestRoundData() = {tuple(got)} but the storage proof at block "
                         f"{header.number} proves {proven}; the endpoint is lying or broken, nothing read from it "
                         "is signed")
    return PriceReading(feed=to_checksum_address(feed), answer=answer, decimals=int(dec), round_id=round_id,
                        started_at=started_at, updated_at=updated_at, answered_in_round=answered_in)


def read_at(chain: ChainConfig, c: RpcClient, block_number: int) -> _Reading:
    """Everything one endpoint says about `block_number`, each value proven or cross-checked."""
    block = c.get_block(block_number)
    if block is None:
        raise ChainError(f"{chain.name}: {c.name} has no block {block_number}")
    header = parse_header(block, where=f"{chain.name} {c.name}")
    if header.number != block_number:
        raise ChainError(f"{chain.name}: {c.name} answered block {header.number} when asked for {block_number}")

    vault = to_checksum_address(chain.vault)
    slots = [vault_holding_slot(a.token) for a in chain.assets]
    account, values = check_get_proof(header.state_root, vault, slots, c.get_proof(vault, slots, header.hash))
    if account.code_hash == EMPTY_CODE_HASH:
        raise ChainError(f"{chain.name}: no contract at vault {vault} at block {block_number}; check the vault address")

    holdings: list[AssetHolding] = []
    for asset, slot in zip(chain.assets, slots):
        amount = values[slot]
        token = to_checksum_address(asset.token)
        try:
            (viewed,) = abi_decode(["uint256"], c.eth_call(vault, _selector("holdings(address)")
                                                           + abi_encode(["address"], [token]), header.hash))
            (token_decimals,) = abi_decode(["uint8"], c.eth_call(token, _selector("decimals()"), header.hash))
        except DecodingError as exc:
            raise ChainError(f"{chain.name}: {c.name}: eth_call answer for {asset.symbol} does not decode: {exc}") from None
        if viewed != amount:
            raise ChainError(f"{chain.name}: {c.name}: eth_call vault.holdings({asset.symbol}) = {viewed} but the "
                             f"storage proof at block {block_number} proves {amount}; the endpoint is lying or "
                             "broken, nothing read from it is signed")
        if token_decimals != asset.decimals:
            raise ChainError(f"{chain.name}: token {asset.symbol} ({token}) has {token_decimals} decimals but the "
                             f"config says {asset.decimals}; fix assets.decimals")
        price = _read_price(chain, c, header, to_checksum_address(asset.price_feed), asset.symbol)
        holdings.append(AssetHolding(symbol=asset.symbol, token=token, token_decimals=asset.decimals,
                                     haircut_bps=asset.haircut_bps, amount=amount, price=price))
    return _Reading(rpc=c, header=header, holdings=tuple(holdings))


def _require_agreement(chain: ChainConfig, readings: Sequence[_Reading]) -> None:
    first = readings[0]
    for r in readings[1:]:
        names = f"{first.rpc.name} and {r.rpc.name}"
        if r.header.hash != first.header.hash:
            raise ChainError(f"{chain.name}: RPC endpoints disagree on block {first.header.number}: {names} return "
                             f"hashes 0x{first.header.hash.hex()} and 0x{r.header.hash.hex()}; not signing until "
                             "they agree (one is on a fork or lying)")
        for a, b in zip(first.holdings, r.holdings):
            if a != b:
                raise ChainError(f"{chain.name}: RPC endpoints disagree on {a.symbol} at block "
                                 f"{first.header.number}: {names} return {a} and {b}")


def check_price_ages(chain: ChainConfig, snap: ChainSnapshot) -> None:
    """Every asset's price must be recent at the snapshot block: block timestamp - updatedAt within
    the asset's max_price_age_s, and updatedAt not after the block (a price from the future is a
    broken or manipulated aggregator). The ages go to the metrics first, so a refusal is visible."""
    for asset, h in zip(chain.assets, snap.holdings):
        age = snap.timestamp - h.price.updated_at
        metrics.PRICE_AGE_SECONDS.labels(chain=chain.name, asset=h.symbol).set(age)
    for asset, h in zip(chain.assets, snap.holdings):
        p = h.price
        where = f"{chain.name}: {h.symbol}/USD price (aggregator {p.feed}, round {p.round_id})"
        if p.updated_at > snap.timestamp:
            raise ChainError(f"{where} has updatedAt {p.updated_at}, {p.updated_at - snap.timestamp} s after snapshot "
                             f"block {snap.block_number} (timestamp {snap.timestamp}): a price from the future, from a "
                             "broken or manipulated aggregator; not signing it")
        limit = chain.price_age_limit(asset)
        age = snap.timestamp - p.updated_at
        if age > limit:
            raise ChainError(f"{where} is {age} s old at block {snap.block_number} (block time {snap.timestamp}, "
                             f"updatedAt {p.updated_at}); the limit is {limit} s (max_price_age_s): the oracle has "
                             "stopped updating; not signing a stale price (raise max_price_age_s only if this feed's "
                             "heartbeat really is that long)")


def _each(clients: Sequence[RpcClient], fn: Callable[[RpcClient], T]) -> list[T | RpcUnavailable]:
    """`fn(c)` for every endpoint concurrently (a dead one costs one timeout, not one per endpoint).
    An RpcUnavailable is returned in the endpoint's place; any other error (a lie, a configuration
    error) is raised, the first in configuration order, after every call has finished."""
    if len(clients) == 1:  # no thread for the common single-endpoint case
        try:
            return [fn(clients[0])]
        except RpcUnavailable as exc:
            return [exc]
    with ThreadPoolExecutor(max_workers=len(clients), thread_name_prefix="rpc") as pool:
        futures = [pool.submit(fn, c) for c in clients]
    out: list[T | RpcUnavailable] = []
    for fut in futures:
        try:
            out.append(fut.result())
        except RpcUnavailable as exc:
            out.append(exc)
    return out


def _answering(chain: ChainConfig, clients: Sequence[RpcClient], results: Sequence[T | RpcUnavailable],
               needed: int, total: int, failed: list[RpcUnavailable]) -> list[tuple[RpcClient, T]]:
    """The endpoints that answered, with their answers; the others are logged, counted and added to
    `failed` (kept across the steps of one snapshot). Fewer than `needed` answering is a ChainError
    naming each endpoint that did not and why."""
    ok: list[tuple[RpcClient, T]] = []
    for c, r in zip(clients, results):
        if isinstance(r, RpcUnavailable):
            failed.append(r)
            metrics.RPC_ENDPOINT_ERRORS.labels(chain=chain.name, endpoint=c.name).inc()
            log.warning("%s: RPC endpoint %s left out of this snapshot: %s", chain.name, c.name, r)
        else:
            ok.append((c, r))
    if len(ok) < needed:
        rule = (f"chains.{chain.name}.rpc_quorum = {chain.rpc_quorum}" if chain.rpc_quorum is not None else
                f"every configured endpoint must answer (set chains.{chain.name}.rpc_quorum to go on with fewer)")
        raise ChainError(f"{chain.name}: {len(ok)} of {total} RPC endpoint(s) answered, {needed} needed: {rule}; "
                         + "; ".join(str(e) for e in failed))
    return ok


def take_snapshot(
    chain: ChainConfig,
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    block_number: int | None = None,
    clients: Sequence[RpcClient] | None = None,
) -> ChainSnapshot:
    """Snapshot `chain` at its final block (or at `block_number`), proven by every endpoint that
    answers, at least rpc_quorum of them (default: all), and agreed by all that answer. Raises
    ChainError naming the endpoint(s) on any failure. `rpc_urls` of the result lists those endpoints."""
    clients = list(clients) if clients is not None else _clients(chain, timeout_s)
    if not clients:
        raise ChainError(f"{chain.name}: no RPC endpoint configured")
    needed = chain.rpc_quorum if chain.rpc_quorum is not None else len(clients)
    total = len(clients)

    def probe(c: RpcClient) -> int:
        check_chain_ids(chain, [c])  # another chain id is a configuration error: raised, never left out
        return select_block(chain, [c]) if block_number is None else block_number

    # the block: the lowest candidate among the endpoints that answer (lowest, so that each of them has it)
    failed: list[RpcUnavailable] = []
    probed = _answering(chain, clients, _each(clients, probe), needed, total, failed)
    n = min(b for _, b in probed)
    live = [c for c, _ in probed]
    read = _answering(chain, live, _each(live, lambda c: read_at(chain, c, n)), needed, total, failed)
    readings = [r for _, r in read]
    _require_agreement(chain, readings)
    r = readings[0]
    snap = ChainSnapshot(
        chain_id=ChainId(chain.chain_id), chain_name=chain.name, block_number=BlockNumber(r.header.number),
        block_hash=r.header.hash, state_root=r.header.state_root, timestamp=r.header.timestamp,
        vault=to_checksum_address(chain.vault), holdings=r.holdings, rpc_urls=tuple(c.name for c, _ in read),
    )
    check_price_ages(chain, snap)
    log.info("%s: snapshot at block %d (0x%s) agreed by %d of %d endpoint(s)", chain.name, snap.block_number,
             snap.block_hash.hex()[:12], len(read), total)
    return snap


def take_snapshots(chains: Sequence[ChainConfig], *, timeout_s: float = DEFAULT_TIMEOUT_S
                   ) -> dict[str, ChainSnapshot | ChainError]:
    """Snapshot several chains concurrently; {chain name: snapshot, or the ChainError that chain
    raised}. A chain that is down or lying costs only its own timeout, not the others' snapshots."""

    def one(chain: ChainConfig) -> ChainSnapshot | ChainError:
        try:
            return take_snapshot(chain, timeout_s=timeout_s)
        except ChainError as exc:
            return exc

    if not chains:
        return {}
    with ThreadPoolExecutor(max_workers=len(chains), thread_name_prefix="snapshot") as pool:
        results = list(pool.map(one, chains))
    return {c.name: r for c, r in zip(chains, results)}


__all__ = ["AGGREGATOR_LATEST_ROUND_SLOT", "AGGREGATOR_ROUNDS_SLOT", "VAULT_TOTAL_HELD_SLOT", "aggregator_round_slot",
           "check_chain_ids", "check_price_ages", "mapping_slot", "read_at", "select_block", "take_snapshot", "take_snapshots",
           "vault_holding_slot"]
