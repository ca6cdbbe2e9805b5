"""Attestation signers: one small interface registered by name (STYLE 2), the encrypted-keystore
implementation, and `QuorumSigner`, which collects the feed threshold of canonical signatures and
never lets a signer sign two different attestations for the same round (STYLE 8).

The double-sign guard is persisted: the store records (signer, round) -> hashStruct(attestation)
BEFORE a signature is released, so the refusal also holds after a restart.
"""

from __future__ import annotations

import json
import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from eth_account import Account
from eth_utils import to_checksum_address

from relayer.attest.eip712 import (
    HALF_N,
    Attestation,
    attestation_digest,
    hash_attestation_struct,
    recover_signer,
    sign_attestation,
)
from relayer.config import DEFAULT_PASSWORD_ENV
from relayer.errors import AttestationError, ConfigError, HaltError

if TYPE_CHECKING:
    from relayer.storage import SignatureRecord, Store


class Signer(ABC):
    """Signs 32-byte EIP-712 attestation digests with one key; returns canonical r || s || v."""

    name: ClassVar[str]

    @property
    @abstractmethod
    def address(self) -> str:
        """EIP-55 address of the key."""

    @abstractmethod
    def sign_digest(self, digest: bytes) -> bytes:
        """65-byte canonical signature (low s, v in {27, 28}) of an attestation digest."""


_REGISTRY: dict[str, type[Signer]] = {}


def register_signer(cls: type[Signer]) -> type[Signer]:
    """Class decorator: make a signer available by its `name`."""
    if not getattr(cls, "name", None):
        raise TypeError(f"{cls.__name__} needs a class attribute `name`")
    if cls.name in _REGISTRY and _REGISTRY[cls.name] is not cls:
        raise TypeError(f"signer name {cls.name!r} is already registered by {_REGISTRY[cls.name].__name__}")
    _REGISTRY[cls.name] = cls
    return cls


