// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// @notice Test-only contract: emits PulseLedger's events (same signatures) on demand, so the
/// listener runner's guarantees can be tested without the whole ledger's preconditions.
contract EventSource {
    event ConsentRequested(uint256 indexed requestId, address indexed patient, address indexed requester, bytes32 purposeOfUse, uint8 dataClasses, uint40 validFrom, uint40 validUntil, bytes32 consentDocHash);
    event ConsentApproved(uint256 indexed requestId, address indexed patient, address indexed requester);
    event ConsentDenied(uint256 indexed requestId, address indexed patient, address indexed requester);
    event ConsentRevoked(uint256 indexed requestId, address indexed patient, address indexed requester);
    event PurchasePaid(uint256 indexed purchaseId, address indexed patient, address indexed buyer, uint256 requestId, uint8 dataClass, uint256 amount, uint40 deliverBy);
    event DeliveryConfirmed(uint256 indexed purchaseId, address indexed patient, uint256 amount);
    event PurchaseRefunded(uint256 indexed purchaseId, address indexed buyer, uint256 amount);
    event AccessLogged(address indexed accessor, address indexed patient, bytes32 indexed recordId, uint256 purchaseId);
    event PriceSet(address indexed patient, uint8 indexed dataClass, uint256 price);

    uint256 private _nextRequestId = 1;

    function requestConsent(address patient, uint8 dataClasses, uint40 validFrom, uint40 validUntil) external returns (uint256 requestId) {
        requestId = _nextRequestId++;
        emit ConsentRequested(requestId, patient, msg.sender, keccak256("research"), dataClasses, validFrom, validUntil, keccak256(abi.encode(requestId)));
    }

    function approve(uint256 requestId, address requester) external {
        emit ConsentApproved(requestId, msg.sender, requester);
    }

    function deny(uint256 requestId, address requester) external {
        emit ConsentDenied(requestId, msg.sender, requester);
    }

    function revoke(uint256 requestId, address requester) external {
        emit ConsentRevoked(requestId, msg.sender, requester);
    }

    function purchase(uint256 requestId, address patient, uint8 dataClass, uint40 deliverBy) external payable {
        emit PurchasePaid((requestId << 8) | dataClass, patient, msg.sender, requestId, dataClass, msg.value, deliverBy);
    }

    function confirmDelivery(uint256 purchaseId, address patient, uint256 amount) external {
        emit DeliveryConfirmed(purchaseId, patient, amount);
    }

    function logAccess(address patient, bytes32 recordId, uint256 purchaseId) external {
        emit AccessLogged(msg.sender, patient, recordId, purchaseId);
    }

    /// @notice Many accesses in one transaction (benchmarks fill thousands of blocks quickly).
    function logAccesses(address patient, uint256 purchaseId, uint256 count) external {
        for (uint256 i = 0; i < count; ++i) {
            emit AccessLogged(msg.sender, patient, bytes32(i), purchaseId);
        }
    }

    /// @notice An event the relay sends no email for.
    function setPrice(uint8 dataClass, uint256 price) external {
        emit PriceSet(msg.sender, dataClass, price);
    }
}
