// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {PulseLedger} from "../../contracts/PulseLedger.sol";
import {FuzzSelector, vm} from "./utils/Vm.sol";
import {Console} from "./utils/Console.sol";
import {PulseLedgerHandler} from "./handlers/PulseLedgerHandler.sol";
import {Ghosts} from "./handlers/Ghosts.sol";
import {LedgerViews} from "./handlers/LedgerViews.sol";

/// @title PulseLedger invariants over random call sequences
/// @notice forge calls the handler's actions in random order (runs x depth from foundry.toml) and
/// checks every `invariant_*` after every call. Full run: `forge test --mc PulseLedgerInvariants`
/// (256 x 500 = 128,000 calls); `make test` uses FOUNDRY_PROFILE=ci (32 x 100).
contract PulseLedgerInvariants {
    using LedgerViews for PulseLedger;

    PulseLedgerHandler internal handler;
    PulseLedger internal ledger;

    function setUp() public {
        handler = new PulseLedgerHandler();
        ledger = handler.ledger();
    }

    /// @dev Read by forge's invariant runner (forge-std StdInvariant's convention): only the
    /// handler is called at random, never the ledger directly, so every call is modelled.
    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    function targetSelectors() public view returns (FuzzSelector[] memory selectors) {
        bytes4[] memory actions = new bytes4[](23);
        actions[0] = PulseLedgerHandler.warp.selector;
        actions[1] = PulseLedgerHandler.forceEth.selector;
        actions[2] = PulseLedgerHandler.togglePause.selector;
        actions[3] = PulseLedgerHandler.requestConsent.selector;
        actions[4] = PulseLedgerHandler.decide.selector;
        actions[5] = PulseLedgerHandler.decideAsStranger.selector;
        actions[6] = PulseLedgerHandler.decideBySig.selector;
        actions[7] = PulseLedgerHandler.signatureAttack.selector;
        actions[8] = PulseLedgerHandler.setPrice.selector;
        actions[9] = PulseLedgerHandler.purchase.selector;
        actions[10] = PulseLedgerHandler.confirmDelivery.selector;
        actions[11] = PulseLedgerHandler.reclaim.selector;
        actions[12] = PulseLedgerHandler.withdraw.selector;
        actions[13] = PulseLedgerHandler.authorizeCustodian.selector;
        actions[14] = PulseLedgerHandler.addRecord.selector;
        actions[15] = PulseLedgerHandler.retireRecord.selector;
        actions[16] = PulseLedgerHandler.anchorBatch.selector;
        actions[17] = PulseLedgerHandler.logAccess.selector;
        // The money paths are where most bugs hide: give them a second ticket in the draw.
        actions[18] = PulseLedgerHandler.purchase.selector;
        actions[19] = PulseLedgerHandler.logAccess.selector;
        actions[20] = PulseLedgerHandler.warpToEdge.selector;
        actions[21] = PulseLedgerHandler.revokePurchased.selector;
        actions[22] = PulseLedgerHandler.copyRegistration.selector;
        selectors = new FuzzSelector[](1);
        selectors[0] = FuzzSelector(address(handler), actions);
    }

    /// @notice Solvency, from the ledger's own views only: its balance covers every credit owed
    /// and every purchase still held in escrow (≥, never ==: ETH can be forced in).
    function invariant_solvency() public view {
        uint256 owed = _sumCredits();
        uint256 held;
        uint256[] memory purchaseIds = handler.purchaseIdList();
        for (uint256 i; i < purchaseIds.length; ++i) {
            (uint8 status, uint256 amount) = ledger.purchaseStatusAndAmount(purchaseIds[i]);
            if (status == 1) held += amount;
        }
        require(address(ledger).balance >= owed + held, "insolvent: balance < credits owed + escrow held");
    }

    /// @notice Conservation, exactly, with the ghost sums defined in Ghosts.sol:
    /// Σ paid − Σ withdrawn = Σ credits owed + Σ held; Σ paid = Σ delivered + Σ refunded + Σ held;
    /// each account's credit = what it was credited − what it withdrew; and the balance is
    /// exactly Σ paid − Σ withdrawn + Σ forced (nothing else moves ETH in or out).
    function invariant_conservation() public view {
        uint256 paid = handler.ghostPaid();
        uint256 withdrawn = handler.ghostWithdrawn();
        uint256 held = handler.ghostHeld();
        require(paid - withdrawn == _sumCredits() + held, "paid - withdrawn != owed + held");
        require(paid == handler.ghostDelivered() + handler.ghostRefunded() + held, "paid != delivered + refunded + held");
        require(address(ledger).balance == paid - withdrawn + handler.ghostForced(), "balance != paid - withdrawn + forced");
        address[6] memory accounts = handler.creditors();
        for (uint256 i; i < 6; ++i) {
            require(ledger.creditOf(accounts[i]) == handler.ghostCredits(accounts[i]), "an account's credit drifted");
        }
        _requireNone(Ghosts.Kind.Money);
    }

    /// @notice A purchase settles at most once: delivered or refunded, never both, never twice,
    /// and its on-chain status and amount are what the handler saw happen.
    function invariant_purchaseSettlesAtMostOnce() public view {
        uint256[] memory purchaseIds = handler.purchaseIdList();
        for (uint256 i; i < purchaseIds.length; ++i) {
            Ghosts.GhostPurchase memory p = handler.ghostPurchase(purchaseIds[i]);
            (uint8 status, uint256 amount) = ledger.purchaseStatusAndAmount(purchaseIds[i]);
            require(p.settlements <= 1, "a purchase settled more than once");
            require(status == p.status, "purchase status drifted");
            require(amount == p.amount, "purchase amount drifted");
        }
        _requireNone(Ghosts.Kind.Settlement);
    }

    /// @notice Every logged access was, at that moment, by the buyer of a Paid or Delivered
    /// purchase under approved, unrevoked consent inside its period, to an active record of the
    /// same patient and class (checked in the handler at the moment of the call); and the consent
    /// sentence holds both ways: isAllowed(patient, requester, class) ⇔ an approved, unrevoked
    /// request of that pair covers the class and now lies in its period.
    function invariant_accessImpliesPaidAndConsented() public {
        _requireNone(Ghosts.Kind.Access);
        vm.warp(handler.ghostNow()); // judge isAllowed at the handler's clock, whatever forge kept
        address[3] memory patients = handler.patientList();
        address[3] memory requesters = handler.requesterList();
        Ghosts.GhostRequest[] memory requests = _ghostRequests();
        for (uint256 p; p < 3; ++p) {
            for (uint256 q; q < 3; ++q) {
                for (uint8 c; c < 3; ++c) {
                    bool live = _hasLiveConsent(requests, patients[p], requesters[q], c);
                    require(ledger.isAllowed(patients[p], requesters[q], c) == live, "isAllowed differs from the consent sentence");
                }
            }
        }
    }

    /// @notice Only the patient changes their consent and their prices: every request's status is
    /// the one the patient's own last accepted decision (direct or signed) gave it, every nonce
    /// moved only with an accepted signature, every price is the patient's last setPrice.
    function invariant_onlyPatientChangesConsentAndPrices() public view {
        _requireNone(Ghosts.Kind.Consent);
        uint256[] memory requestIds = handler.requestIdList();
        for (uint256 i; i < requestIds.length; ++i) {
            uint256 requestId = requestIds[i];
            require(
                ledger.requestStatus(requestId) == handler.ghostRequest(requestId).status,
                "consent status changed without the patient"
            );
        }
        address[3] memory patients = handler.patientList();
        for (uint256 p; p < 3; ++p) {
            require(ledger.nonces(patients[p]) == handler.ghostNonces(patients[p]), "nonce drifted");
            for (uint8 c; c < 3; ++c) {
                require(ledger.priceOf(patients[p], c) == handler.ghostPrices(patients[p], c), "price changed without the patient");
            }
        }
    }

    /// @notice Ownership by construction: every registered record's id is keccak256(patient, salt) of
    /// the patient it names, and the ledger names the patient the handler registered it for.
    function invariant_recordIdsNameTheirPatient() public view {
        _requireNone(Ghosts.Kind.Access);
        uint256 n = handler.recordCount();
        for (uint256 i; i < n; ++i) {
            bytes32 recordId = handler.recordIds(i);
            address patient = ledger.getRecord(recordId).patient;
            require(patient == handler.ghostRecordPatient(recordId), "a record names someone else");
            require(ledger.recordIdOf(patient, handler.ghostRecordSalt(recordId)) == recordId, "a record id not bound to its patient");
        }
    }

    /// @dev Runs once at the end of each run: shows (under -vv) that the sequences did real work.
    function afterInvariant() public view {
        Ghosts.Stats memory stats = handler.statsSnapshot();
        Console.log("requests", stats.requests);
        Console.log("decisions", stats.decisions);
        Console.log("signedDecisions", stats.signedDecisions);
        Console.log("signatureAttacksRejected", stats.signatureAttacksRejected);
        Console.log("priceChanges", stats.priceChanges);
        Console.log("purchases", stats.purchases);
        Console.log("deliveries", stats.deliveries);
        Console.log("refunds", stats.refunds);
        Console.log("withdrawals", stats.withdrawals);
        Console.log("records", stats.records);
        Console.log("retirements", stats.retirements);
        Console.log("anchors", stats.anchors);
        Console.log("squatsRepelled", stats.squatsRepelled);
        Console.log("warps", stats.warps);
        Console.log("forcedEth", stats.forced);
        Console.log("accessLogged", handler.ghostAccessLogged());
        Console.log("rejected", stats.rejected);
    }

    function _sumCredits() internal view returns (uint256 owed) {
        address[6] memory accounts = handler.creditors();
        for (uint256 i; i < 6; ++i) {
            owed += ledger.creditOf(accounts[i]);
        }
        owed += ledger.creditOf(handler.payee()) + ledger.creditOf(handler.outsider()) + ledger.creditOf(handler.gateway());
    }

    function _ghostRequests() internal view returns (Ghosts.GhostRequest[] memory requests) {
        uint256[] memory requestIds = handler.requestIdList();
        requests = new Ghosts.GhostRequest[](requestIds.length);
        for (uint256 i; i < requestIds.length; ++i) {
            requests[i] = handler.ghostRequest(requestIds[i]);
        }
    }

    function _hasLiveConsent(Ghosts.GhostRequest[] memory requests, address patient, address requester, uint8 dataClass)
        internal
        view
        returns (bool)
    {
        uint256 now_ = block.timestamp;
        for (uint256 i; i < requests.length; ++i) {
            Ghosts.GhostRequest memory r = requests[i];
            if (
                r.patient == patient && r.requester == requester && r.status == 2 && (r.dataClasses >> dataClass) & 1 == 1
                    && now_ >= r.validFrom && now_ < r.validUntil
            ) return true;
        }
        return false;
    }

    function _requireNone(Ghosts.Kind kind) internal view {
        if (handler.violations(kind) != 0) revert(handler.firstViolation(kind));
    }
}