def signer_class(name: str) -> type[Signer]:
    if name not in _REGISTRY:
        raise ConfigError(f"no signer named {name!r}; available: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name]


def signer_names() -> list[str]:
    return sorted(_REGISTRY)


@register_signer
class KeystoreSigner(Signer):
    """A key from an encrypted keystore file (eth-account / geth v3 JSON). The password comes from
    the environment, never from a file; the decrypted key stays inside this object."""

    name = "keystore"

    def __init__(self, path: str | os.PathLike[str], password: str) -> None:
        self.path = Path(path)
        try:
            keystore = json.loads(self.path.read_text())
        except FileNotFoundError:
            raise AttestationError(f"{self.path}: keystore file not found; fix relayer.keys or create the key") from None
        except (OSError, ValueError) as exc:
            raise AttestationError(f"{self.path}: not a readable keystore file ({exc})") from None
        if not isinstance(keystore, dict) or "crypto" not in keystore and "Crypto" not in keystore:
            raise AttestationError(f"{self.path}: not an encrypted keystore (no 'crypto' section)")
        try:
            key = Account.decrypt(keystore, password)
        except ValueError:
            # eth-account says "MAC mismatch"; what the operator needs is which file and what to set
            raise AttestationError(f"{self.path}: wrong password for this keystore; set the right password in the "
                                   "environment variable named by relayer.password_env "
                                   f"(default ${DEFAULT_PASSWORD_ENV})") from None
        except (KeyError, TypeError) as exc:
            raise AttestationError(f"{self.path}: malformed keystore ({exc!r})") from None
        self._account = Account.from_key(key)
        recorded = keystore.get("address")
        if recorded and to_checksum_address("0x" + str(recorded).removeprefix("0x")) != self._account.address:
            raise AttestationError(f"{self.path}: the keystore's address field does not match its key (corrupt file)")

    @classmethod
    def from_env(cls, path: str | os.PathLike[str], password_env: str = DEFAULT_PASSWORD_ENV,
                 env: Mapping[str, str] | None = None) -> KeystoreSigner:
        env = os.environ if env is None else env
        if password_env not in env:
            raise AttestationError(f"{path}: the keystore password is read from ${password_env}, which is not set; export it")
        return cls(path, env[password_env])

    @property
    def address(self) -> str:
        return str(self._account.address)

    def sign_digest(self, digest: bytes) -> bytes:
        return sign_attestation(digest, self._account.key)

    def unsafe_private_key(self) -> bytes:
        """The raw key, for signing this operator's own transactions (relay); never log it."""
        return bytes(self._account.key)

    def __repr__(self) -> str:  # never the key
        return f"KeystoreSigner({str(self.path)!r}, address={self.address})"


@register_signer
class UnsafeLocalKeySigner(Signer):
    """A plain private key in memory: tests and throwaway devnets only (the name says so)."""

    name = "unsafe-local-key"

    def __init__(self, key: bytes | str) -> None:
        try:
            self._account = Account.from_key(key)
        except (ValueError, TypeError) as exc:
            raise AttestationError(f"not a secp256k1 private key: {exc}") from None

    @property
    def address(self) -> str:
        return str(self._account.address)

    def sign_digest(self, digest: bytes) -> bytes:
        return sign_attestation(digest, self._account.key)

    def __repr__(self) -> str:
        return f"UnsafeLocalKeySigner(address={self.address})"


def load_keystore_signers(paths: Sequence[Path], password_env: str = DEFAULT_PASSWORD_ENV,
                          env: Mapping[str, str] | None = None) -> list[KeystoreSigner]:
    """Open every configured keystore with the password from the environment."""
    return [KeystoreSigner.from_env(p, password_env, env) for p in paths]


Domain = tuple[int, str]  # (chain id, feed address): one EIP-712 domain per feed


class QuorumSigner:
    """Signs a round's attestation for every feed domain with each of its signers, and checks it
    has at least `threshold` valid distinct signatures per domain.

    Each signer's agreement to the attestation (hashStruct, domain-independent) is persisted
    before the signer is asked for anything; a signer that already agreed to a different
    attestation for that round makes the whole call raise HaltError, releasing nothing.
    """

    def __init__(self, signers: Sequence[Signer], threshold: int, store: Store,
                 on_event: Callable[[str, dict[str, Any]], None] | None = None) -> None:
        if threshold < 1:
            raise AttestationError(f"quorum threshold must be >= 1, got {threshold}")
        addrs = [s.address for s in signers]
        if len(set(addrs)) != len(addrs):
            raise AttestationError(f"the same key appears twice among the signers ({addrs}); each must be distinct")
        if len(signers) < threshold:
            raise AttestationError(f"quorum {threshold} cannot be reached with {len(signers)} signer(s)")
        self.signers = list(signers)
        self.threshold = threshold
        self.store = store
        self._on_event = on_event or (lambda _name, _data: None)

    def sign_round(self, att: Attestation, domains: Sequence[Domain]) -> dict[int, list[SignatureRecord]]:
        """Signatures per chain id for `att`. Already-stored signatures are reused (a restart
        signs nothing new); new ones are persisted before being returned."""
        from relayer.storage import SignatureRecord

        struct = hash_attestation_struct(att)
        # 1. every signer's intent first: a conflict halts before any signature exists for this call
        for signer in self.signers:
            self.store.record_signing_intent(signer.address, att.round, struct)
        out: dict[int, list[SignatureRecord]] = {}
        for chain_id, feed in domains:
            feed = to_checksum_address(feed)
            digest = attestation_digest(att, chain_id, feed)
            have = {r.signer: r for r in self.store.signatures(att.round, chain_id)}
            recs: list[SignatureRecord] = []
            for signer in self.signers:
                rec = have.get(signer.address)
                if rec is not None and rec.digest != digest:
                    raise HaltError(f"round {att.round}: stored signature of {signer.address} for chain {chain_id} is over "
                                    f"another digest; refusing to sign twice")
                if rec is not None:
                    # a reused signature is held to the same rule as a fresh one: a stored row that
                    # no longer recovers to its signer must not count towards the quorum
                    try:
                        _check_signature(digest, rec.signature, signer.address)
                    except AttestationError as exc:
                        raise HaltError(f"round {att.round}: stored signature of {signer.address} for chain {chain_id} "
                                        f"is invalid ({exc}); corrupt database") from None
                else:
                    sig = signer.sign_digest(digest)
                    _check_signature(digest, sig, signer.address)
                    rec = SignatureRecord(att.round, chain_id, feed, signer.address, digest, sig)
                    self.store.save_signature(rec)
                recs.append(rec)
            if len(recs) < self.threshold:
                raise AttestationError(f"round {att.round}: {len(recs)} signature(s) for chain {chain_id}, quorum is {self.threshold}")
            out[chain_id] = recs
        from relayer.storage import RoundState

        rec_round = self.store.get_round(att.round)
        if rec_round is not None and rec_round.state == RoundState.ATTESTED:
            self.store.advance_round(att.round, RoundState.SIGNED)
        self._on_event("signed", {"round": att.round, "chains": sorted(out)})
        return out


def _check_signature(digest: bytes, sig: bytes, expected: str) -> None:
    """The signature is canonical and recovers to the signer (a broken signer never reaches a feed)."""
    if len(sig) != 65 or int.from_bytes(sig[32:64], "big") > HALF_N or sig[64] not in (27, 28):
        raise AttestationError(f"signer {expected} returned a non-canonical signature")
    got = recover_signer(digest, sig)
    if got != expected:
        raise AttestationError(f"signer {expected} returned a signature that recovers to {got}")
