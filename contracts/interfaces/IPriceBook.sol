// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title Patients' prices per data class
/// @notice A price of 0 means "not for sale".
interface IPriceBook {
    /// @notice The data class index is not below `DATA_CLASS_COUNT`.
    error PriceBookInvalidDataClass(uint8 dataClass);
    /// @notice The price is above `type(uint48).max` gwei (about 281,475 ETH), the escrow's amount field.
    error PriceBookPriceTooHigh(uint256 price, uint256 max);
    /// @notice Prices are whole gwei (wei amounts that are a multiple of 10^9).
    error PriceBookNotWholeGwei(uint256 price);

    event PriceSet(address indexed patient, uint8 indexed dataClass, uint256 price);

    /// @notice Set the caller's own price (wei, a whole number of gwei) for `dataClass`; 0 withdraws it from sale.
    function setPrice(uint8 dataClass, uint256 price) external;

    /// @notice `patient`'s price (wei) for `dataClass`; 0 if not for sale.
    function priceOf(address patient, uint8 dataClass) external view returns (uint256);
}
