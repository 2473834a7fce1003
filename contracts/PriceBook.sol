// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {DATA_CLASS_COUNT} from "./interfaces/IConsentRegistry.sol";
import {IPriceBook} from "./interfaces/IPriceBook.sol";

/// @title Patients' prices per data class (module of PulseLedger)
/// @dev Buyers name the price they expect when buying, so a price change slipped in before their
/// purchase makes it revert instead of charging the new price.
abstract contract PriceBook is IPriceBook {
    /// @dev The escrow keeps amounts as uint48 gwei (to share a slot with the buyer).
    uint256 private constant _MAX_PRICE = uint256(type(uint48).max) * 1 gwei;

    mapping(address patient => mapping(uint8 dataClass => uint256 price)) private _prices;

    /// @inheritdoc IPriceBook
    function setPrice(uint8 dataClass, uint256 price) external {
        if (dataClass >= DATA_CLASS_COUNT) revert PriceBookInvalidDataClass(dataClass);
        if (price > _MAX_PRICE) revert PriceBookPriceTooHigh(price, _MAX_PRICE);
        if (price % 1 gwei != 0) revert PriceBookNotWholeGwei(price);
        _prices[msg.sender][dataClass] = price;
        emit PriceSet(msg.sender, dataClass, price);
    }

    /// @inheritdoc IPriceBook
    function priceOf(address patient, uint8 dataClass) public view returns (uint256) {
        return _prices[patient][dataClass];
    }
}
