// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {PulseLedger} from "../../../contracts/PulseLedger.sol";
import {vm} from "../utils/Vm.sol";
import {ForceSend} from "../utils/ForceSend.sol";
import {LedgerViews} from "./LedgerViews.sol";
import {Ghosts} from "./Ghosts.sol";

/// @title Random but meaningful call sequences against one PulseLedger
/// @notice forge calls these actions in random order with random arguments. Each action picks real
/// actors (three patients with signing keys, three requesters, the gateway, two custodians, an
/// outsider) and existing requests, purchases and records from the ghost model, so that most calls
/// get past the first check. Every call is wrapped in try/catch: a revert is an answer, never a
/// failure of the run. What must never happen is recorded in `Ghosts` as a violation, and
/// `PulseLedgerInvariants` fails on any of them.
contract PulseLedgerHandler is Ghosts {
    using LedgerViews for PulseLedger;

    // Short, so that deliveries, refunds after the window and expiries all happen within one run.
    uint40 public constant DELIVERY_WINDOW = 3 hours;
    uint256 internal constant MAX_REQUESTS = 40; // bounds the invariants' loops, not the variety
    uint256 internal constant MAX_RECORDS = 30;
    uint256 internal constant MAX_PRICE = 5 ether;
    bytes32 internal constant PURPOSE_TREAT = bytes32("TREAT"); // HL7 v3 PurposeOfUse
    bytes32 internal constant LOCATION = keccak256("ipfs://bafkreirecord");
    bytes32 internal constant DAG_ROOT = keccak256("dag-root");
    bytes32 internal constant DECISION_TYPEHASH =
        keccak256("ConsentDecision(uint256 requestId,uint8 decision,uint256 nonce,uint256 deadline)");
    bytes32 internal constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    uint256 internal constant SECP256K1_N =
        0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;

    PulseLedger public immutable ledger;
    address public immutable gateway;
    address public immutable outsider;
    address public immutable payee; // an EOA that only ever receives withdrawTo payments

    uint256[3] internal _patientKeys;
    address[3] public patients;
    address[3] public requesters;
    address[2] public custodians;

    /// @dev The last signature the ledger accepted, replayed by `signatureAttack`.
    struct UsedSignature {
        uint256 requestId;
        uint8 decision;
        uint256 deadline;
        bytes signature;
    }

    UsedSignature internal _lastUsedSignature;
    uint256 internal _recordNonce;

    constructor() {
        ghostNow = 1_800_000_000;
        vm.warp(ghostNow);
        gateway = _actor("gateway", 0x6A7E);
        outsider = _actor("outsider", 0x0BAD);
        payee = _actor("payee", 0xFEE);
        for (uint256 i; i < 3; ++i) {
            _patientKeys[i] = 0xA11CE + i;
            patients[i] = vm.addr(_patientKeys[i]);
            vm.label(patients[i], string.concat("patient", _digit(i)));
            requesters[i] = _actor(string.concat("requester", _digit(i)), 0xD0C + i);
        }
        custodians[0] = _actor("custodian0", 0xC057);
        custodians[1] = _actor("custodian1", 0xC058);
        // The handler deploys, so the handler owns: pause and custodian registration go through it.
        ledger = new PulseLedger(gateway, DELIVERY_WINDOW);
        ledger.setCustodian(custodians[0], true);
        ledger.setCustodian(custodians[1], true);
        vm.label(address(ledger), "ledger");
        // Every class on sale from the start, so that purchases need no lucky setPrice first.
        for (uint256 i; i < 3; ++i) {
            for (uint8 c; c < 3; ++c) {
                vm.prank(patients[i]);
                ledger.setPrice(c, (i + 1) * 0.01 ether + c * 1 gwei);
                ghostPrices[patients[i]][c] = (i + 1) * 0.01 ether + c * 1 gwei;
            }
        }
        _seedConsentsAndRecords();
    }

    /// @dev A starting world in which money can move from the first call: every patient-requester
    /// pair has a week-long request for all classes (two in three approved), every patient a
    /// record of every class. All through the ledger's public functions, and all in the ghosts.
    function _seedConsentsAndRecords() internal {
        for (uint256 i; i < 3; ++i) {
            for (uint256 j; j < 3; ++j) {
                GhostRequest memory r = GhostRequest(
                    patients[i], uint8(i), requesters[j], 7, uint40(ghostNow - 1 hours), uint40(ghostNow + 7 days), PENDING
                );
                vm.prank(r.requester);
                uint256 requestId = ledger.requestConsent(
                    r.patient, PURPOSE_TREAT, r.dataClasses, r.validFrom, r.validUntil, keccak256(abi.encode("seed", i, j))
                );
                if ((i + j) % 3 != 2) {
                    vm.prank(r.patient);
                    ledger.approve(requestId);
                    r.status = APPROVED;
                }
                _requests[requestId] = r;
                requestIds.push(requestId);
            }
            for (uint8 c; c < 3; ++c) {
                bytes32 salt = keccak256(abi.encode("record", ++_recordNonce));
                vm.prank(patients[i]);
                bytes32 recordId = ledger.addRecord(patients[i], salt, c, keccak256(abi.encode(salt)), LOCATION, DAG_ROOT);
                _noteRecord(recordId, salt, patients[i], c);
            }
        }
    }

    // ------------------------------------------------------------------ time and money from outside

    /// @notice Moves the clock forward: mostly minutes to hours, one time in eight up to two
    /// days, across validity periods and delivery windows.
    function warp(uint256 secondsSeed) external {
        ghostNow += 1 + (secondsSeed % 8 == 0 ? secondsSeed % 2 days : secondsSeed % 6 hours);
        vm.warp(ghostNow);
        vm.roll(block.number + 1);
        ++stats.warps;
    }

    /// @notice Jumps to within a minute of an edge (a purchase's deliverBy, a consent's validFrom
    /// or validUntil), where off-by-one bugs live; only forward, the clock never goes back.
    function warpToEdge(uint256 targetSeed, uint256 offsetSeed) external {
        uint256 edge;
        uint256 pick = targetSeed % 3;
        if (pick == 0 && purchaseIds.length > 0) {
            edge = _purchases[purchaseIds[(targetSeed >> 8) % purchaseIds.length]].deliverBy;
        } else {
            GhostRequest storage r = _requests[requestIds[(targetSeed >> 8) % requestIds.length]];
            edge = pick == 1 ? r.validFrom : r.validUntil;
        }
        uint256 target = edge + (offsetSeed % 121) - 60; // edge - 60 s .. edge + 60 s; edges are far above 60
        if (target > ghostNow) {
            ghostNow = target;
            ++stats.warps;
        }
        vm.warp(ghostNow);
        vm.roll(block.number + 1);
    }

    /// @notice Forces ETH into the ledger without calling it (selfdestruct), as anyone can.
    function forceEth(uint256 amountSeed) external {
        _sync();
        uint256 amount = 1 + (amountSeed % 1 ether);
        vm.deal(address(this), amount);
        new ForceSend{value: amount}(payable(address(ledger)));
        ghostForced += amount;
        ++stats.forced;
    }

    /// @notice The owner's emergency brake: pauses one time in eight and stays paused for a
    /// toggle or two (about a sixth of the calls run paused), so that withdrawals, deliveries
    /// and refunds meet a paused ledger.
    function togglePause(uint256 seed) external {
        _sync();
        if (ghostPaused) {
            if (seed % 3 == 0) return;
            ledger.unpause();
            ghostPaused = false;
        } else if (seed % 8 == 0) {
            ledger.pause();
            ghostPaused = true;
        }
    }

    // ------------------------------------------------------------------ consent

    function requestConsent(uint256 patientSeed, uint256 requesterSeed, uint256 classSeed, uint256 startSeed, uint256 lengthSeed)
        external
    {
        _sync();
        if (requestIds.length >= MAX_REQUESTS) return;
        uint8 patientIndex = uint8(patientSeed % 3);
        GhostRequest memory r;
        r.patient = patients[patientIndex];
        r.patientIndex = patientIndex;
        r.requester = requesters[requesterSeed % 3];
        r.dataClasses = uint8(1 + (classSeed % 7));
        // Periods that started up to an hour ago or start within two hours, lasting two hours to
        // ten days: most are live when bought, and the warps carry many past their end.
        r.validFrom = uint40(ghostNow - 1 hours + (startSeed % 3 hours));
        r.validUntil = r.validFrom + uint40(2 hours + (lengthSeed % 10 days));
        r.status = PENDING;

        vm.prank(r.requester);
        try ledger.requestConsent(
            r.patient, PURPOSE_TREAT, r.dataClasses, r.validFrom, r.validUntil, keccak256(abi.encode("consent-doc", requestIds.length))
        ) returns (uint256 requestId) {
            if (ghostPaused) _violate(Kind.Consent, "request opened while paused");
            if (_requests[requestId].patient != address(0)) _violate(Kind.Consent, "request id reused");
            _requests[requestId] = r;
            requestIds.push(requestId);
            _expectRequestStatus(requestId);
            ++stats.requests;
        } catch {
            ++stats.rejected;
        }
    }

    /// @notice The patient approves, denies or revokes directly.
    function decide(uint256 requestSeed, uint256 decisionSeed) external {
        _sync();
        if (requestIds.length == 0) return;
        uint8 decision = _likelyDecision(decisionSeed);
        uint256 requestId = _pickRequest(requestSeed, decision == DECIDE_REVOKE ? APPROVED : PENDING);
        if (_tryDecide(_requests[requestId].patient, requestId, decision)) {
            if (decision == DECIDE_APPROVE) _checkLawfulApproval(requestId);
            _requests[requestId].status = _statusAfter(decision);
            ++stats.decisions;
        } else {
            ++stats.rejected;
        }
        _expectRequestStatus(requestId);
    }

    /// @notice The patient revokes the consent behind a purchase still in escrow: the case where
    /// the buyer may reclaim at once and the gateway may no longer confirm.
    function revokePurchased(uint256 purchaseSeed) external {
        _sync();
        if (purchaseIds.length == 0) return;
        uint256 requestId = _pickPurchase(purchaseSeed, true) >> 8;
        if (_tryDecide(_requests[requestId].patient, requestId, DECIDE_REVOKE)) {
            _requests[requestId].status = REVOKED;
            ++stats.decisions;
        } else {
            ++stats.rejected;
        }
        _expectRequestStatus(requestId);
    }

    /// @notice Anyone but the patient tries to approve, deny or revoke: it must never take effect.
    function decideAsStranger(uint256 requestSeed, uint256 decisionSeed, uint256 actorSeed) external {
        _sync();
        if (requestIds.length == 0) return;
        uint256 requestId = requestIds[requestSeed % requestIds.length];
        address stranger = _anyActor(actorSeed);
        if (stranger == _requests[requestId].patient) stranger = outsider;
        if (_tryDecide(stranger, requestId, uint8(1 + (decisionSeed % 3)))) {
            _violate(Kind.Consent, "a non-patient changed a consent");
        }
        _expectRequestStatus(requestId);
    }

    /// @notice The patient decides by an EIP-712 signature (made with the patient's key) that
    /// another actor relays.
    function decideBySig(uint256 requestSeed, uint256 decisionSeed, uint256 relayerSeed, uint256 deadlineSeed) external {
        _sync();
        if (requestIds.length == 0) return;
        uint8 decision = _likelyDecision(decisionSeed);
        uint256 requestId = _pickRequest(requestSeed, decision == DECIDE_REVOKE ? APPROVED : PENDING);
        GhostRequest storage r = _requests[requestId];
        uint256 deadline = ghostNow + (deadlineSeed % 1 days);
        bytes memory signature = _sign(
            _patientKeys[r.patientIndex],
            _digest(requestId, decision, ghostNonces[r.patient], deadline, block.chainid, address(ledger))
        );

        vm.prank(_anyActor(relayerSeed));
        try ledger.decideBySig(requestId, decision, deadline, signature) {
            ++ghostNonces[r.patient];
            if (decision == DECIDE_APPROVE) _checkLawfulApproval(requestId);
            r.status = _statusAfter(decision);
            _lastUsedSignature = UsedSignature(requestId, decision, deadline, signature);
            ++stats.signedDecisions;
        } catch {
            ++stats.rejected;
        }
        _expectRequestStatus(requestId);
        _expectNonce(r.patient);
    }

    /// @notice Every signature the patient did not make for this ledger, this chain and this nonce,
    /// or made too long ago, must revert: replayed, wrong signer, expired, malleated (high s),
    /// cross-chain, cross-contract, future nonce.
    function signatureAttack(uint256 requestSeed, uint256 decisionSeed, uint256 kindSeed, uint256 relayerSeed) external {
        _sync();
        if (requestIds.length == 0) return;
        uint256 requestId = requestIds[requestSeed % requestIds.length];
        GhostRequest storage r = _requests[requestId];
        uint8 decision = uint8(1 + (decisionSeed % 3));
        uint256 deadline = ghostNow + 1 hours;
        uint256 nonce = ghostNonces[r.patient];
        uint256 key = _patientKeys[r.patientIndex];
        uint256 chainId = block.chainid;
        address verifyingContract = address(ledger);
        uint256 kind = kindSeed % 7;
        bytes memory signature;

        if (kind == 0) {
            if (_lastUsedSignature.signature.length == 0) return;
            requestId = _lastUsedSignature.requestId;
            decision = _lastUsedSignature.decision;
            deadline = _lastUsedSignature.deadline;
            signature = _lastUsedSignature.signature;
        } else {
            if (kind == 1) key = _patientKeys[(r.patientIndex + 1) % 3];
            if (kind == 2) deadline = ghostNow - 1 - (relayerSeed % 1 days);
            if (kind == 4) chainId = chainId + 1 + (kindSeed % 1000);
            if (kind == 5) verifyingContract = address(this);
            if (kind == 6) nonce = nonce + 1 + (kindSeed % 3);
            signature = _sign(key, _digest(requestId, decision, nonce, deadline, chainId, verifyingContract));
            if (kind == 3) signature = _malleate(signature);
        }

        vm.prank(_anyActor(relayerSeed));
        try ledger.decideBySig(requestId, decision, deadline, signature) {
            _violate(Kind.Consent, "a forged, replayed or expired signature was accepted");
        } catch {
            ++stats.signatureAttacksRejected;
        }
        _expectRequestStatus(requestId);
        _expectNonce(_requests[requestId].patient);
    }

    // ------------------------------------------------------------------ pricing and purchases

    function setPrice(uint256 patientSeed, uint256 classSeed, uint256 priceSeed) external {
        _sync();
        address patient = patients[patientSeed % 3];
        uint8 dataClass = uint8(classSeed % 3);
        // Whole gwei, except one time in eight: those must revert (the escrow keeps gwei).
        uint256 price = priceSeed % 16 == 0 ? 0 : (1 + (priceSeed % (MAX_PRICE / 1 gwei))) * 1 gwei;
        if (priceSeed % 8 == 1) price += 1 + (priceSeed >> 8) % (1 gwei - 1);
        vm.prank(patient);
        try ledger.setPrice(dataClass, price) {
            if (price % 1 gwei != 0) _violate(Kind.Money, "a price that is not whole gwei was accepted");
            ghostPrices[patient][dataClass] = price;
            ++stats.priceChanges;
        } catch {
            ++stats.rejected;
        }
        if (ledger.priceOf(patient, dataClass) != ghostPrices[patient][dataClass]) {
            _violate(Kind.Consent, "price differs from the patient's last setPrice");
        }
    }

    /// @notice Mostly the requester buying at the current price; sometimes at a stale price, or a
    /// stranger buying someone else's consent: both must revert.
    function purchase(uint256 requestSeed, uint256 classSeed, uint256 modeSeed) external {
        _sync();
        if (requestIds.length == 0) return;
        // Mostly a live consent with a class not bought yet; one time in four anything at all
        // (unapproved, expired, outside the consent, bought already): those must revert.
        (uint256 requestId, uint8 dataClass) = classSeed % 4 == 0
            ? (requestIds[requestSeed % requestIds.length], uint8(classSeed % 3))
            : _pickPurchasable(requestSeed, classSeed);
        GhostRequest storage r = _requests[requestId];
        uint256 price = ghostPrices[r.patient][dataClass];
        uint256 mode = modeSeed % 8;
        uint256 expected = mode == 0 ? price + 1 + (modeSeed % 1 gwei) : price; // 0: stale price
        address buyer = mode == 1 ? _anyActor(modeSeed >> 8) : r.requester; // 1: maybe a stranger
        uint256 purchaseId = (requestId << 8) | dataClass;
        vm.deal(buyer, buyer.balance + expected);

        vm.prank(buyer);
        try ledger.purchase{value: expected}(requestId, dataClass, expected) returns (uint256 returnedId) {
            _checkLawfulPurchase(r, buyer, dataClass, expected, price, purchaseId, returnedId);
            _recordPurchase(purchaseId, expected);
            ++stats.purchases;
        } catch {
            ++stats.rejected;
        }
    }

    /// @notice The gateway (sometimes a stranger) confirms delivery: credits the patient once.
    function confirmDelivery(uint256 purchaseSeed, uint256 callerSeed) external {
        _sync();
        if (purchaseIds.length == 0) return;
        uint256 purchaseId = _pickPurchase(purchaseSeed, callerSeed % 4 != 0);
        GhostPurchase storage p = _purchases[purchaseId];
        GhostRequest storage r = _requests[purchaseId >> 8];
        address caller = callerSeed % 8 == 0 ? _anyActor(callerSeed >> 8) : gateway;

        vm.prank(caller);
        try ledger.confirmDelivery(purchaseId) {
            if (caller != gateway) _violate(Kind.Settlement, "delivery confirmed by someone other than the gateway");
            if (ghostNow > p.deliverBy) _violate(Kind.Settlement, "delivery confirmed after the delivery window");
            if (r.status == REVOKED || r.status == DENIED) _violate(Kind.Settlement, "delivery confirmed after revocation");
            if (ghostNow < r.validFrom || ghostNow >= r.validUntil) {
                _violate(Kind.Settlement, "delivery confirmed outside the consent period");
            }
            _settle(p, P_DELIVERED, r.patient);
            ghostDelivered += p.amount;
            ++stats.deliveries;
        } catch {
            ++stats.rejected;
        }
        _expectPurchaseStatus(purchaseId);
    }

    /// @notice The buyer (sometimes a stranger) takes the money back: after the window or a revocation.
    function reclaim(uint256 purchaseSeed, uint256 callerSeed) external {
        _sync();
        if (purchaseIds.length == 0) return;
        uint256 purchaseId = _pickPurchase(purchaseSeed, callerSeed % 4 != 0);
        GhostPurchase storage p = _purchases[purchaseId];
        GhostRequest storage r = _requests[purchaseId >> 8];
        address caller = callerSeed % 8 == 0 ? _anyActor(callerSeed >> 8) : r.requester;

        vm.prank(caller);
        try ledger.reclaim(purchaseId) {
            if (caller != r.requester) _violate(Kind.Settlement, "refund claimed by someone other than the buyer");
            bool inForce = r.status == APPROVED && ghostNow >= r.validFrom && ghostNow < r.validUntil;
            if (ghostNow < p.deliverBy && inForce) {
                _violate(Kind.Settlement, "refund inside the delivery window while the consent is in force");
            }
            _settle(p, P_REFUNDED, r.requester);
            ghostRefunded += p.amount;
            ++stats.refunds;
        } catch {
            ++stats.rejected;
        }
        _expectPurchaseStatus(purchaseId);
    }

    /// @notice Patients and refunded buyers pull their credit, to themselves or to the payee;
    /// paused or not, a withdrawal of a positive credit to an EOA must go through.
    function withdraw(uint256 actorSeed, uint256 modeSeed) external {
        _sync();
        address account = _creditor(actorSeed);
        // Mostly someone who is owed something (if anyone is), else anyone.
        for (uint256 i; i < 6 && actorSeed % 4 != 0 && ghostCredits[account] == 0; ++i) {
            account = _creditor(actorSeed % 6 + i + 1);
        }
        bool toPayee = modeSeed % 2 == 0;
        address recipient = toPayee ? payee : account;
        uint256 credit = ledger.creditOf(account);
        uint256 balanceBefore = recipient.balance;

        vm.prank(account);
        bool ok;
        if (toPayee) {
            try ledger.withdrawTo(payable(payee)) { ok = true; } catch {}
        } else {
            try ledger.withdraw() { ok = true; } catch {}
        }

        if (ok) {
            if (recipient.balance - balanceBefore != credit) _violate(Kind.Money, "withdraw paid other than the credit");
            if (ledger.creditOf(account) != 0) _violate(Kind.Money, "credit left after withdraw");
            ghostWithdrawn += credit;
            ghostCredits[account] = 0;
            if (credit > 0) ++stats.withdrawals;
        } else if (credit > 0) {
            _violate(Kind.Money, "a positive credit could not be withdrawn to an EOA");
        }
    }

    // ------------------------------------------------------------------ records and access

    function authorizeCustodian(uint256 patientSeed, uint256 custodianSeed, bool allowed) external {
        _sync();
        address patient = patients[patientSeed % 3];
        address custodian = custodians[custodianSeed % 2];
        vm.prank(patient);
        try ledger.authorizeCustodian(custodian, allowed) {
            ghostCustodianFor[patient][custodian] = allowed;
        } catch {
            ++stats.rejected;
        }
        if (ledger.isCustodianFor(patient, custodian) != ghostCustodianFor[patient][custodian]) {
            _violate(Kind.Access, "custodian authorisation differs from the patient's choice");
        }
    }

    /// @notice The patient, a custodian (authorised or not) or an outsider registers a record.
    function addRecord(uint256 patientSeed, uint256 classSeed, uint256 writerSeed) external {
        _sync();
        if (recordIds.length >= MAX_RECORDS) return;
        address patient = patients[patientSeed % 3];
        uint8 dataClass = uint8(classSeed % 3);
        address writer = _recordWriter(patient, writerSeed);
        bytes32 salt = keccak256(abi.encode("record", ++_recordNonce));

        vm.prank(writer);
        try ledger.addRecord(patient, salt, dataClass, keccak256(abi.encode(salt)), LOCATION, DAG_ROOT) returns (
            bytes32 recordId
        ) {
            if (writer != patient && !ghostCustodianFor[patient][writer]) {
                _violate(Kind.Access, "a record was written by someone the patient did not authorise");
            }
            _noteRecord(recordId, salt, patient, dataClass);
            ++stats.records;
        } catch {
            ++stats.rejected;
        }
    }

    /// @notice Issue 14's squat: the outsider copies a registration the patient's custodian is about to
    /// send (same salt and digests) and gets it in first, verbatim and re-pointed at itself. Neither may
    /// take the patient's id, and the honest registration must still go through afterwards.
    function copyRegistration(uint256 patientSeed, uint256 classSeed) external {
        _sync();
        if (recordIds.length >= MAX_RECORDS) return;
        address patient = patients[patientSeed % 3];
        uint8 dataClass = uint8(classSeed % 3);
        bytes32 salt = keccak256(abi.encode("record", ++_recordNonce));
        bytes32 victimId = ledger.recordIdOf(patient, salt);

        vm.prank(outsider);
        try ledger.addRecord(patient, salt, dataClass, keccak256(abi.encode(salt)), LOCATION, DAG_ROOT) {
            _violate(Kind.Access, "an outsider registered a record naming a patient");
        } catch {}
        vm.prank(outsider);
        try ledger.addRecord(outsider, salt, dataClass, keccak256(abi.encode(salt)), LOCATION, DAG_ROOT) returns (
            bytes32 copierId
        ) {
            if (copierId == victimId) _violate(Kind.Access, "a copied registration took the patient's record id");
        } catch {
            _violate(Kind.Access, "an outsider could not register a record of its own");
        }
        vm.prank(patient);
        try ledger.addRecord(patient, salt, dataClass, keccak256(abi.encode(salt)), LOCATION, DAG_ROOT) returns (
            bytes32 recordId
        ) {
            _noteRecord(recordId, salt, patient, dataClass);
            ++stats.squatsRepelled;
        } catch {
            _violate(Kind.Access, "a copied registration blocked the patient's own");
        }
    }

    function retireRecord(uint256 recordSeed, uint256 writerSeed) external {
        _sync();
        if (recordIds.length == 0) return;
        bytes32 recordId = recordIds[recordSeed % recordIds.length];
        GhostRecord storage rec = _records[recordId];
        address writer = _recordWriter(rec.patient, writerSeed);

        vm.prank(writer);
        try ledger.retireRecord(recordId) {
            if (writer != rec.patient && !ghostCustodianFor[rec.patient][writer]) {
                _violate(Kind.Access, "a record was retired by someone the patient did not authorise");
            }
            rec.active = false;
            ++stats.retirements;
        } catch {
            ++stats.rejected;
        }
    }

    function anchorBatch(uint256 callerSeed, uint256 rootSeed) external {
        _sync();
        address caller = callerSeed % 4 == 0 ? outsider : custodians[callerSeed % 2];
        vm.prank(caller);
        try ledger.anchorBatch(keccak256(abi.encode("batch", rootSeed)), uint32(1 + (rootSeed % 8640))) {
            if (caller == outsider) _violate(Kind.Access, "an unregistered address anchored a batch");
            ++stats.anchors;
        } catch {
            ++stats.rejected;
        }
    }

    /// @notice The buyer (sometimes a stranger) logs a read of a record, usually one that matches
    /// the purchase's patient and class. Success must mean paid and consented right now; a paid,
    /// consented, matching read strictly inside the period must succeed.
    function logAccess(uint256 purchaseSeed, uint256 recordSeed, uint256 callerSeed) external {
        _sync();
        if (purchaseIds.length == 0 || recordIds.length == 0) return;
        uint256 purchaseId = purchaseIds[purchaseSeed % purchaseIds.length];
        GhostRequest storage r = _requests[purchaseId >> 8];
        uint8 dataClass = uint8(purchaseId & 0xff);
        bytes32 recordId = recordSeed % 4 == 0
            ? recordIds[recordSeed % recordIds.length]
            : _matchingRecord(r.patient, dataClass, recordSeed);
        address caller = callerSeed % 8 == 0 ? _anyActor(callerSeed >> 8) : r.requester;
        (bool lawful, bool clearlyLawful) = _accessVerdict(purchaseId, recordId, caller);

        vm.prank(caller);
        try ledger.logAccess(recordId, purchaseId) {
            if (!lawful) _violate(Kind.Access, "access logged without payment, live consent and a matching record");
            ++ghostAccessLogged;
        } catch {
            if (clearlyLawful && !ghostPaused) _violate(Kind.Access, "a paid, consented read was refused");
            ++stats.rejected;
        }
    }

    // ------------------------------------------------------------------ internals

    /// @dev Approvals most often (the money paths need approved consent), revocations next.
    function _likelyDecision(uint256 seed) internal pure returns (uint8) {
        uint256 pick = seed % 8;
        if (pick < 5) return DECIDE_APPROVE;
        return pick == 5 ? DECIDE_DENY : DECIDE_REVOKE;
    }

    function _tryDecide(address caller, uint256 requestId, uint8 decision) internal returns (bool ok) {
        vm.prank(caller);
        if (decision == DECIDE_APPROVE) {
            try ledger.approve(requestId) { ok = true; } catch {}
        } else if (decision == DECIDE_DENY) {
            try ledger.deny(requestId) { ok = true; } catch {}
        } else {
            try ledger.revoke(requestId) { ok = true; } catch {}
        }
    }

    function _checkLawfulPurchase(
        GhostRequest storage r,
        address buyer,
        uint8 dataClass,
        uint256 paid,
        uint256 price,
        uint256 purchaseId,
        uint256 returnedId
    ) internal {
        if (buyer != r.requester) _violate(Kind.Money, "a purchase by someone other than the requester");
        if (paid != price) _violate(Kind.Money, "a purchase at other than the current price");
        if (price == 0) _violate(Kind.Money, "a purchase of a data class that is not for sale");
        if (ghostPaused) _violate(Kind.Money, "a purchase while paused");
        if (r.status != APPROVED) _violate(Kind.Money, "a purchase without approved consent");
        if (ghostNow < r.validFrom || ghostNow > r.validUntil) _violate(Kind.Money, "a purchase outside the consent period");
        if ((r.dataClasses >> dataClass) & 1 == 0) _violate(Kind.Money, "a purchase of a class outside the consent");
        if (_purchases[purchaseId].status != P_NONE) _violate(Kind.Settlement, "a purchase bought twice");
        if (returnedId != purchaseId) _violate(Kind.Money, "purchase id is not requestId << 8 | dataClass");
    }

    /// @dev An approval went through: the request had not ended, and no other approved, unexpired
    /// request of the pair held one of its classes (one grant per pair and class).
    function _checkLawfulApproval(uint256 requestId) internal {
        GhostRequest storage r = _requests[requestId];
        if (ghostNow >= r.validUntil) _violate(Kind.Consent, "an expired request was approved");
        for (uint256 i; i < requestIds.length; ++i) {
            GhostRequest storage other = _requests[requestIds[i]];
            if (
                requestIds[i] != requestId && other.patient == r.patient && other.requester == r.requester
                    && other.status == APPROVED && ghostNow < other.validUntil && other.dataClasses & r.dataClasses != 0
            ) _violate(Kind.Consent, "an approval overlapped an unexpired grant of the same class");
        }
    }

    function _noteRecord(bytes32 recordId, bytes32 salt, address patient, uint8 dataClass) internal {
        if (recordId != keccak256(abi.encode(patient, salt))) _violate(Kind.Access, "a record id does not name its patient");
        _records[recordId] = GhostRecord(patient, dataClass, true, true);
        ghostRecordSalt[recordId] = salt;
        recordIds.push(recordId);
    }

    function _recordPurchase(uint256 purchaseId, uint256 amount) internal {
        GhostPurchase storage p = _purchases[purchaseId];
        if (p.status == P_NONE && p.amount == 0) purchaseIds.push(purchaseId);
        p.amount = uint96(amount);
        p.deliverBy = uint40(ghostNow + DELIVERY_WINDOW);
        p.status = P_PAID;
        if (ledger.purchaseDeliverBy(purchaseId) != p.deliverBy) {
            _violate(Kind.Settlement, "deliverBy is not the purchase time plus the delivery window");
        }
        ghostPaid += amount;
        ghostHeld += amount;
    }

    /// @dev Moves a purchase out of escrow into someone's credit; a second settlement is counted,
    /// not prevented, so that the invariant sees it.
    function _settle(GhostPurchase storage p, uint8 outcome, address creditor) internal {
        if (p.status == P_PAID) ghostHeld -= p.amount;
        else _violate(Kind.Settlement, "a purchase settled twice");
        ++p.settlements;
        p.status = outcome;
        ghostCredits[creditor] += p.amount;
    }

    /// @return lawful everything the spec requires holds (period bounds inclusive)
    /// @return clearlyLawful the same with the clock strictly inside the period, so that no
    /// boundary convention can make a refusal legitimate
    function _accessVerdict(uint256 purchaseId, bytes32 recordId, address caller)
        internal
        view
        returns (bool lawful, bool clearlyLawful)
    {
        GhostRequest storage r = _requests[purchaseId >> 8];
        GhostRecord storage rec = _records[recordId];
        uint8 status = _purchases[purchaseId].status;
        lawful = caller == r.requester && (status == P_PAID || status == P_DELIVERED) && r.status == APPROVED
            && ghostNow >= r.validFrom && ghostNow < r.validUntil && rec.active && rec.patient == r.patient
            && rec.dataClass == uint8(purchaseId & 0xff);
        clearlyLawful = lawful && ghostNow > r.validFrom && ghostNow < r.validUntil;
    }

    /// @dev The first request from a seeded start with the wanted status (any request if none):
    /// fuzzer seeds repeat a lot, a plain modulo would keep hitting the same settled one.
    function _pickRequest(uint256 seed, uint8 wantedStatus) internal view returns (uint256) {
        uint256 n = requestIds.length;
        for (uint256 i; i < n; ++i) {
            uint256 id = requestIds[(seed % n + i) % n];
            if (_requests[id].status == wantedStatus) return id;
        }
        return requestIds[seed % n];
    }

    /// @dev An approved, live request and a class it covers that is not bought yet, if any.
    function _pickPurchasable(uint256 seed, uint256 classSeed) internal view returns (uint256, uint8) {
        uint256 n = requestIds.length;
        for (uint256 i; i < n; ++i) {
            uint256 id = requestIds[(seed % n + i) % n];
            GhostRequest storage r = _requests[id];
            if (r.status != APPROVED || ghostNow < r.validFrom || ghostNow > r.validUntil) continue;
            for (uint256 k; k < 3; ++k) {
                uint8 c = uint8((classSeed % 3 + k) % 3);
                if ((r.dataClasses >> c) & 1 == 1 && _purchases[(id << 8) | c].status == P_NONE) return (id, c);
            }
        }
        return (requestIds[seed % n], uint8(classSeed % 3));
    }

    /// @dev Mostly a purchase still in escrow (if any), else any purchase, settled ones included.
    function _pickPurchase(uint256 seed, bool preferPaid) internal view returns (uint256) {
        uint256 n = purchaseIds.length;
        if (preferPaid) {
            for (uint256 i; i < n; ++i) {
                uint256 id = purchaseIds[(seed % n + i) % n];
                if (_purchases[id].status == P_PAID) return id;
            }
        }
        return purchaseIds[seed % n];
    }

    function _matchingRecord(address patient, uint8 dataClass, uint256 seed) internal view returns (bytes32) {
        uint256 n = recordIds.length;
        for (uint256 i; i < n; ++i) {
            bytes32 id = recordIds[(seed % n + i) % n];
            if (_records[id].patient == patient && _records[id].dataClass == dataClass) return id;
        }
        return recordIds[seed % n];
    }

    function _recordWriter(address patient, uint256 seed) internal view returns (address) {
        uint256 pick = seed % 4;
        if (pick == 0) return patient;
        if (pick == 3) return outsider;
        return custodians[pick - 1];
    }

    function _expectRequestStatus(uint256 requestId) internal {
        if (ledger.requestStatus(requestId) != _requests[requestId].status) {
            _violate(Kind.Consent, "consent status differs from the patient's own decisions");
        }
    }

    function _expectPurchaseStatus(uint256 purchaseId) internal {
        if (ledger.purchaseStatus(purchaseId) != _purchases[purchaseId].status) {
            _violate(Kind.Settlement, "purchase status differs from its settlements");
        }
    }

    function _expectNonce(address patient) internal {
        if (ledger.nonces(patient) != ghostNonces[patient]) {
            _violate(Kind.Consent, "nonce moved without an accepted signature");
        }
    }

    function _digest(uint256 requestId, uint8 decision, uint256 nonce, uint256 deadline, uint256 chainId, address verifyingContract)
        internal
        pure
        returns (bytes32)
    {
        bytes32 domain = keccak256(
            abi.encode(DOMAIN_TYPEHASH, keccak256("PulseLedger"), keccak256("1"), chainId, verifyingContract)
        );
        bytes32 structHash = keccak256(abi.encode(DECISION_TYPEHASH, requestId, decision, nonce, deadline));
        return keccak256(abi.encodePacked("\x19\x01", domain, structHash));
    }

    function _sign(uint256 key, bytes32 digest) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        return abi.encodePacked(r, s, v);
    }

    /// @dev The other valid-looking signature of the same digest: s -> n - s, v flipped.
    function _malleate(bytes memory signature) internal pure returns (bytes memory) {
        bytes32 r;
        bytes32 s;
        uint8 v;
        assembly {
            r := mload(add(signature, 32))
            s := mload(add(signature, 64))
            v := byte(0, mload(add(signature, 96)))
        }
        return abi.encodePacked(r, bytes32(SECP256K1_N - uint256(s)), v == 27 ? uint8(28) : uint8(27));
    }

    function _sync() internal {
        vm.warp(ghostNow);
    }

    function _anyActor(uint256 seed) internal view returns (address) {
        uint256 pick = seed % 10;
        if (pick < 3) return patients[pick];
        if (pick < 6) return requesters[pick - 3];
        if (pick < 8) return custodians[pick - 6];
        return pick == 8 ? gateway : outsider;
    }

    function _creditor(uint256 seed) internal view returns (address) {
        uint256 pick = seed % 6;
        return pick < 3 ? patients[pick] : requesters[pick - 3];
    }

    function _actor(string memory name, uint256 key) internal returns (address account) {
        account = vm.addr(key);
        vm.label(account, name);
    }

    function _digit(uint256 i) internal pure returns (string memory) {
        return string(abi.encodePacked(bytes1(uint8(48 + i))));
    }

    function creditors() external view returns (address[6] memory all) {
        for (uint256 i; i < 3; ++i) {
            all[i] = patients[i];
            all[i + 3] = requesters[i];
        }
    }

    function patientList() external view returns (address[3] memory) {
        return patients;
    }

    function requesterList() external view returns (address[3] memory) {
        return requesters;
    }
}
