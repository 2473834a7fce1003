// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// @title The handler's model of what the ledger should hold
/// @notice Ghost variables are written only from what the handler saw succeed, never read back
/// from the ledger, so comparing them with the ledger's views is a real check.
///
/// Money, exactly (every figure in wei, summed over the whole run):
///   ghostPaid      = Σ msg.value of accepted purchases
///   ghostDelivered = Σ amounts credited to patients by confirmDelivery
///   ghostRefunded  = Σ amounts credited to buyers by reclaim
///   ghostHeld      = Σ amounts of purchases still Paid (in escrow)
///   ghostWithdrawn = Σ amounts that left the ledger by withdraw / withdrawTo
///   ghostForced    = Σ ETH pushed in by selfdestruct
/// so that ghostPaid = ghostDelivered + ghostRefunded + ghostHeld        (escrow conservation)
///     ghostDelivered + ghostRefunded = ghostWithdrawn + Σ credits owed   (credit conservation)
/// hence ghostPaid − ghostWithdrawn = Σ credits owed + ghostHeld,
/// and the ledger's balance = ghostPaid − ghostWithdrawn + ghostForced ≥ Σ owed + Σ held.
abstract contract Ghosts {
    // Consent status, purchase status and decisions, as in docs/decisions/2026-11-24-contracts.md.
    uint8 internal constant PENDING = 1;
    uint8 internal constant APPROVED = 2;
    uint8 internal constant DENIED = 3;
    uint8 internal constant REVOKED = 4;
    uint8 internal constant P_NONE = 0;
    uint8 internal constant P_PAID = 1;
    uint8 internal constant P_DELIVERED = 2;
    uint8 internal constant P_REFUNDED = 3;
    uint8 internal constant DECIDE_APPROVE = 1;
    uint8 internal constant DECIDE_DENY = 2;
    uint8 internal constant DECIDE_REVOKE = 3;

    struct GhostRequest {
        address patient;
        uint8 patientIndex;
        address requester;
        uint8 dataClasses;
        uint40 validFrom;
        uint40 validUntil;
        uint8 status;
    }

    struct GhostPurchase {
        uint96 amount;
        uint40 deliverBy;
        uint8 status;
        uint8 settlements;
    }

    struct GhostRecord {
        address patient;
        uint8 dataClass;
        bool active;
        bool exists;
    }

    /// @dev How many times each kind of action went through, printed after each run (-vv).
    struct Stats {
        uint256 requests;
        uint256 decisions;
        uint256 signedDecisions;
        uint256 signatureAttacksRejected;
        uint256 priceChanges;
        uint256 purchases;
        uint256 deliveries;
        uint256 refunds;
        uint256 withdrawals;
        uint256 records;
        uint256 retirements;
        uint256 anchors;
        uint256 squatsRepelled;
        uint256 warps;
        uint256 forced;
        uint256 rejected;
    }

    enum Kind {
        Money,
        Settlement,
        Access,
        Consent
    }

    uint256 public ghostNow;
    bool public ghostPaused;

    uint256 public ghostPaid;
    uint256 public ghostDelivered;
    uint256 public ghostRefunded;
    uint256 public ghostHeld;
    uint256 public ghostWithdrawn;
    uint256 public ghostForced;
    uint256 public ghostAccessLogged;

    mapping(address account => uint256) public ghostCredits;
    mapping(address patient => uint256) public ghostNonces;
    mapping(address patient => mapping(uint8 dataClass => uint256)) public ghostPrices;
    mapping(address patient => mapping(address custodian => bool)) public ghostCustodianFor;

    mapping(uint256 requestId => GhostRequest) internal _requests;
    mapping(uint256 purchaseId => GhostPurchase) internal _purchases;
    mapping(bytes32 recordId => GhostRecord) internal _records;
    mapping(bytes32 recordId => bytes32 salt) public ghostRecordSalt;
    uint256[] public requestIds;
    uint256[] public purchaseIds;
    bytes32[] public recordIds;

    Stats internal stats;

    mapping(Kind => uint256) public violations;
    mapping(Kind => string) public firstViolation;

    /// @dev Recorded, not reverted: a revert inside a handler call is swallowed by forge
    /// (fail_on_revert = false), a counter is read by the invariants after every call.
    function _violate(Kind kind, string memory what) internal {
        if (violations[kind]++ == 0) firstViolation[kind] = what;
    }

    function statsSnapshot() external view returns (Stats memory) {
        return stats;
    }

    function requestCount() external view returns (uint256) {
        return requestIds.length;
    }

    function purchaseCount() external view returns (uint256) {
        return purchaseIds.length;
    }

    /// @dev Whole lists in one call: the invariants run after every call, loops of getters add up.
    function requestIdList() external view returns (uint256[] memory) {
        return requestIds;
    }

    function purchaseIdList() external view returns (uint256[] memory) {
        return purchaseIds;
    }

    function ghostRequest(uint256 requestId) external view returns (GhostRequest memory) {
        return _requests[requestId];
    }

    function recordCount() external view returns (uint256) {
        return recordIds.length;
    }

    function ghostRecordPatient(bytes32 recordId) external view returns (address) {
        return _records[recordId].patient;
    }

    function ghostPurchase(uint256 purchaseId) external view returns (GhostPurchase memory) {
        return _purchases[purchaseId];
    }

    function _statusAfter(uint8 decision) internal pure returns (uint8) {
        if (decision == DECIDE_APPROVE) return APPROVED;
        if (decision == DECIDE_DENY) return DENIED;
        return REVOKED;
    }
}
