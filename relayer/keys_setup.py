"""Where the solvency circuit's keys live: one folder holding `circuit.json` (capacity and the public
market parameters the statement uses), `proving_key.bin` and `verifying_key.json` (SPEC §5.5).

`relayer circuit setup` / the devnet create it with a DEVELOPMENT setup (one local contribution,
labelled dev; every load warns). The feed's verifier is deployed from the verifying key found here.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from relayer.circuits.solvency import PUBLIC_INPUTS, Capacity, SolvencyCircuit
from relayer.errors import ConfigError, FormatError
from relayer.zk.groth16.keys import (
    DEV_WARNING,
    KEY_FILES,
    PK_FILE,
    VK_FILE,
    ProvingKey,
    check_new_key_folder,
    load_proving_key,
    load_verifying_key,
    write_key_files,
    write_key_folder,
)
from relayer.zk.groth16.types import VerifyingKey
from relayer.zk.solidity import vk_hash

log = logging.getLogger(__name__)

CIRCUIT_FILE = "circuit.json"
CIRCUIT_FORMAT = "relayer-solvency-circuit/1"


@dataclass(frozen=True)
class UnderlyingSpec:
    """How the market data of one underlying is derived from a chain's snapshot: its spot is the
    oracle price of collateral asset `asset` read by the watcher; the vol and scan ranges are fixed
    public parameters (anyone recomputes the marks and risk arrays from them)."""

    asset: str
    vol_bps: int = 6000
    scan_bps: int = 1500
    vol_scan_bps: int = 1000


@dataclass(frozen=True)
class CircuitSpec:
    capacity: Capacity
    underlyings: dict[str, UnderlyingSpec] = field(default_factory=lambda: {"ETH": UnderlyingSpec("WETH")})

    def to_json(self) -> dict[str, Any]:
        return {
            "format": CIRCUIT_FORMAT,
            "capacity": {"accounts": self.capacity.accounts, "instruments": self.capacity.instruments,
                         "scenarios": self.capacity.scenarios},
            "market": {"underlyings": {u: {"asset": s.asset, "vol_bps": s.vol_bps, "scan_bps": s.scan_bps,
                                           "vol_scan_bps": s.vol_scan_bps} for u, s in self.underlyings.items()}},
        }

    @classmethod
    def from_json(cls, obj: Any, where: str) -> CircuitSpec:
        try:
            if obj.get("format") != CIRCUIT_FORMAT:
                raise FormatError(f"{where}: not a {CIRCUIT_FORMAT} file")
            c = obj["capacity"]
            cap = Capacity(int(c["accounts"]), int(c["instruments"]), int(c["scenarios"]))
            unds = {str(u): UnderlyingSpec(str(s["asset"]), int(s["vol_bps"]), int(s["scan_bps"]), int(s["vol_scan_bps"]))
                    for u, s in obj["market"]["underlyings"].items()}
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise FormatError(f"{where}: malformed circuit description ({exc!r}); regenerate it with "
                              "`relayer circuit setup --out DIR`") from None
        return cls(cap, unds)


@dataclass
class SolvencyKeys:
    """A loaded key folder. `pk` is loaded lazily (it is big; the verifier side needs only `vk`)."""

    path: Path
    spec: CircuitSpec
    vk: VerifyingKey
    dev: bool
    vk_hash: bytes
    _pk: ProvingKey | None = field(default=None, repr=False)

    @property
    def pk(self) -> ProvingKey:
        if self._pk is None:
            self._pk = load_proving_key(self.path)
            if self._pk.vk != self.vk:
                raise FormatError(f"{self.path}: {PK_FILE} and {VK_FILE} are from different setups; rerun the setup")
        return self._pk


SOLVENCY_KEY_FILES = (*KEY_FILES, CIRCUIT_FILE)


def setup_solvency_keys(out_dir: Path, spec: CircuitSpec, backend: str = "cpu") -> SolvencyKeys:
    """DEVELOPMENT setup of the solvency circuit at `spec.capacity`, written to the new folder `out_dir`
    whole or not at all. A folder holding any key file (or anything else) is refused before the setup
    runs (ConfigError naming the files): feeds' verifiers may be deployed from the key there."""
    from relayer.zk.groth16.setup import dev_setup

    out_dir = Path(out_dir)
    check_new_key_folder(out_dir, SOLVENCY_KEY_FILES)  # before the slow part
    t0 = time.perf_counter()
    circuit = solvency_circuit(spec.capacity)
    r1cs = circuit.circuit.compile()
    pk = dev_setup(r1cs, backend)
    if pk.n_public != len(PUBLIC_INPUTS):
        raise FormatError(f"the solvency circuit has {pk.n_public} public inputs, the feed derives {len(PUBLIC_INPUTS)}")
    meta = spec.to_json() | {"dev": True, "warning": DEV_WARNING, "n_constraints": r1cs.n_constraints,
                             "vk_hash": "0x" + vk_hash(pk.vk).hex()}

    def fill(folder: Path) -> None:
        write_key_files(folder, pk)
        (folder / CIRCUIT_FILE).write_text(json.dumps(meta, indent=1) + "\n")

    write_key_folder(out_dir, fill, SOLVENCY_KEY_FILES)
    log.warning("solvency keys in %s: %s", out_dir, DEV_WARNING)
    log.info("setup of %s (%d constraints) in %.1fs", spec.capacity, r1cs.n_constraints, time.perf_counter() - t0)
    return SolvencyKeys(out_dir, spec, pk.vk, True, vk_hash(pk.vk), pk)


