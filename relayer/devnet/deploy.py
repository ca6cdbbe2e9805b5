"""Deploy and seed the contracts of one devnet chain: two test assets with price aggregators, the
venue's CollateralVault with deposits from several dev accounts, a SolvencyFeed and a LendingGuard.

Seeding the synthetic option/perp book (SPEC §7) belongs to the risk stage's issue: the book is
off-chain data the relayer reads, not contract state, so it is not produced here yet.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from eth_utils import to_checksum_address, to_hex
from web3 import Web3
from web3.types import Wei

from relayer.contracts import deploy, load_artifact
from relayer.errors import ChainError

ZERO_ADDRESS = "0x" + "0" * 40
PRICE_DECIMALS = 8  # Chainlink USD feeds
# anvil's dev accounts (from DEV_MNEMONIC): 0 deploys and owns, 1..N_DEPOSITORS deposit
N_DEPOSITORS = 4
OPERATOR_FUNDING_WEI = 100 * 10**18  # gas money for the operators' submissions
FEED_MAX_AGE_S = 3600
FEED_MAX_FUTURE_DRIFT_S = 300
GUARD_MAX_AGE_S = 3600


@dataclass(frozen=True)
class AssetSpec:
    """A devnet asset; amounts are exact integers in the token's own units."""

    symbol: str
    name: str
    decimals: int
    price_e8: int  # USD price with 8 decimals
    haircut_bps: int
    unit_deposit: int  # depositor j deposits (j + 1) * unit_deposit + chain_index * chain_step + odd
    chain_step: int
    odd: int  # a few units off round numbers, so sums are checked to the last unit


DEVNET_ASSETS: tuple[AssetSpec, ...] = (
    AssetSpec("USDC", "USD Coin (devnet)", 6, 99_990_000, 0, 250_000 * 10**6, 10_000 * 10**6, 17),
    AssetSpec("WETH", "Wrapped Ether (devnet)", 18, 3_000 * 10**8, 1_000, 40 * 10**18, 10**18, 123_456_789),
)


@dataclass(frozen=True)
class AssetDeployment:
    symbol: str
    token: str
    price_feed: str
    decimals: int
    price_e8: int
    haircut_bps: int
    deposits: dict[str, int] = field(default_factory=dict)  # account -> amount credited

    @property
    def total_deposited(self) -> int:
        return sum(self.deposits.values())


@dataclass(frozen=True)
class ChainDeployment:
    chain_id: int
    deployer: str
    vault: str
    feed: str
    guard: str
    verifier: str  # ZERO_ADDRESS until the Groth16 verifier is deployed: the feed then fails closed
    operators: tuple[str, ...]
    quorum: int
    assets: tuple[AssetDeployment, ...]
    block_number: int

    def to_json(self) -> dict[str, Any]:
        return {
            "chain_id": self.chain_id,
            "deployer": self.deployer,
            "contracts": {"vault": self.vault, "feed": self.feed, "guard": self.guard, "verifier": self.verifier},
            "operators": list(self.operators),
            "quorum": self.quorum,
            "block_number": self.block_number,
            "assets": [
                {
                    "symbol": a.symbol, "token": a.token, "price_feed": a.price_feed, "decimals": a.decimals,
                    "price_e8": a.price_e8, "haircut_bps": a.haircut_bps,
                    # amounts as strings: JSON readers in other languages lose precision above 2**53
                    "deposits": {k: str(v) for k, v in a.deposits.items()},
                    "total_deposited": str(a.total_deposited),
                }
                for a in self.assets
            ],
        }


def _send(w3: Web3, fn: Any, sender: str, what: str) -> int:
    """Send a contract call from an unlocked dev account; returns the block it landed in."""
    try:
        tx_hash = fn.transact({"from": sender})
        receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=60, poll_latency=0.02)
    except Exception as exc:  # web3 raises many unrelated types; callers see one
        raise ChainError(f"chain {w3.eth.chain_id}: {what} from {sender} failed: {exc}") from exc
    if receipt["status"] != 1:
        raise ChainError(f"chain {w3.eth.chain_id}: {what} from {sender} reverted (tx {to_hex(tx_hash)})")
    return int(receipt["blockNumber"])


