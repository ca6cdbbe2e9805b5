// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @notice The Chainlink price-feed read interface (AggregatorV3Interface), restated here so the
/// repository needs no external library. Function signatures follow Chainlink's published ABI.
interface AggregatorV3Interface {
    function decimals() external view returns (uint8);

    function description() external view returns (string memory);

    function version() external view returns (uint256);

    /// @dev Reverts for a round that does not exist.
    function getRoundData(uint80 roundId)
        external
        view
        returns (uint80 roundId_, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound);

    function latestRoundData()
        external
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound);
}