def load_solvency_keys(key_dir: Path) -> SolvencyKeys:
    """Open a key folder (verifying side); raises ConfigError when it is missing."""
    key_dir = Path(key_dir)
    meta_path = key_dir / CIRCUIT_FILE
    if not meta_path.is_file() or not (key_dir / VK_FILE).is_file():
        raise ConfigError(f"{key_dir}: no solvency circuit keys here ({CIRCUIT_FILE}, {VK_FILE}); create them with "
                          "`relayer circuit setup --out DIR` (the devnet does it for you) or fix relayer.circuit_dir")
    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, ValueError) as exc:
        raise FormatError(f"{meta_path}: unreadable ({exc})") from None
    spec = CircuitSpec.from_json(meta, str(meta_path))
    vk, dev, _ = load_verifying_key(key_dir)
    h = vk_hash(vk)
    if meta.get("vk_hash") != "0x" + h.hex():
        raise FormatError(f"{meta_path}: records vk_hash {meta.get('vk_hash')} but {VK_FILE} hashes to 0x{h.hex()}; "
                          "the folder mixes two setups")
    if vk.n_public != len(PUBLIC_INPUTS):
        raise FormatError(f"{key_dir}: the key has {vk.n_public} public inputs, the feed derives {len(PUBLIC_INPUTS)}")
    if dev:
        log.warning("solvency keys %s: %s", key_dir, DEV_WARNING)
    return SolvencyKeys(key_dir, spec, vk, dev, h)


def check_contribution_target(in_dir: Path, out_dir: Path) -> None:
    """Refuse a phase-2 contribution's --out that would overwrite something: the key it builds on
    (--in itself: a crash mid-write would lose the previous key), a folder inside --in, another key
    folder, or any other non-empty folder. Raises ConfigError naming the folder and the fix."""
    in_dir, out_dir = Path(in_dir), Path(out_dir)
    src, dst = in_dir.resolve(), out_dir.resolve()
    if dst == src or (out_dir.exists() and in_dir.exists() and os.path.samefile(out_dir, in_dir)):
        raise ConfigError(f"--out {out_dir} is the --in key folder: a contribution is never written over the key it "
                          "builds on (a crash mid-write would lose it); write it to a new folder, check it with "
                          f"`relayer setup verify --old {in_dir} --new NEW`, then point the config at NEW")
    if src in dst.parents:
        raise ConfigError(f"--out {out_dir} is inside the --in key folder {in_dir}; choose a folder outside it")
    if out_dir.exists() and not out_dir.is_dir():
        raise ConfigError(f"--out {out_dir} exists and is not a folder; choose a new folder")
    if out_dir.is_dir() and any(out_dir.iterdir()):
        if (out_dir / PK_FILE).exists() or (out_dir / VK_FILE).exists():
            raise ConfigError(f"--out {out_dir} already holds a key ({PK_FILE}/{VK_FILE}); a key folder is never "
                              "overwritten: choose a new folder")
        raise ConfigError(f"--out {out_dir} is not empty and is not a key folder; choose a new (or empty) folder")


def contribute_key_folder(in_dir: Path, out_dir: Path, name: str = "", entropy: bytes = b"",
                          pk: ProvingKey | None = None) -> ProvingKey:
    """Add a phase-2 contribution (new δ) to the key folder `in_dir`, written to the new folder
    `out_dir` whole or not at all: the files go to a hidden sibling folder first, which is renamed to
    `out_dir` once complete (a crash leaves no `out_dir`, and never touches `in_dir`). A solvency key
    folder's circuit.json is carried over with the new key's vk_hash. `pk`: in_dir's proving key when
    the caller already loaded it. Returns the new proving key."""
    from relayer.zk.groth16.setup import phase2_contribute

    in_dir, out_dir = Path(in_dir), Path(out_dir)
    check_contribution_target(in_dir, out_dir)
    new = phase2_contribute(pk if pk is not None else load_proving_key(in_dir), name=name, entropy=entropy)
    meta: dict[str, Any] | None = None
    if (in_dir / CIRCUIT_FILE).is_file():
        try:
            meta = json.loads((in_dir / CIRCUIT_FILE).read_text())
        except (OSError, ValueError) as exc:
            raise FormatError(f"{in_dir / CIRCUIT_FILE}: unreadable ({exc})") from None
        if not isinstance(meta, dict):
            raise FormatError(f"{in_dir / CIRCUIT_FILE}: not a {CIRCUIT_FORMAT} file")
        meta["vk_hash"] = "0x" + vk_hash(new.vk).hex()  # δ changed, so did the key's hash
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.partial-", dir=out_dir.parent))
    try:
        write_key_files(tmp, new)  # tmp is this fresh folder: no overwrite check, no second tmp
        if meta is not None:
            (tmp / CIRCUIT_FILE).write_text(json.dumps(meta, indent=1) + "\n")
        for f in tmp.iterdir():  # on disk before the rename makes them visible as the key
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())
        check_contribution_target(in_dir, out_dir)  # still free (nothing appeared there meanwhile)
        # rename(2) of a folder onto a missing or empty folder is atomic
        os.rename(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    dir_fd = os.open(out_dir.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return new


@lru_cache(maxsize=4)
def solvency_circuit(cap: Capacity) -> SolvencyCircuit:
    """The circuit of one capacity, built once per process (building costs seconds)."""
    return SolvencyCircuit(cap)


def file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


__all__ = ["CIRCUIT_FILE", "SOLVENCY_KEY_FILES", "CircuitSpec", "SolvencyKeys", "UnderlyingSpec", "check_contribution_target",
           "contribute_key_folder", "load_solvency_keys", "setup_solvency_keys", "solvency_circuit"]
