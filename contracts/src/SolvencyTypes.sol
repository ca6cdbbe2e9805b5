// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @notice Data types of the solvency attestation (EIP-712 typed data, see SolvencyFeed) and the
/// subscriber callback interface. Field order is part of the EIP-712 type strings: never reorder.

/// One chain's book at one block. Amounts are exact integers in the units of the circuit
/// (e.g. USD with 6 decimals); `root` is the chain's Merkle-sum root; `marketCommitment` commits
/// the marks and risk arrays; `proofDigest` identifies the chain's Groth16 proof.
struct ChainEntry {
    uint64 chainId;
    uint64 blockNumber;
    bytes32 blockHash;
    uint256 assets;
    uint256 liabilities;
    uint256 maintenanceMargin;
    uint256 badDebt;
    uint32 underMargined;
    bytes32 root;
    bytes32 marketCommitment;
    bytes32 proofDigest;
}

/// One round over all chains. Totals must equal the sums over `chains`; `chains` is sorted by
/// strictly increasing chainId (so each chain appears once); `bundleDigest` = keccak256(proof bundle).
struct Attestation {
    uint64 round;
    uint64 timestamp;
    uint32 signerSetVersion;
    uint256 totalAssets;
    uint256 totalLiabilities;
    uint256 totalMaintenanceMargin;
    uint256 totalBadDebt;
    uint32 totalUnderMargined;
    ChainEntry[] chains;
    bytes32 bundleDigest;
}

/// What `SolvencyFeed.latestAttestation()` returns: the accepted round plus what the feed derived.
struct AttestationView {
    uint64 round;
    uint64 timestamp; // the attestation's own timestamp (when the data was read)
    uint64 acceptedAt; // block.timestamp of the block that accepted it
    uint32 signerSetVersion;
    uint256 totalAssets;
    uint256 totalLiabilities;
    uint256 totalMaintenanceMargin;
    uint256 totalBadDebt;
    uint32 totalUnderMargined;
    uint256 ratioE8; // see SolvencyFeed.RATIO_CAP for liabilities == 0
    bool solvent; // totalAssets >= totalLiabilities (exact)
    bytes32 bundleDigest;
    ChainEntry[] chains; // per-chain block references, totals and Merkle-sum roots
}

/// Implemented by contracts that want to hear about every accepted round.
interface ISolvencySubscriber {
    function onSolvencyUpdate(uint64 round, bool solvent, uint256 ratioE8) external;
}
