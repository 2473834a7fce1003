// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {Request, ConsentStatus, DATA_CLASS_COUNT} from "./interfaces/IConsentRegistry.sol";
import {IPurchaseEscrow, Purchase, PurchaseStatus} from "./interfaces/IPurchaseEscrow.sol";
import {ConsentRegistry} from "./ConsentRegistry.sol";
import {PriceBook} from "./PriceBook.sol";

/// @title Escrowed purchases and pull payments (module of PulseLedger)
/// @dev Money enters only through `purchase` (plus ETH forced in, which nobody is owed) and leaves only
/// through `withdraw`/`withdrawTo`, each paying out a credit zeroed before the transfer. Every Paid purchase
/// moves its amount into exactly one credit, once. Hence balance >= Σ Paid amounts + Σ credits.
/// A purchase is bound by its own request's consent (`_inForce`): bought, delivered and logged only
/// while that request is approved (not revoked) and in its period.
abstract contract PurchaseEscrow is IPurchaseEscrow, ConsentRegistry, PriceBook, ReentrancyGuardTransient {
    mapping(uint256 purchaseId => Purchase) private _purchases;
    mapping(address account => uint256 credit) private _credits;

    /// @inheritdoc IPurchaseEscrow
    function purchase(uint256 requestId, uint8 dataClass, uint256 expectedPrice)
        external
        payable
        whenNotPaused
        returns (uint256 purchaseId)
    {
        // One copy of both slots: every field is read once, not once per check.
        Request memory request = _requestAt(requestId);
        if (request.requester != msg.sender) revert PurchaseEscrowNotBuyer(requestId, msg.sender);
        address patient = request.patient;
        ConsentStatus status = request.status;
        if (status != ConsentStatus.Approved) revert PurchaseEscrowConsentNotApproved(requestId, status);
        if (block.timestamp < request.validFrom || block.timestamp >= request.validUntil) {
            revert PurchaseEscrowOutsideConsentPeriod(requestId, request.validFrom, request.validUntil);
        }
        if (dataClass >= DATA_CLASS_COUNT || (request.dataClasses >> dataClass) & 1 == 0) {
            revert PurchaseEscrowDataClassNotConsented(requestId, dataClass);
        }
        uint256 price = priceOf(patient, dataClass);
        if (price == 0) revert PurchaseEscrowNotForSale(patient, dataClass);
        if (expectedPrice != price) revert PurchaseEscrowWrongPrice(price, expectedPrice);
        if (msg.value != price) revert PurchaseEscrowWrongValue(price, msg.value);

        // The request exists (its requester is the caller), so its id is <= the request count, far below 2^248.
        purchaseId = requestId << 8 | dataClass;
        if (_purchases[purchaseId].status != PurchaseStatus.None) revert PurchaseEscrowAlreadyPurchased(purchaseId);
        uint40 deliverBy = uint40(block.timestamp) + _deliveryWindowSeconds();
        // PriceBook keeps prices whole gwei and at most type(uint48).max gwei: the cast is exact.
        _purchases[purchaseId] = Purchase({
            buyer: msg.sender,
            amountGwei: uint48(price / 1 gwei),
            deliverBy: deliverBy,
            status: PurchaseStatus.Paid
        });
        emit PurchasePaid(purchaseId, patient, msg.sender, requestId, dataClass, price, deliverBy);
    }

    /// @inheritdoc IPurchaseEscrow
    function confirmDelivery(uint256 purchaseId) external {
        if (msg.sender != _gatewayAddress()) revert PurchaseEscrowNotGateway(msg.sender);
        Purchase storage paid = _purchases[purchaseId];
        PurchaseStatus status = paid.status;
        if (status != PurchaseStatus.Paid) revert PurchaseEscrowNotPaid(purchaseId, status);
        uint40 deliverBy = paid.deliverBy;
        if (block.timestamp > deliverBy) revert PurchaseEscrowDeliveryWindowClosed(purchaseId, deliverBy);
        Request storage request = _requestAt(purchaseId >> 8);
        // The gateway serves only under consent in force; it confirms under the same rule.
        if (!_inForce(request)) revert PurchaseEscrowConsentNotInForce(purchaseId);

        paid.status = PurchaseStatus.Delivered;
        address patient = request.patient;
        uint256 amount = uint256(paid.amountGwei) * 1 gwei;
        _credits[patient] += amount;
        emit DeliveryConfirmed(purchaseId, patient, amount);
    }

    /// @inheritdoc IPurchaseEscrow
    function reclaim(uint256 purchaseId) external {
        Purchase storage paid = _purchases[purchaseId];
        if (paid.buyer != msg.sender) revert PurchaseEscrowNotBuyer(purchaseId >> 8, msg.sender);
        PurchaseStatus status = paid.status;
        if (status != PurchaseStatus.Paid) revert PurchaseEscrowNotPaid(purchaseId, status);
        uint40 deliverBy = paid.deliverBy;
        if (block.timestamp <= deliverBy && _inForce(_requestAt(purchaseId >> 8))) {
            revert PurchaseEscrowNotReclaimable(purchaseId, deliverBy);
        }

        paid.status = PurchaseStatus.Refunded;
        uint256 amount = uint256(paid.amountGwei) * 1 gwei;
        _credits[msg.sender] += amount;
        emit PurchaseRefunded(purchaseId, msg.sender, amount);
    }

    /// @inheritdoc IPurchaseEscrow
    function withdraw() external nonReentrant {
        _withdraw(payable(msg.sender));
    }

    /// @inheritdoc IPurchaseEscrow
    function withdrawTo(address payable to) external nonReentrant {
        if (to == address(0)) revert PurchaseEscrowInvalidRecipient(to);
        _withdraw(to);
    }

    /// @inheritdoc IPurchaseEscrow
    function getPurchase(uint256 purchaseId) external view returns (Purchase memory) {
        return _purchases[purchaseId];
    }

    /// @inheritdoc IPurchaseEscrow
    function creditOf(address account) external view returns (uint256) {
        return _credits[account];
    }

    /// @inheritdoc IPurchaseEscrow
    function deliveryWindow() external view returns (uint40) {
        return _deliveryWindowSeconds();
    }

    /// @inheritdoc IPurchaseEscrow
    function gateway() external view returns (address) {
        return _gatewayAddress();
    }

    /// @dev For the access log.
    function _purchaseAt(uint256 purchaseId) internal view returns (Purchase storage) {
        return _purchases[purchaseId];
    }

    /// @dev Checks, effects (credit zeroed, event), then the one interaction.
    function _withdraw(address payable to) private {
        uint256 amount = _credits[msg.sender];
        if (amount == 0) revert PurchaseEscrowNothingToWithdraw(msg.sender);
        _credits[msg.sender] = 0;
        emit Withdrawn(msg.sender, to, amount);
        (bool sent,) = to.call{value: amount}("");
        if (!sent) revert PurchaseEscrowWithdrawFailed(to, amount);
    }
}
