"""EIP-712 attestation of a round (same types, hashing and public-input derivation as SolvencyFeed).

Implements EIP-712 (https://eips.ethereum.org/EIPS/eip-712) by hand so every byte is visible;
tests cross-check it against eth-account's generic `encode_typed_data` and the contract's own
`hashAttestation` view. Signatures are canonical: 65 bytes r || s || v, s <= n/2 (EIP-2), v in {27, 28}.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from eth_abi import encode as abi_encode
from eth_account import Account
from eth_keys import keys as eth_keys_mod
from eth_utils import keccak, to_checksum_address

from relayer.errors import AttestationError
from relayer.zk.field import R as SNARK_SCALAR_FIELD

# secp256k1 group order n (SEC 2, §2.4.1) and n/2: the largest canonical s (EIP-2).
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
HALF_N = SECP256K1_N // 2

DOMAIN_NAME = "SolvencyFeed"
DOMAIN_VERSION = "1"
INPUTS_PER_CHAIN = 12
MAX_CHAINS = 32  # SolvencyFeed.MAX_CHAINS

# Field lists in EIP-712 order; the type strings below are built from them (never reorder).
CHAIN_ENTRY_FIELDS: tuple[tuple[str, str], ...] = (
    ("uint64", "chainId"),
    ("uint64", "blockNumber"),
    ("bytes32", "blockHash"),
    ("uint256", "assets"),
    ("uint256", "liabilities"),
    ("uint256", "maintenanceMargin"),
    ("uint256", "badDebt"),
    ("uint32", "underMargined"),
    ("bytes32", "root"),
    ("bytes32", "marketCommitment"),
    ("bytes32", "proofDigest"),
)
ATTESTATION_FIELDS: tuple[tuple[str, str], ...] = (
    ("uint64", "round"),
    ("uint64", "timestamp"),
    ("uint32", "signerSetVersion"),
    ("uint256", "totalAssets"),
    ("uint256", "totalLiabilities"),
    ("uint256", "totalMaintenanceMargin"),
    ("uint256", "totalBadDebt"),
    ("uint32", "totalUnderMargined"),
    ("ChainEntry[]", "chains"),
    ("bytes32", "bundleDigest"),
)


def _type_string(name: str, fields: tuple[tuple[str, str], ...]) -> str:
    return f"{name}(" + ",".join(f"{t} {n}" for t, n in fields) + ")"


CHAIN_ENTRY_TYPE = _type_string("ChainEntry", CHAIN_ENTRY_FIELDS)
# EIP-712 encodeType: the primary type, then referenced struct types sorted by name.
ATTESTATION_TYPE = _type_string("Attestation", ATTESTATION_FIELDS) + CHAIN_ENTRY_TYPE
DOMAIN_TYPE = "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
CHAIN_ENTRY_TYPEHASH = keccak(text=CHAIN_ENTRY_TYPE)
ATTESTATION_TYPEHASH = keccak(text=ATTESTATION_TYPE)
DOMAIN_TYPEHASH = keccak(text=DOMAIN_TYPE)

_BITS = {"uint32": 32, "uint64": 64, "uint256": 256}


def _check_field(owner: str, ftype: str, name: str, value: Any) -> None:
    if ftype == "bytes32":
        if not isinstance(value, bytes) or len(value) != 32:
            raise AttestationError(f"{owner}.{name} must be 32 bytes, got {value!r}")
        return
    bits = _BITS[ftype]
    # bool is an int subclass; a flag in a numeric field is a bug, not a 0/1
    if not isinstance(value, int) or isinstance(value, bool):
        raise AttestationError(f"{owner}.{name} must be an exact int ({ftype}), got {type(value).__name__}")
    if not 0 <= value < (1 << bits):
        raise AttestationError(f"{owner}.{name}={value} is out of range for {ftype}")


@dataclass(frozen=True)
class ChainEntry:
    """One chain's book at one block (amounts in the circuit's integer units)."""

    chainId: int
    blockNumber: int
    blockHash: bytes
    assets: int
    liabilities: int
    maintenanceMargin: int
    badDebt: int
    underMargined: int
    root: bytes
    marketCommitment: bytes
    proofDigest: bytes

    def __post_init__(self) -> None:
        for ftype, name in CHAIN_ENTRY_FIELDS:
            _check_field("ChainEntry", ftype, name, getattr(self, name))

    def as_tuple(self) -> tuple[Any, ...]:
        """ABI tuple in field order (web3 contract calls)."""
        return tuple(getattr(self, n) for _, n in CHAIN_ENTRY_FIELDS)

    def to_json(self) -> dict[str, Any]:
        return {n: _json_value(t, getattr(self, n)) for t, n in CHAIN_ENTRY_FIELDS}

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> ChainEntry:
        return cls(**{n: _from_json_value(t, obj[n], n) for t, n in CHAIN_ENTRY_FIELDS})


@dataclass(frozen=True)
class Attestation:
    """One round over all chains; `chains` sorted by strictly increasing chainId."""

    round: int
    timestamp: int
    signerSetVersion: int
    totalAssets: int
    totalLiabilities: int
    totalMaintenanceMargin: int
    totalBadDebt: int
    totalUnderMargined: int
    chains: tuple[ChainEntry, ...] = field(default_factory=tuple)
    bundleDigest: bytes = b"\0" * 32

    def __post_init__(self) -> None:
        object.__setattr__(self, "chains", tuple(self.chains))
        for ftype, name in ATTESTATION_FIELDS:
            if ftype != "ChainEntry[]":
                _check_field("Attestation", ftype, name, getattr(self, name))
        for e in self.chains:
            if not isinstance(e, ChainEntry):
                raise AttestationError(f"Attestation.chains holds a {type(e).__name__}, not a ChainEntry")

    @classmethod
    def build(
        cls,
        round: int,
        timestamp: int,
        signer_set_version: int,
        chains: list[ChainEntry] | tuple[ChainEntry, ...],
        bundle: bytes,
    ) -> Attestation:
        """An attestation whose totals are the sums over `chains` (sorted by chain id) and whose
        bundleDigest is keccak256(bundle); checks what the feed will check about its shape."""
        entries = tuple(sorted(chains, key=lambda e: e.chainId))
        if not entries:
            raise AttestationError("an attestation needs at least one chain entry")
        if len(entries) > MAX_CHAINS:
            raise AttestationError(f"{len(entries)} chain entries; the feed accepts at most {MAX_CHAINS}")
        ids = [e.chainId for e in entries]
        if len(set(ids)) != len(ids):
            raise AttestationError(f"chain ids must be distinct, got {ids}")
        return cls(
            round=round,
            timestamp=timestamp,
            signerSetVersion=signer_set_version,
            totalAssets=sum(e.assets for e in entries),
            totalLiabilities=sum(e.liabilities for e in entries),
            totalMaintenanceMargin=sum(e.maintenanceMargin for e in entries),
            totalBadDebt=sum(e.badDebt for e in entries),
            totalUnderMargined=sum(e.underMargined for e in entries),
            chains=entries,
            bundleDigest=keccak(bundle),
        )

    def as_tuple(self) -> tuple[Any, ...]:
        """ABI tuple in field order, for web3 calls to SolvencyFeed.submit / hashAttestation."""
        out: list[Any] = []
        for ftype, name in ATTESTATION_FIELDS:
            if ftype == "ChainEntry[]":
                out.append([e.as_tuple() for e in self.chains])
            else:
                out.append(getattr(self, name))
        return tuple(out)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for ftype, name in ATTESTATION_FIELDS:
            if ftype == "ChainEntry[]":
                out[name] = [e.to_json() for e in self.chains]
            else:
                out[name] = _json_value(ftype, getattr(self, name))
        return out

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> Attestation:
        kwargs: dict[str, Any] = {}
        for ftype, name in ATTESTATION_FIELDS:
            if ftype == "ChainEntry[]":
                kwargs[name] = tuple(ChainEntry.from_json(e) for e in obj[name])
            else:
                kwargs[name] = _from_json_value(ftype, obj[name], name)
        return cls(**kwargs)


# JSON form: integers as decimal strings (exact beyond 2^53), bytes32 as 0x-hex.
def _json_value(ftype: str, value: Any) -> Any:
    return "0x" + value.hex() if ftype == "bytes32" else str(value)


def _from_json_value(ftype: str, value: Any, name: str) -> Any:
    try:
        if ftype == "bytes32":
            return bytes.fromhex(value.removeprefix("0x"))
        if not isinstance(value, str) or not value.isdigit():
            raise ValueError("not a decimal string")
        return int(value)
    except (ValueError, AttributeError) as exc:
        raise AttestationError(f"{name}: cannot read {value!r} as {ftype} ({exc})") from exc


# ------------------------------------------------------------------------- hashing


def domain_separator(chain_id: int, verifying_contract: str) -> bytes:
    """EIP-712 domainSeparator for the feed at `verifying_contract` on chain `chain_id`."""
    return keccak(
        abi_encode(
            ["bytes32", "bytes32", "bytes32", "uint256", "address"],
            [DOMAIN_TYPEHASH, keccak(text=DOMAIN_NAME), keccak(text=DOMAIN_VERSION), chain_id,
             to_checksum_address(verifying_contract)],
        )
    )


def hash_chain_entry(e: ChainEntry) -> bytes:
    types = ["bytes32"] + [t for t, _ in CHAIN_ENTRY_FIELDS]
    return keccak(abi_encode(types, [CHAIN_ENTRY_TYPEHASH, *e.as_tuple()]))


def hash_attestation_struct(att: Attestation) -> bytes:
    """hashStruct(Attestation): an array of structs encodes as keccak256(concat(hashStruct(e)))."""
    types: list[str] = ["bytes32"]
    values: list[Any] = [ATTESTATION_TYPEHASH]
    for ftype, name in ATTESTATION_FIELDS:
        if ftype == "ChainEntry[]":
            types.append("bytes32")
            values.append(keccak(b"".join(hash_chain_entry(e) for e in att.chains)))
        else:
            types.append(ftype)
            values.append(getattr(att, name))
    return keccak(abi_encode(types, values))


def attestation_digest(att: Attestation, chain_id: int, verifying_contract: str) -> bytes:
    """The 32-byte digest signers sign: keccak256(0x19 0x01 || domainSeparator || hashStruct)."""
    return keccak(b"\x19\x01" + domain_separator(chain_id, verifying_contract) + hash_attestation_struct(att))


def typed_data(att: Attestation, chain_id: int, verifying_contract: str) -> dict[str, Any]:
    """The EIP-712 message as a JSON-able dict (eth_signTypedData_v4 / eth-account full_message)."""
    def entry(e: ChainEntry) -> dict[str, Any]:
        return {n: getattr(e, n) for _, n in CHAIN_ENTRY_FIELDS}

    message = {n: getattr(att, n) for t, n in ATTESTATION_FIELDS if t != "ChainEntry[]"}
    message["chains"] = [entry(e) for e in att.chains]
    return {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "Attestation": [{"name": n, "type": t} for t, n in ATTESTATION_FIELDS],
            "ChainEntry": [{"name": n, "type": t} for t, n in CHAIN_ENTRY_FIELDS],
        },
        "primaryType": "Attestation",
        "domain": {
            "name": DOMAIN_NAME,
            "version": DOMAIN_VERSION,
            "chainId": chain_id,
            "verifyingContract": to_checksum_address(verifying_contract),
        },
        "message": message,
    }


# ------------------------------------------------------------------------- public inputs


def public_inputs(att: Attestation) -> list[int]:
    """The Groth16 public inputs SolvencyFeed derives: 12 per chain, in this order:
    [chainId, blockNumber, blockHash >> 128, blockHash & (2^128-1), marketCommitment,
     assets, liabilities, maintenanceMargin, badDebt, underMargined, root, round].
    Raises AttestationError when one is >= r (the feed would reject the round)."""
    out: list[int] = []
    for e in att.chains:
        h = int.from_bytes(e.blockHash, "big")
        out += [
            e.chainId, e.blockNumber, h >> 128, h & ((1 << 128) - 1),
            int.from_bytes(e.marketCommitment, "big"),
            e.assets, e.liabilities, e.maintenanceMargin, e.badDebt, e.underMargined,
            int.from_bytes(e.root, "big"), att.round,
        ]
    for i, v in enumerate(out):
        if v >= SNARK_SCALAR_FIELD:
            raise AttestationError(
                f"public input {i} (chain {att.chains[i // INPUTS_PER_CHAIN].chainId}, slot "
                f"{i % INPUTS_PER_CHAIN}) = {v} is not below the BN254 scalar field r"
            )
    return out


# ------------------------------------------------------------------------- signatures


def sign_attestation(digest: bytes, key: bytes | str) -> bytes:
    """Canonical 65-byte signature r || s || v (s <= n/2, v in {27, 28}) of a 32-byte digest.

    The digest must come from `attestation_digest`: this signs raw hashes (eth-account's
    `unsafe_sign_hash`), so never pass it anything a third party chose."""
    if not isinstance(digest, bytes) or len(digest) != 32:
        raise AttestationError("sign_attestation needs the 32-byte EIP-712 digest")
    try:
        signed = Account.unsafe_sign_hash(digest, key)
    except (ValueError, TypeError) as exc:
        raise AttestationError(f"cannot sign with this key: {exc}") from exc
    r, s, v = int(signed.r), int(signed.s), int(signed.v)
    if v < 27:
        v += 27
    if s > HALF_N:  # normalize to the low-s twin (EIP-2); flips the recovery id
        s, v = SECP256K1_N - s, 55 - v
    return r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes([v])


def recover_signer(digest: bytes, signature: bytes) -> str:
    """Checksummed address that signed `digest`, applying the feed's canonical-form rules."""
    if len(signature) != 65:
        raise AttestationError(f"signature must be 65 bytes, got {len(signature)}")
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:64], "big")
    v = signature[64]
    if s > HALF_N:
        raise AttestationError("signature has high s (malleable twin); the feed rejects it")
    if v not in (27, 28):
        raise AttestationError(f"signature v must be 27 or 28, got {v}")
    if not (0 < r < SECP256K1_N and 0 < s):
        raise AttestationError("signature r/s out of range")
    sig = eth_keys_mod.Signature(vrs=(v - 27, r, s))
    return sig.recover_public_key_from_msg_hash(digest).to_checksum_address()
