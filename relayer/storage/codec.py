"""JSON form of the domain objects the store keeps (exact integers as decimal strings, bytes as
0x-hex), so a snapshot read back is equal, field for field, to the one written."""

from __future__ import annotations

from typing import Any

from relayer.errors import StorageError
from relayer.types import AssetHolding, BlockNumber, ChainId, ChainSnapshot, PriceReading


def _price_to_json(p: PriceReading) -> dict[str, Any]:
    return {"feed": p.feed, "answer": str(p.answer), "decimals": p.decimals, "round_id": str(p.round_id),
            "started_at": str(p.started_at), "updated_at": str(p.updated_at),
            "answered_in_round": str(p.answered_in_round)}


def snapshot_to_json(s: ChainSnapshot) -> dict[str, Any]:
    return {
        "chain_id": str(s.chain_id), "chain_name": s.chain_name, "block_number": str(s.block_number),
        "block_hash": "0x" + s.block_hash.hex(), "state_root": "0x" + s.state_root.hex(), "timestamp": str(s.timestamp),
        "vault": s.vault, "rpc_urls": list(s.rpc_urls),
        "holdings": [
            {"symbol": h.symbol, "token": h.token, "token_decimals": h.token_decimals, "haircut_bps": h.haircut_bps,
             "amount": str(h.amount), "price": _price_to_json(h.price)}
            for h in s.holdings
        ],
    }


def snapshot_from_json(d: dict[str, Any]) -> ChainSnapshot:
    try:
        return ChainSnapshot(
            chain_id=ChainId(int(d["chain_id"])), chain_name=d["chain_name"], block_number=BlockNumber(int(d["block_number"])),
            block_hash=bytes.fromhex(d["block_hash"][2:]), state_root=bytes.fromhex(d["state_root"][2:]),
            timestamp=int(d["timestamp"]), vault=d["vault"], rpc_urls=tuple(d["rpc_urls"]),
            holdings=tuple(
                AssetHolding(symbol=h["symbol"], token=h["token"], token_decimals=int(h["token_decimals"]),
                             haircut_bps=int(h["haircut_bps"]), amount=int(h["amount"]),
                             price=PriceReading(feed=h["price"]["feed"], answer=int(h["price"]["answer"]),
                                                decimals=int(h["price"]["decimals"]), round_id=int(h["price"]["round_id"]),
                                                started_at=int(h["price"]["started_at"]),
                                                updated_at=int(h["price"]["updated_at"]),
                                                answered_in_round=int(h["price"]["answered_in_round"])))
                for h in d["holdings"]
            ),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise StorageError(f"a stored snapshot does not parse ({exc!r}); the database is corrupt or from another version") from exc
