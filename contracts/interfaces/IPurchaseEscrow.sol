// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ConsentStatus} from "./IConsentRegistry.sol";

/// @notice Lifecycle of a purchase. A purchase settles exactly once: Paid -> Delivered or Paid -> Refunded.
enum PurchaseStatus {
    None,
    Paid,
    Delivered,
    Refunded
}

/// @notice One storage slot (160 + 48 + 40 + 8 bits): the buyer is kept beside the amount so the access
/// log need not read the request's second slot. Prices are whole gwei, so the amount fits 48 bits.
struct Purchase {
    address buyer;
    uint48 amountGwei;
    uint40 deliverBy;
    PurchaseStatus status;
}

/// @title Escrowed purchases of a patient's data class, settled by the data gateway, paid out by pull
/// @notice `purchaseId = requestId << 8 | dataClass`. The buyer is the request's requester.
interface IPurchaseEscrow {
    /// @notice Only the request's requester may buy under it or reclaim from it.
    error PurchaseEscrowNotBuyer(uint256 requestId, address caller);
    /// @notice The data class is not in the consent's mask (or not a defined class).
    error PurchaseEscrowDataClassNotConsented(uint256 requestId, uint8 dataClass);
    /// @notice The consent is not Approved (unknown, pending, denied, or revoked itself or with its pair).
    error PurchaseEscrowConsentNotApproved(uint256 requestId, ConsentStatus status);
    /// @notice Now is outside the consent's `[validFrom, validUntil)`.
    error PurchaseEscrowOutsideConsentPeriod(uint256 requestId, uint40 validFrom, uint40 validUntil);
    /// @notice The patient's price for this class is 0.
    error PurchaseEscrowNotForSale(address patient, uint8 dataClass);
    /// @notice The price on the book (`expected`) differs from the buyer's `expectedPrice` (`actual`).
    error PurchaseEscrowWrongPrice(uint256 expected, uint256 actual);
    /// @notice `msg.value` (`actual`) differs from the price (`expected`).
    error PurchaseEscrowWrongValue(uint256 expected, uint256 actual);
    /// @notice This request already bought this data class.
    error PurchaseEscrowAlreadyPurchased(uint256 purchaseId);
    /// @notice The purchase is not Paid (unknown or already settled).
    error PurchaseEscrowNotPaid(uint256 purchaseId, PurchaseStatus status);
    /// @notice Only the data gateway may confirm delivery.
    error PurchaseEscrowNotGateway(address caller);
    /// @notice Delivery is confirmed too late (after `deliverBy`).
    error PurchaseEscrowDeliveryWindowClosed(uint256 purchaseId, uint40 deliverBy);
    /// @notice The purchase's consent is no longer in force (revoked, or its period ended) before
    /// delivery: the gateway may not serve it, so it may not confirm; the buyer may reclaim instead.
    error PurchaseEscrowConsentNotInForce(uint256 purchaseId);
    /// @notice Neither the delivery window has passed nor the consent stopped being in force.
    error PurchaseEscrowNotReclaimable(uint256 purchaseId, uint40 deliverBy);
    /// @notice The caller has no credit.
    error PurchaseEscrowNothingToWithdraw(address account);
    /// @notice `withdrawTo` needs a non-zero recipient.
    error PurchaseEscrowInvalidRecipient(address to);
    /// @notice The recipient refused the ETH; the credit is kept.
    error PurchaseEscrowWithdrawFailed(address to, uint256 amount);

    event PurchasePaid(
        uint256 indexed purchaseId,
        address indexed patient,
        address indexed buyer,
        uint256 requestId,
        uint8 dataClass,
        uint256 amount,
        uint40 deliverBy
    );
    event DeliveryConfirmed(uint256 indexed purchaseId, address indexed patient, uint256 amount);
    event PurchaseRefunded(uint256 indexed purchaseId, address indexed buyer, uint256 amount);
    event Withdrawn(address indexed account, address indexed to, uint256 amount);

    /// @notice Buy access to all of the patient's records of `dataClass` for the consent's period.
    /// Reverts while paused. `msg.value` must equal `expectedPrice`, which must equal `priceOf(patient, dataClass)`.
    /// @return purchaseId `requestId << 8 | dataClass`.
    function purchase(uint256 requestId, uint8 dataClass, uint256 expectedPrice)
        external
        payable
        returns (uint256 purchaseId);

    /// @notice The gateway confirms delivery, until `deliverBy` and while the purchase's own consent is
    /// in force (approved, unrevoked, in its period: what the gateway needs to serve); credits the patient.
    function confirmDelivery(uint256 purchaseId) external;

    /// @notice The buyer takes back an undelivered payment after `deliverBy`, or once the purchase's
    /// consent is no longer in force (revoked, or its period ended); credits the buyer.
    function reclaim(uint256 purchaseId) external;

    /// @notice Pay the caller's whole credit to the caller. Never paused.
    function withdraw() external;

    /// @notice Pay the caller's whole credit to `to` (e.g. when the caller cannot receive ETH). Never paused.
    function withdrawTo(address payable to) external;

    function getPurchase(uint256 purchaseId) external view returns (Purchase memory);

    /// @notice What `account` may withdraw (patients' earnings and buyers' refunds).
    function creditOf(address account) external view returns (uint256);

    /// @notice Seconds the gateway has, from payment, to confirm delivery.
    function deliveryWindow() external view returns (uint40);

    /// @notice The data gateway's address, the only one that confirms delivery.
    function gateway() external view returns (address);
}
