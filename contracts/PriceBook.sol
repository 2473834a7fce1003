// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {DATA_CLASS_COUNT} from "./interfaces/IConsentRegistry.sol";
import {IPriceBook} from "./interfaces/IPriceBook.sol";

/// @title Patients' prices per data class (module of PulseLedger)
/// @dev Buyers name the price they expect when buying, so a price change slipped in before their
/// purchase makes it revert instead of charging the new price.
abstract contract PriceBook is IPriceBook {
    mapping(address patient => mapping(uint8 dataClass => uint256 price)) private _prices;

    /// @inheritdoc IPriceBook
    function setPrice(uint8 dataClass, uint256 price) external {
        if (dataClass >= DATA_CLASS_COUNT) revert PriceBookInvalidDataClass(dataClass);
        if (price > type(uint96).max) revert PriceBookPriceTooHigh(price, type(uint96).max);
        _prices[msg.sender][dataClass] = price;
        emit PriceSet(msg.sender, dataClass, price);
    }

    /// @inheritdoc IPriceBook
    function priceOf(address patient, uint8 dataClass) public view returns (uint256) {
        return _prices[patient][dataClass];
    }
}
