"""The one exception tree of the relayer. The CLI is the only place that maps these to exit codes
(`exit_code` of the class, listed in EXIT_CODES below; a subclass shares its branch's code).

Messages say what went wrong and what to do about it.
"""


class RelayerError(Exception):
    """Root of every error the relayer raises on purpose."""

    exit_code = 1


class ConfigError(RelayerError):
    """A configuration file, environment variable or flag is wrong (names the file and key)."""

    exit_code = 2


class ToolError(RelayerError):
    """An external tool (anvil, solc, snarkjs) is missing or failed; run scripts/bootstrap."""

    exit_code = 3


class ChainError(RelayerError):
    """An RPC endpoint failed, lied, or a chain is not in the expected state."""

    exit_code = 4


class ProverError(RelayerError):
    """Proving failed: unsatisfied circuit, bad key, unusable backend."""

    exit_code = 5


class BackendUnavailable(ProverError):
    """The requested prover backend cannot run on this machine (e.g. `gpu` without CUDA)."""


class UnsatisfiedConstraint(ProverError):
    """A witness does not satisfy a constraint; the message names the first failing one."""


class VerificationError(ProverError):
    """A proof did not verify."""


class FormatError(RelayerError):
    """A file in a binary or JSON format (r1cs, wtns, zkey, keys, proofs) is malformed."""

    exit_code = 6


class AttestationError(RelayerError):
    """Building or signing an attestation failed (unregistered signer, double-sign attempt...)."""

    exit_code = 7


class RelayError(RelayerError):
    """Submitting to a feed failed beyond retry."""

    exit_code = 8


class StorageError(RelayerError):
    """The database is unreachable or inconsistent."""

    exit_code = 9


class HaltError(RelayerError):
    """A broken invariant: stop loudly rather than sign or send something wrong."""

    exit_code = 10


class FileAccessError(RelayerError):
    """A file or folder could not be read or written (missing parent, no permission, disk full): the
    message names the path and the operating system's reason."""

    exit_code = 12

    @classmethod
    def from_os_error(cls, exc: OSError, path: object = None) -> "FileAccessError":
        """`<path>: <reason>` from an OSError; `path` names the file when the error does not (a
        write's ENOSPC carries no file name)."""
        where = exc.filename if exc.filename is not None else path
        if exc.filename2 is not None:
            where = f"{where} -> {exc.filename2}"
        reason = exc.strerror or str(exc)
        return cls(f"{where}: {reason}" if where is not None else reason)


# Every exit code the CLI can give for a RelayerError, with the one class that sets it (subclasses
# inherit it). Branches defined outside this module are named with their module. tests/test_errors.py
# checks that every exception class's code is here and that no two branches share one.
EXIT_CODES: dict[int, tuple[str, str]] = {
    1: ("RelayerError", "any other relayer error"),
    2: ("ConfigError", "configuration file, environment variable or flag"),
    3: ("ToolError", "external tool missing or failed (anvil, solc, snarkjs)"),
    4: ("ChainError", "RPC endpoint or chain state"),
    5: ("ProverError", "proving, circuit or proof verification"),
    6: ("FormatError", "malformed file (r1cs, wtns, zkey, keys, proofs, ledger)"),
    7: ("AttestationError", "building or signing an attestation"),
    8: ("RelayError", "submitting to a feed failed beyond retry"),
    9: ("StorageError", "database unreachable or inconsistent"),
    10: ("HaltError", "broken invariant: stopped rather than sign or send"),
    11: ("relayer.risk.market.RiskModelError", "market inputs, marks or risk arrays out of the proven range"),
    12: ("FileAccessError", "a file or folder could not be read or written (path and the system's reason)"),
}
