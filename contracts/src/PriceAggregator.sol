// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {AggregatorV3Interface} from "./AggregatorV3Interface.sol";

/// @notice A Chainlink-compatible price feed for devnets: the owner pushes answers, every round is
/// kept (round ids 1, 2, ...), and `getRoundData` reverts for a round that was never written.
contract PriceAggregator is AggregatorV3Interface {
    struct Round {
        int256 answer;
        uint64 startedAt;
        uint64 updatedAt;
        uint80 answeredInRound;
    }

    uint256 public constant override version = 1;
    uint8 public immutable override decimals;
    address public immutable owner;
    string private _description;

    uint80 public latestRound;
    mapping(uint80 => Round) private _rounds;

    event AnswerUpdated(int256 indexed current, uint256 indexed roundId, uint256 updatedAt);
    event NewRound(uint256 indexed roundId, address indexed startedBy, uint256 startedAt);

    error NotOwner(address caller);
    error NoDataPresent(uint80 roundId);

    constructor(uint8 decimals_, string memory description_, int256 initialAnswer) {
        decimals = decimals_;
        _description = description_;
        owner = msg.sender;
        _push(initialAnswer);
    }

    function description() external view override returns (string memory) {
        return _description;
    }

    function updateAnswer(int256 answer) external {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        _push(answer);
    }

    function getRoundData(uint80 roundId)
        external
        view
        override
        returns (uint80, int256, uint256, uint256, uint80)
    {
        return _read(roundId);
    }

    function latestRoundData() external view override returns (uint80, int256, uint256, uint256, uint80) {
        return _read(latestRound);
    }

    function _read(uint80 roundId) internal view returns (uint80, int256, uint256, uint256, uint80) {
        Round storage r = _rounds[roundId];
        // updatedAt is never 0 for a written round (block.timestamp > 0), so it marks existence
        if (r.updatedAt == 0) revert NoDataPresent(roundId);
        return (roundId, r.answer, r.startedAt, r.updatedAt, r.answeredInRound);
    }

    function _push(int256 answer) internal {
        uint80 id = latestRound + 1;
        latestRound = id;
        _rounds[id] = Round({
            answer: answer,
            startedAt: uint64(block.timestamp),
            updatedAt: uint64(block.timestamp),
            answeredInRound: id
        });
        emit NewRound(id, msg.sender, block.timestamp);
        emit AnswerUpdated(answer, id, block.timestamp);
    }
}
