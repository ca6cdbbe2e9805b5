// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {AggregatorV3Interface} from "./AggregatorV3Interface.sol";
import {IProofBundleVerifier} from "./IProofBundleVerifier.sol";
import {ChainEntry, Attestation, AttestationView, ISolvencySubscriber} from "./SolvencyTypes.sol";

/// @notice The solvency feed of one chain (SPEC §4). `submit` accepts a round only when a quorum
/// of the current signer set signed its EIP-712 digest, it is newer and fresh, its own-chain
/// block hash matches, its totals add up, and the proof bundle verifies against public inputs
/// that this contract derives itself from the signed fields.
///
/// Public inputs (12 per chain, chains in attestation order, BN254 scalar field elements):
///   [0] chainId            [1] blockNumber
///   [2] uint256(blockHash) >> 128            [3] uint256(blockHash) & (2^128 - 1)
///   [4] uint256(marketCommitment)
///   [5] assets  [6] liabilities  [7] maintenanceMargin  [8] badDebt  [9] underMargined
///   [10] uint256(root)     [11] round
/// Every one must be < r (the BN254 group order) or the round is rejected.
///
/// Owner powers: rotate the signer set (bumps the version: signatures of older sets are then
/// rejected), set the verifier ONCE while unset (a verifying key can never be swapped under a
/// running feed: deploy a new feed instead), change maxAge / maxFutureDrift, manage subscribers.
contract SolvencyFeed is AggregatorV3Interface {
    // ---------------------------------------------------------------- constants

    /// BN254 scalar field modulus r (EIP-196/197; alt_bn128 group order).
    uint256 public constant SNARK_SCALAR_FIELD =
        21888242871839275222246405745257275088548364400416034343698204186575808495617;
    /// secp256k1 n / 2: signatures with a larger s are malleable twins and are rejected (EIP-2).
    uint256 private constant HALF_N = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0;
    uint256 public constant INPUTS_PER_CHAIN = 12;
    uint256 public constant MAX_CHAINS = 32;
    uint256 public constant MAX_SIGNERS = 255; // one bit each in a uint256 bitmap
    uint256 public constant MAX_SUBSCRIBERS = 16;
    /// Gas given to each subscriber call; a subscriber that needs more fails (and is reported).
    uint256 public constant SUBSCRIBER_GAS = 100_000;
    /// latestRoundData's answer when totalLiabilities == 0 (nothing owed: fully collateralized,
    /// also when totalAssets == 0), and the ceiling of every ratio. Fits in int256.
    uint256 public constant RATIO_CAP = uint256(type(int256).max);
    uint8 public constant override decimals = 8;
    uint256 public constant override version = 1;

    bytes32 private constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    bytes32 private constant NAME_HASH = keccak256("SolvencyFeed");
    bytes32 private constant VERSION_HASH = keccak256("1");
    bytes32 public constant CHAIN_ENTRY_TYPEHASH = keccak256(
        "ChainEntry(uint64 chainId,uint64 blockNumber,bytes32 blockHash,uint256 assets,uint256 liabilities,"
        "uint256 maintenanceMargin,uint256 badDebt,uint32 underMargined,bytes32 root,bytes32 marketCommitment,"
        "bytes32 proofDigest)"
    );
    /// EIP-712: referenced struct types are appended to the primary type's string.
    bytes32 public constant ATTESTATION_TYPEHASH = keccak256(
        "Attestation(uint64 round,uint64 timestamp,uint32 signerSetVersion,uint256 totalAssets,"
        "uint256 totalLiabilities,uint256 totalMaintenanceMargin,uint256 totalBadDebt,uint32 totalUnderMargined,"
        "ChainEntry[] chains,bytes32 bundleDigest)"
        "ChainEntry(uint64 chainId,uint64 blockNumber,bytes32 blockHash,uint256 assets,uint256 liabilities,"
        "uint256 maintenanceMargin,uint256 badDebt,uint32 underMargined,bytes32 root,bytes32 marketCommitment,"
        "bytes32 proofDigest)"
    );

    // ---------------------------------------------------------------- state

    struct RoundInfo {
        uint64 timestamp;
        uint64 acceptedAt;
        uint256 ratioE8;
    }

    address public owner;
    address public verifier;
    uint64 public maxAge;
    uint64 public maxFutureDrift;
    string private _description;

    uint32 public signerSetVersion;
    uint256 public threshold;
    address[] private _signers;
    /// version => signer => 1-based index in that version's set (0: not a signer)
    mapping(uint32 => mapping(address => uint256)) private _signerIndex;

    uint64 public lastRound;
    mapping(uint64 => RoundInfo) private _rounds;
    /// Full copy of the latest accepted round (older rounds keep only RoundInfo + events).
    AttestationView private _latest;

    address[] private _subscribers;
    mapping(address => bool) public isSubscriber;

    // ---------------------------------------------------------------- events

    event RoundAccepted(
        uint64 indexed round,
        uint64 timestamp,
        uint256 totalAssets,
        uint256 totalLiabilities,
        uint256 ratioE8,
        bool solvent,
        bytes32 digest,
        bytes32 bundleDigest
    );
    event ChainRootPublished(
        uint64 indexed round, uint64 indexed chainId, uint64 blockNumber, bytes32 blockHash, bytes32 root, bytes32 proofDigest
    );
    event SignersRotated(uint32 indexed version, address[] signers, uint256 threshold);
    event VerifierSet(address indexed verifier);
    event MaxAgeSet(uint64 maxAge);
    event MaxFutureDriftSet(uint64 maxFutureDrift);
    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);
    event Subscribed(address indexed subscriber);
    event Unsubscribed(address indexed subscriber);
    event SubscriberFailed(address indexed subscriber, uint64 indexed round);

    // ---------------------------------------------------------------- errors

    error NotOwner(address caller);
    error NotAuthorized(address caller, address subscriber);
    error ZeroAddress();
    error InvalidThreshold(uint256 threshold, uint256 signers);
    error TooManySigners(uint256 count, uint256 max);
    error InvalidSigner(address signer);
    error InvalidMaxAge();
    error VerifierNotSet();
    error VerifierAlreadySet(address verifier);
    error NotAContract(address account);
    error WrongSignerSetVersion(uint32 got, uint32 current);
    error RoundNotIncreasing(uint64 round, uint64 lastRound);
    error TimestampInFuture(uint64 timestamp, uint256 latestAllowed);
    error AttestationTooOld(uint64 timestamp, uint256 oldestAllowed);
    error NoChains();
    error TooManyChains(uint256 count, uint256 max);
    error ChainsNotSorted(uint256 index);
    error OwnChainMissing(uint256 chainId);
    error OwnBlockNotPast(uint64 blockNumber, uint256 currentBlock);
    error BlockHashMismatch(uint64 blockNumber, bytes32 attested, bytes32 actual);
    error TotalsMismatch(uint256 which);
    error TotalsOverflow();
    error BundleDigestMismatch(bytes32 attested, bytes32 actual);
    error PublicInputOutOfField(uint256 index, uint256 value);
    error BadSignatureLength(uint256 index, uint256 length);
    error SignatureMalleable(uint256 index);
    error BadSignatureV(uint256 index, uint8 v);
    error InvalidSignature(uint256 index);
    error UnknownSigner(uint256 index, address signer);
    error DuplicateSigner(uint256 index, address signer);
    error NotEnoughSignatures(uint256 got, uint256 threshold);
    error ProofRejected();
    error VerifierReverted(bytes reason);
    error InsufficientGasForSubscribers(uint256 gasLeft);
    error AlreadySubscribed(address subscriber);
    error NotSubscribed(address subscriber);
    error TooManySubscribers(uint256 max);
    error NoDataPresent(uint80 roundId);

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        _;
    }

    constructor(
        address[] memory signers_,
        uint256 threshold_,
        address verifier_,
        uint64 maxAge_,
        uint64 maxFutureDrift_,
        address owner_
    ) {
        if (owner_ == address(0)) revert ZeroAddress();
        if (maxAge_ == 0) revert InvalidMaxAge();
        owner = owner_;
        maxAge = maxAge_;
        maxFutureDrift = maxFutureDrift_;
        _description = "Venue collateralization ratio (sum assets / sum liabilities), 8 decimals";
        _setSigners(signers_, threshold_);
        // address(0) is allowed here: the feed then rejects every submit until setVerifier
        if (verifier_ != address(0)) _setVerifier(verifier_);
        emit OwnershipTransferred(address(0), owner_);
    }

    // ---------------------------------------------------------------- owner

    function rotateSigners(address[] calldata signers_, uint256 threshold_) external onlyOwner {
        _setSigners(signers_, threshold_);
    }

    /// @notice Set the proof verifier; only while none is set (fail closed, no key swapping).
    function setVerifier(address verifier_) external onlyOwner {
        if (verifier != address(0)) revert VerifierAlreadySet(verifier);
        _setVerifier(verifier_);
    }

    function setMaxAge(uint64 maxAge_) external onlyOwner {
        if (maxAge_ == 0) revert InvalidMaxAge();
        maxAge = maxAge_;
        emit MaxAgeSet(maxAge_);
    }

    function setMaxFutureDrift(uint64 drift) external onlyOwner {
        maxFutureDrift = drift;
        emit MaxFutureDriftSet(drift);
    }

    function transferOwnership(address newOwner) external onlyOwner {
        if (newOwner == address(0)) revert ZeroAddress();
        emit OwnershipTransferred(owner, newOwner);
        owner = newOwner;
    }

    // ---------------------------------------------------------------- subscribers

    /// @notice Register `subscriber` for callbacks. Allowed to the owner (for any contract) or to
    /// the subscriber contract itself (msg.sender == subscriber), so a protocol can integrate
    /// without asking. Must have code. Self-subscription lets anyone take a slot: the cost is
    /// bounded (MAX_SUBSCRIBERS x SUBSCRIBER_GAS per round, paid by the submitter) and the owner
    /// can remove any subscriber with `unsubscribe`.
    function subscribe(address subscriber) external {
        if (msg.sender != owner && msg.sender != subscriber) revert NotAuthorized(msg.sender, subscriber);
        if (subscriber.code.length == 0) revert NotAContract(subscriber);
        if (isSubscriber[subscriber]) revert AlreadySubscribed(subscriber);
        if (_subscribers.length >= MAX_SUBSCRIBERS) revert TooManySubscribers(MAX_SUBSCRIBERS);
        isSubscriber[subscriber] = true;
        _subscribers.push(subscriber);
        emit Subscribed(subscriber);
    }

    /// @notice Remove `subscriber`: by the owner or by the subscriber itself.
    function unsubscribe(address subscriber) external {
        if (msg.sender != owner && msg.sender != subscriber) revert NotAuthorized(msg.sender, subscriber);
        if (!isSubscriber[subscriber]) revert NotSubscribed(subscriber);
        isSubscriber[subscriber] = false;
        uint256 n = _subscribers.length;
        for (uint256 i = 0; i < n; i++) {
            if (_subscribers[i] == subscriber) {
                _subscribers[i] = _subscribers[n - 1];
                _subscribers.pop();
                break;
            }
        }
        emit Unsubscribed(subscriber);
    }

    function subscribers() external view returns (address[] memory) {
        return _subscribers;
    }

    // ---------------------------------------------------------------- submit

    /// @notice Accept round `att` if every check holds (see the contract comment); reverts with
    /// a custom error naming the first failed check otherwise.
    function submit(Attestation calldata att, bytes[] calldata signatures, bytes calldata proofBundle) external {
        address verifier_ = verifier;
        if (verifier_ == address(0)) revert VerifierNotSet();
        if (att.signerSetVersion != signerSetVersion) revert WrongSignerSetVersion(att.signerSetVersion, signerSetVersion);
        if (att.round <= lastRound) revert RoundNotIncreasing(att.round, lastRound);
        _checkTime(att.timestamp);
        _checkChains(att.chains);
        _checkTotals(att);
        bytes32 bundleHash = keccak256(proofBundle);
        if (bundleHash != att.bundleDigest) revert BundleDigestMismatch(att.bundleDigest, bundleHash);
        uint256[] memory inputs = publicInputs(att);
        for (uint256 i = 0; i < inputs.length; i++) {
            if (inputs[i] >= SNARK_SCALAR_FIELD) revert PublicInputOutOfField(i, inputs[i]);
        }
        bytes32 digest = hashAttestation(att);
        _checkSignatures(digest, signatures);
        try IProofBundleVerifier(verifier_).verifyBundle(inputs, att.chains.length, proofBundle) returns (bool ok) {
            if (!ok) revert ProofRejected();
        } catch (bytes memory reason) {
            revert VerifierReverted(reason);
        }
        _accept(att, digest);
    }

    // ---------------------------------------------------------------- EIP-712 and inputs

    function domainSeparator() public view returns (bytes32) {
        // recomputed each call so that a chain fork (new chain id) changes it
        return keccak256(abi.encode(DOMAIN_TYPEHASH, NAME_HASH, VERSION_HASH, block.chainid, address(this)));
    }

    function hashChainEntry(ChainEntry calldata e) public pure returns (bytes32) {
        return keccak256(
            abi.encode(
                CHAIN_ENTRY_TYPEHASH,
                e.chainId,
                e.blockNumber,
                e.blockHash,
                e.assets,
                e.liabilities,
                e.maintenanceMargin,
                e.badDebt,
                e.underMargined,
                e.root,
                e.marketCommitment,
                e.proofDigest
            )
        );
    }

    /// EIP-712 hashStruct(Attestation); an array of structs is encoded as
    /// keccak256 of the concatenated hashStruct of its elements.
    function hashAttestationStruct(Attestation calldata att) public pure returns (bytes32) {
        uint256 n = att.chains.length;
        bytes32[] memory entryHashes = new bytes32[](n);
        for (uint256 i = 0; i < n; i++) {
            entryHashes[i] = hashChainEntry(att.chains[i]);
        }
        bytes memory head = abi.encode(
            ATTESTATION_TYPEHASH,
            att.round,
            att.timestamp,
            att.signerSetVersion,
            att.totalAssets,
            att.totalLiabilities,
            att.totalMaintenanceMargin,
            att.totalBadDebt,
            att.totalUnderMargined
        );
        return keccak256(abi.encodePacked(head, keccak256(abi.encodePacked(entryHashes)), att.bundleDigest));
    }

    /// The EIP-712 digest the signers sign: keccak256(0x1901 || domainSeparator || hashStruct).
    function hashAttestation(Attestation calldata att) public view returns (bytes32) {
        return keccak256(abi.encodePacked(hex"1901", domainSeparator(), hashAttestationStruct(att)));
    }

    /// The Groth16 public inputs derived from the attestation (layout in the contract comment).
    function publicInputs(Attestation calldata att) public pure returns (uint256[] memory inputs) {
        uint256 n = att.chains.length;
        inputs = new uint256[](n * INPUTS_PER_CHAIN);
        for (uint256 i = 0; i < n; i++) {
            ChainEntry calldata e = att.chains[i];
            uint256 o = i * INPUTS_PER_CHAIN;
            inputs[o] = e.chainId;
            inputs[o + 1] = e.blockNumber;
            inputs[o + 2] = uint256(e.blockHash) >> 128;
            inputs[o + 3] = uint256(e.blockHash) & type(uint128).max;
            inputs[o + 4] = uint256(e.marketCommitment);
            inputs[o + 5] = e.assets;
            inputs[o + 6] = e.liabilities;
            inputs[o + 7] = e.maintenanceMargin;
            inputs[o + 8] = e.badDebt;
            inputs[o + 9] = e.underMargined;
            inputs[o + 10] = uint256(e.root);
            inputs[o + 11] = att.round;
        }
    }

    // ---------------------------------------------------------------- views

    function description() external view override returns (string memory) {
        return _description;
    }

    function signers() external view returns (address[] memory) {
        return _signers;
    }

    function isSigner(address account) external view returns (bool) {
        return _signerIndex[signerSetVersion][account] != 0;
    }

    /// @notice The latest accepted round with totals, ratio and per-chain entries (round 0: none).
    function latestAttestation() external view returns (AttestationView memory) {
        return _latest;
    }

    /// @notice True iff a round was accepted, its data (attestation timestamp) is at most
    /// `maxAge_` seconds old, and its total assets cover its total liabilities.
    function isSolvent(uint256 maxAge_) external view returns (bool) {
        if (lastRound == 0) return false;
        uint256 ts = _latest.timestamp;
        // a timestamp slightly ahead of this block (allowed by maxFutureDrift) counts as age 0
        if (block.timestamp > ts && block.timestamp - ts > maxAge_) return false;
        return _latest.solvent;
    }

    /// @notice Chainlink view: roundId = round, answer = ratio (8 decimals), startedAt = the
    /// attestation timestamp, updatedAt = acceptance block time, answeredInRound = round.
    /// Before the first round every field is 0 (consumers must check updatedAt != 0).
    function latestRoundData() external view override returns (uint80, int256, uint256, uint256, uint80) {
        uint64 r = lastRound;
        if (r == 0) return (0, 0, 0, 0, 0);
        RoundInfo storage info = _rounds[r];
        return (r, int256(info.ratioE8), info.timestamp, info.acceptedAt, r);
    }

    /// @notice Chainlink view for an accepted round; reverts with NoDataPresent otherwise.
    function getRoundData(uint80 roundId) external view override returns (uint80, int256, uint256, uint256, uint80) {
        if (roundId > type(uint64).max) revert NoDataPresent(roundId);
        RoundInfo storage info = _rounds[uint64(roundId)];
        if (info.acceptedAt == 0) revert NoDataPresent(roundId);
        return (roundId, int256(info.ratioE8), info.timestamp, info.acceptedAt, roundId);
    }

    // ---------------------------------------------------------------- internals

    function _setSigners(address[] memory signers_, uint256 threshold_) internal {
        uint256 n = signers_.length;
        if (n > MAX_SIGNERS) revert TooManySigners(n, MAX_SIGNERS);
        if (threshold_ == 0 || threshold_ > n) revert InvalidThreshold(threshold_, n);
        uint32 v = signerSetVersion + 1;
        for (uint256 i = 0; i < n; i++) {
            address s = signers_[i];
            if (s == address(0) || _signerIndex[v][s] != 0) revert InvalidSigner(s);
            _signerIndex[v][s] = i + 1;
        }
        signerSetVersion = v;
        threshold = threshold_;
        _signers = signers_;
        emit SignersRotated(v, signers_, threshold_);
    }

    function _setVerifier(address verifier_) internal {
        if (verifier_.code.length == 0) revert NotAContract(verifier_);
        verifier = verifier_;
        emit VerifierSet(verifier_);
    }

    function _checkTime(uint64 ts) internal view {
        uint256 latestAllowed = block.timestamp + maxFutureDrift;
        if (ts > latestAllowed) revert TimestampInFuture(ts, latestAllowed);
        uint256 age = maxAge;
        if (block.timestamp > age && ts < block.timestamp - age) {
            revert AttestationTooOld(ts, block.timestamp - age);
        }
    }

    /// Chains sorted by strictly increasing chainId (no chain twice); this chain's entry present,
    /// its block in the past and, while blockhash() still knows it, with the right hash.
    function _checkChains(ChainEntry[] calldata chains) internal view {
        uint256 n = chains.length;
        if (n == 0) revert NoChains();
        if (n > MAX_CHAINS) revert TooManyChains(n, MAX_CHAINS);
        bool own = false;
        for (uint256 i = 0; i < n; i++) {
            ChainEntry calldata e = chains[i];
            if (i > 0 && e.chainId <= chains[i - 1].chainId) revert ChainsNotSorted(i);
            if (e.chainId == block.chainid) {
                own = true;
                if (e.blockNumber >= block.number) revert OwnBlockNotPast(e.blockNumber, block.number);
                bytes32 actual = blockhash(e.blockNumber);
                // blockhash() is 0 for blocks older than 256: then the signers' word stands
                if (actual != bytes32(0) && actual != e.blockHash) {
                    revert BlockHashMismatch(e.blockNumber, e.blockHash, actual);
                }
            }
        }
        if (!own) revert OwnChainMissing(block.chainid);
    }

    /// Totals equal the sums over entries; the error names the first wrong total
    /// (0 assets, 1 liabilities, 2 maintenance margin, 3 bad debt, 4 under-margined).
    function _checkTotals(Attestation calldata att) internal pure {
        uint256[5] memory sums;
        uint256 n = att.chains.length;
        for (uint256 i = 0; i < n; i++) {
            ChainEntry calldata e = att.chains[i];
            sums[0] = _add(sums[0], e.assets);
            sums[1] = _add(sums[1], e.liabilities);
            sums[2] = _add(sums[2], e.maintenanceMargin);
            sums[3] = _add(sums[3], e.badDebt);
            sums[4] += e.underMargined; // n <= 32 values < 2^32: cannot overflow
        }
        if (sums[0] != att.totalAssets) revert TotalsMismatch(0);
        if (sums[1] != att.totalLiabilities) revert TotalsMismatch(1);
        if (sums[2] != att.totalMaintenanceMargin) revert TotalsMismatch(2);
        if (sums[3] != att.totalBadDebt) revert TotalsMismatch(3);
        if (sums[4] != att.totalUnderMargined) revert TotalsMismatch(4);
    }

    function _add(uint256 a, uint256 b) private pure returns (uint256 c) {
        unchecked {
            c = a + b;
        }
        if (c < a) revert TotalsOverflow();
    }

    /// Each signature: 65 bytes r||s||v, s <= n/2, v in {27, 28}, recovering to a distinct signer
    /// of the current set; at least `threshold` of them. Any bad signature rejects the round.
    function _checkSignatures(bytes32 digest, bytes[] calldata sigs) internal view {
        uint32 v_ = signerSetVersion;
        uint256 seen; // bitmap over signer indices (MAX_SIGNERS = 255)
        uint256 n = sigs.length;
        for (uint256 i = 0; i < n; i++) {
            bytes calldata sig = sigs[i];
            if (sig.length != 65) revert BadSignatureLength(i, sig.length);
            bytes32 r = bytes32(sig[0:32]);
            bytes32 s = bytes32(sig[32:64]);
            uint8 v = uint8(sig[64]);
            if (uint256(s) > HALF_N) revert SignatureMalleable(i);
            if (v != 27 && v != 28) revert BadSignatureV(i, v);
            address signer = ecrecover(digest, v, r, s);
            if (signer == address(0)) revert InvalidSignature(i);
            uint256 idx = _signerIndex[v_][signer];
            if (idx == 0) revert UnknownSigner(i, signer);
            uint256 bit = 1 << (idx - 1);
            if (seen & bit != 0) revert DuplicateSigner(i, signer);
            seen |= bit;
        }
        if (n < threshold) revert NotEnoughSignatures(n, threshold);
    }

    function _accept(Attestation calldata att, bytes32 digest) internal {
        uint64 round = att.round;
        bool solvent = att.totalAssets >= att.totalLiabilities;
        uint256 ratio = _ratioE8(att.totalAssets, att.totalLiabilities);
        lastRound = round;
        _rounds[round] = RoundInfo({timestamp: att.timestamp, acceptedAt: uint64(block.timestamp), ratioE8: ratio});

        AttestationView storage l = _latest;
        l.round = round;
        l.timestamp = att.timestamp;
        l.acceptedAt = uint64(block.timestamp);
        l.signerSetVersion = att.signerSetVersion;
        l.totalAssets = att.totalAssets;
        l.totalLiabilities = att.totalLiabilities;
        l.totalMaintenanceMargin = att.totalMaintenanceMargin;
        l.totalBadDebt = att.totalBadDebt;
        l.totalUnderMargined = att.totalUnderMargined;
        l.ratioE8 = ratio;
        l.solvent = solvent;
        l.bundleDigest = att.bundleDigest;
        uint256 n = att.chains.length;
        while (l.chains.length > n) l.chains.pop();
        for (uint256 i = 0; i < n; i++) {
            ChainEntry calldata e = att.chains[i];
            if (i < l.chains.length) l.chains[i] = e;
            else l.chains.push(e);
            emit ChainRootPublished(round, e.chainId, e.blockNumber, e.blockHash, e.root, e.proofDigest);
        }
        emit RoundAccepted(round, att.timestamp, att.totalAssets, att.totalLiabilities, ratio, solvent, digest, att.bundleDigest);
        _notify(round, solvent, ratio);
    }

    /// Calls every subscriber with SUBSCRIBER_GAS. A low-level call (not try/catch on a typed call,
    /// whose extcodesize check would revert this transaction for a subscriber without code) that
    /// copies no return data (a returndata bomb cannot cost us gas). A failure emits SubscriberFailed.
    function _notify(uint64 round, bool solvent, uint256 ratio) internal {
        // a memory copy: a subscriber that (un)subscribes during its callback must not change the
        // list being walked (an index past a shrunk array would revert the whole update)
        address[] memory subs = _subscribers;
        uint256 n = subs.length;
        bytes memory data = abi.encodeCall(ISolvencySubscriber.onSolvencyUpdate, (round, solvent, ratio));
        for (uint256 i = 0; i < n; i++) {
            address target = subs[i];
            // EIP-150 forwards at most 63/64 of what is left: without this check a submitter could
            // starve subscribers on purpose by sending just enough gas for the rest of submit.
            if (gasleft() < SUBSCRIBER_GAS + SUBSCRIBER_GAS / 63 + 10_000) revert InsufficientGasForSubscribers(gasleft());
            bool ok;
            uint256 gasCap = SUBSCRIBER_GAS;
            assembly {
                ok := call(gasCap, target, 0, add(data, 0x20), mload(data), 0, 0)
            }
            if (!ok) emit SubscriberFailed(target, round);
        }
    }

    /// floor(assets * 1e8 / liabilities) exactly (512-bit intermediate), capped at RATIO_CAP;
    /// RATIO_CAP when liabilities == 0.
    function _ratioE8(uint256 assets_, uint256 liabilities) internal pure returns (uint256) {
        if (liabilities == 0) return RATIO_CAP;
        uint256 q = _mulDiv(assets_, 1e8, liabilities);
        return q > RATIO_CAP ? RATIO_CAP : q;
    }

    /// floor(a * b / d) for d > 0, or type(uint256).max when the quotient does not fit.
    /// The 512-bit product is (hi, lo); the quotient is found by binary long division.
    function _mulDiv(uint256 a, uint256 b, uint256 d) internal pure returns (uint256 q) {
        uint256 lo;
        uint256 hi;
        unchecked {
            lo = a * b;
            uint256 mm = mulmod(a, b, type(uint256).max);
            hi = mm - lo - (mm < lo ? 1 : 0);
        }
        if (hi == 0) return lo / d;
        if (hi >= d) return type(uint256).max;
        uint256 rem = hi; // invariant: rem < d
        unchecked {
            for (uint256 i = 256; i > 0; i--) {
                uint256 carry = rem >> 255;
                rem = (rem << 1) | ((lo >> (i - 1)) & 1);
                q <<= 1;
                // with carry the true remainder is >= 2^256 > d; wrapping subtraction is exact
                if (carry == 1 || rem >= d) {
                    rem -= d;
                    q |= 1;
                }
            }
        }
    }
}