def deploy_chain(
    w3: Web3,
    chain_index: int,
    operators: list[str],
    quorum: int,
    verifier_address: str | None = None,
    assets: tuple[AssetSpec, ...] = DEVNET_ASSETS,
) -> ChainDeployment:
    """Deploy and seed everything on one chain (dev account 0 deploys and owns).

    `verifier_address` is the hook for the Groth16 verifier: None deploys the feed with
    address(0), which makes it reject every submission (fail closed) until it is set.
    """
    accounts = [to_checksum_address(a) for a in w3.eth.accounts]
    if len(accounts) < 1 + N_DEPOSITORS:
        raise ChainError(f"chain {w3.eth.chain_id}: needs {1 + N_DEPOSITORS} unlocked dev accounts, has {len(accounts)}")
    deployer, depositors = accounts[0], accounts[1 : 1 + N_DEPOSITORS]
    chain_id = int(w3.eth.chain_id)

    vault = deploy(w3, "CollateralVault", deployer, sender=deployer)
    out_assets: list[AssetDeployment] = []
    for spec in assets:
        token = deploy(w3, "TestERC20", spec.name, spec.symbol, spec.decimals, sender=deployer)
        # prices differ a little per chain, like the same asset's feeds on different networks
        price = spec.price_e8 + chain_index * (spec.price_e8 // 400)
        # two rounds (1% apart), so that readers of getRoundData see a feed with history
        aggregator = deploy(w3, "PriceAggregator", PRICE_DECIMALS, f"{spec.symbol} / USD", price - price // 100,
                            sender=deployer)
        _send(w3, aggregator.functions.updateAnswer(price), deployer, f"{spec.symbol} price update")
        _send(w3, vault.functions.addAsset(token.address), deployer, f"vault.addAsset({spec.symbol})")
        deposits: dict[str, int] = {}
        for j, who in enumerate(depositors):
            amount = (j + 1) * spec.unit_deposit + chain_index * spec.chain_step + spec.odd * (j + 1)
            _send(w3, token.functions.mint(who, amount), deployer, f"{spec.symbol}.mint")
            _send(w3, token.functions.approve(vault.address, amount), who, f"{spec.symbol}.approve(vault)")
            _send(w3, vault.functions.deposit(token.address, amount, who), who, f"vault.deposit({spec.symbol})")
            deposits[who] = amount
        held = int(vault.functions.holdings(token.address).call())
        if held != sum(deposits.values()):
            raise ChainError(f"chain {chain_id}: vault holds {held} {spec.symbol} after seeding, expected {sum(deposits.values())}")
        out_assets.append(AssetDeployment(spec.symbol, token.address, aggregator.address, spec.decimals, price,
                                          spec.haircut_bps, deposits))

    verifier = to_checksum_address(verifier_address) if verifier_address else ZERO_ADDRESS
    feed = deploy(w3, "SolvencyFeed", operators, quorum, verifier, FEED_MAX_AGE_S, FEED_MAX_FUTURE_DRIFT_S, deployer,
                  sender=deployer)
    guard = deploy(w3, "LendingGuard", feed.address, GUARD_MAX_AGE_S, sender=deployer)
    # the guard pauses itself on an insolvent round only if the feed calls it back
    _send(w3, guard.functions.subscribeToFeed(), deployer, "guard.subscribeToFeed()")
    for op in operators:
        try:
            tx = w3.eth.send_transaction({"from": deployer, "to": op, "value": Wei(OPERATOR_FUNDING_WEI)})
            w3.eth.wait_for_transaction_receipt(tx, timeout=60, poll_latency=0.02)
        except Exception as exc:
            raise ChainError(f"chain {chain_id}: funding operator {op} failed: {exc}") from exc
    return ChainDeployment(
        chain_id=chain_id, deployer=deployer, vault=vault.address, feed=feed.address, guard=guard.address,
        verifier=verifier, operators=tuple(operators), quorum=quorum, assets=tuple(out_assets),
        block_number=int(w3.eth.block_number),
    )


def contract(w3: Web3, name: str, address: str) -> Any:
    """A web3 contract object for a deployed devnet contract."""
    abi, _ = load_artifact(name)
    return w3.eth.contract(address=to_checksum_address(address), abi=abi)
