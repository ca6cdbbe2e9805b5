"""The committed contract artifacts match the Solidity sources: source hashes always, and the
bytecode itself by recompiling with the pinned solc-js when Node.js and the tools are present."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import re
import shutil
from pathlib import Path
from types import ModuleType

import pytest

from relayer.contracts import artifact_names, deploy, load_artifact, load_full_artifact
from relayer.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
ART_DIRS = {"contracts/src": ROOT / "relayer" / "contracts" / "artifacts", "contracts/test": ROOT / "tests" / "artifacts"}
KEYS = {"contractName", "abi", "bytecode", "deployedBytecode", "sourceHash", "compiler", "sources", "sourceUnit"}
DECL = re.compile(r"^\s*(?:abstract\s+)?(?:contract|interface|library)\s+(\w+)", re.MULTILINE)


def _build_module() -> ModuleType:
    path = ROOT / "scripts" / "build-contracts"
    loader = importlib.machinery.SourceFileLoader("build_contracts", str(path))
    spec = importlib.util.spec_from_loader("build_contracts", loader)
    assert spec is not None
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


BUILD = _build_module()


def _artifacts() -> list[tuple[str, Path]]:
    return [(src, p) for src, d in ART_DIRS.items() for p in sorted(d.glob("*.json"))]


@pytest.mark.parametrize(("src_dir", "path"), _artifacts(), ids=[p.name for _, p in _artifacts()])
def test_artifact_source_hash_matches_sources(src_dir: str, path: Path) -> None:
    art = json.loads(path.read_text())
    assert KEYS <= art.keys()
    assert art["contractName"] == path.stem
    assert art["sourceUnit"].startswith(src_dir + "/") and art["sourceUnit"] in art["sources"]
    missing = [u for u in art["sources"] if not (ROOT / u).exists()]
    assert not missing, f"{path.name} was built from sources that no longer exist: {missing}"
    assert art["sourceHash"] == BUILD.source_hash(art["sources"]), (
        f"{path.name} is stale: its sources changed; run ./scripts/build-contracts")
    assert re.fullmatch(r"0x([0-9a-f]{2})*", art["bytecode"]) and re.fullmatch(r"0x([0-9a-f]{2})*", art["deployedBytecode"])
    assert art["compiler"]["version"].startswith("0.8.37+")
    assert art["compiler"]["optimizer"] == {"enabled": True, "runs": 200}
    assert art["compiler"]["evmVersion"] == "cancun"


@pytest.mark.parametrize("src_dir", list(ART_DIRS))
def test_every_declared_contract_has_an_artifact(src_dir: str) -> None:
    out = ART_DIRS[src_dir]
    for sol in sorted((ROOT / src_dir).glob("*.sol")):
        for name in DECL.findall(sol.read_text()):
            art = out / f"{name}.json"
            assert art.exists(), f"{name} ({sol.name}) has no artifact; run ./scripts/build-contracts"
            assert json.loads(art.read_text())["sourceUnit"] == f"{src_dir}/{sol.name}"


def test_source_hash_detects_a_changed_source(tmp_path: Path) -> None:
    art = load_full_artifact("SolvencyFeed")
    for unit in art["sources"]:
        (tmp_path / unit).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / unit, tmp_path / unit)
    assert BUILD.source_hash(art["sources"], tmp_path) == art["sourceHash"]
    # a change in an imported file (not only the contract's own) must show
    dep = next(u for u in art["sources"] if u.endswith("SolvencyTypes.sol"))
    (tmp_path / dep).write_text((tmp_path / dep).read_text() + "\n// edited\n")
    assert BUILD.source_hash(art["sources"], tmp_path) != art["sourceHash"]


_HAVE_SOLC = shutil.which("node") is not None and (BUILD.SOLC_JS / "package.json").exists()


@pytest.fixture(scope="module")
def compiled() -> dict[str, dict[str, dict]]:
    """One compilation of both source folders (solc-js is slow on a busy machine), shared below."""
    if not _HAVE_SOLC:
        pytest.fail("Node.js or tools/node_modules/solc missing: run scripts/bootstrap (the test command does)")
    return BUILD.compile_dirs(list(ART_DIRS))


def test_recompiling_reproduces_committed_artifacts_byte_for_byte(compiled: dict[str, dict[str, dict]]) -> None:
    for src_dir, out in ART_DIRS.items():
        built = compiled[src_dir]
        on_disk = {p.stem for p in out.glob("*.json")}
        assert on_disk == set(built), f"{out}: artifacts {sorted(on_disk ^ set(built))} out of step with sources"
        for name, art in built.items():
            assert (out / f"{name}.json").read_text() == BUILD.render(art), f"{name}: rerun ./scripts/build-contracts"


def test_check_mode_flags_a_tampered_artifact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, compiled: dict[str, dict[str, dict]]
) -> None:
    monkeypatch.setattr(BUILD, "compile_dirs", lambda dirs: {d: compiled[d] for d in dirs})
    src_copy, test_copy = tmp_path / "src", tmp_path / "test"
    shutil.copytree(ART_DIRS["contracts/src"], src_copy)
    shutil.copytree(ART_DIRS["contracts/test"], test_copy)
    monkeypatch.setattr(BUILD, "SRC_OUT", src_copy)
    monkeypatch.setattr(BUILD, "TEST_OUT", test_copy)
    assert BUILD.main(["--check"]) == 0
    art = json.loads((src_copy / "TestERC20.json").read_text())
    art["deployedBytecode"] = art["deployedBytecode"][:-2] + "00"
    (src_copy / "TestERC20.json").write_text(BUILD.render(art))
    assert BUILD.main(["--check"]) == 1
    (src_copy / "TestERC20.json").unlink()
    (src_copy / "Leftover.json").write_text("{}")
    assert BUILD.main(["--check"]) == 1


def test_load_artifact_and_clear_errors() -> None:
    abi, bytecode = load_artifact("SolvencyFeed")
    assert any(i.get("name") == "submit" for i in abi) and len(bytecode) > 1000
    assert {"SolvencyFeed", "CollateralVault", "TestERC20", "PriceAggregator", "LendingGuard"} <= set(artifact_names())
    assert "AcceptingVerifier" not in artifact_names()  # test doubles never ship in the package
    with pytest.raises(ConfigError, match="build-contracts"):
        load_artifact("NoSuchContract")
    with pytest.raises(ConfigError, match="interface"):
        deploy(object(), "IProofBundleVerifier")


def test_decode_error_names_the_rejection() -> None:
    from eth_abi import encode as abi_encode
    from eth_utils import keccak

    from relayer.contracts import decode_error

    data = keccak(text="NotEnoughSignatures(uint256,uint256)")[:4] + abi_encode(["uint256", "uint256"], [1, 2])
    assert decode_error("SolvencyFeed", data) == "NotEnoughSignatures(got=1, threshold=2)"
    assert decode_error("SolvencyFeed", "0x" + data.hex()) == "NotEnoughSignatures(got=1, threshold=2)"
    assert decode_error("SolvencyFeed", "0xdeadbeef") is None  # not one of the feed's errors
    assert decode_error("SolvencyFeed", b"\x01") is None  # too short to carry a selector
    truncated = decode_error("SolvencyFeed", data[:20])
    assert truncated is not None and "undecodable" in truncated
