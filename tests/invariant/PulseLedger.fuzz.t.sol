// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {PulseLedger} from "../../contracts/PulseLedger.sol";
import {vm} from "./utils/Vm.sol";
import {ForceSend} from "./utils/ForceSend.sol";
import {LedgerViews} from "./handlers/LedgerViews.sol";

/// @title Property fuzz tests: one property each, random inputs (fuzz runs from foundry.toml)
contract PulseLedgerFuzz {
    using LedgerViews for PulseLedger;

    uint40 internal constant WINDOW = 1 days;
    uint8 internal constant APPROVED = 2;
    uint256 internal constant SECP256K1_N =
        0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;
    bytes32 internal constant DECISION_TYPEHASH =
        keccak256("ConsentDecision(uint256 requestId,uint8 decision,uint256 nonce,uint256 deadline)");
    bytes32 internal constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");

    PulseLedger internal ledger;
    address internal gateway = address(0x6A7E0001);
    address internal requester = address(0xD0C0001);
    uint256 internal patientKey = 0xA11CE;
    address internal patient;

    function setUp() public {
        vm.warp(1_800_000_000);
        patient = vm.addr(patientKey);
        ledger = new PulseLedger(gateway, WINDOW);
    }

    /// @notice The domain separator is exactly the one the decision doc specifies.
    function test_domainSeparator_matchesSpec() public view {
        require(ledger.DOMAIN_SEPARATOR() == _domain(block.chainid, address(ledger)), "domain separator differs from spec");
    }

    /// @notice A signature made with the patient's key for this ledger, chain and nonce is accepted
    /// once, whoever relays it; its replay reverts.
    function testFuzz_decideBySig_acceptedOnceThenReplayReverts(address relayer, uint32 ttl) public {
        vm.assume(relayer != address(vm));
        uint256 requestId = _openRequest();
        uint256 deadline = block.timestamp + ttl;
        bytes memory signature = _sign(patientKey, _digest(requestId, 1, 0, deadline, block.chainid, address(ledger)));

        vm.prank(relayer);
        ledger.decideBySig(requestId, 1, deadline, signature);
        require(ledger.requestStatus(requestId) == APPROVED, "signed approval not applied");
        require(ledger.nonces(patient) == 1, "nonce not consumed");

        vm.expectRevert();
        ledger.decideBySig(requestId, 1, deadline, signature);
    }

    /// @notice Signed for another chain or another contract, it reverts.
    function testFuzz_decideBySig_otherDomain_reverts(uint64 chainDelta, address otherContract) public {
        vm.assume(otherContract != address(ledger));
        uint256 requestId = _openRequest();
        uint256 deadline = block.timestamp + 1 hours;
        uint256 otherChain = block.chainid + 1 + chainDelta;

        bytes memory crossChain = _sign(patientKey, _digest(requestId, 1, 0, deadline, otherChain, address(ledger)));
        vm.expectRevert();
        ledger.decideBySig(requestId, 1, deadline, crossChain);

        bytes memory crossContract = _sign(patientKey, _digest(requestId, 1, 0, deadline, block.chainid, otherContract));
        vm.expectRevert();
        ledger.decideBySig(requestId, 1, deadline, crossContract);
    }

    /// @notice The malleated twin (n − s, v flipped) of a valid, unused signature reverts.
    function testFuzz_decideBySig_malleated_reverts(uint32 ttl) public {
        uint256 requestId = _openRequest();
        uint256 deadline = block.timestamp + ttl;
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(patientKey, _digest(requestId, 1, 0, deadline, block.chainid, address(ledger)));
        bytes memory twin = abi.encodePacked(r, bytes32(SECP256K1_N - uint256(s)), v == 27 ? uint8(28) : uint8(27));
        vm.expectRevert();
        ledger.decideBySig(requestId, 1, deadline, twin);
    }

    /// @notice Past its deadline, a genuine signature reverts.
    function testFuzz_decideBySig_expired_reverts(uint32 age) public {
        uint256 requestId = _openRequest();
        uint256 deadline = block.timestamp - 1 - (age % 30 days);
        bytes memory signature = _sign(patientKey, _digest(requestId, 1, 0, deadline, block.chainid, address(ledger)));
        vm.expectRevert();
        ledger.decideBySig(requestId, 1, deadline, signature);
    }

    /// @notice Paying or expecting anything but the current price reverts; the exact price buys,
    /// and the purchase id is requestId << 8 | dataClass.
    function testFuzz_purchase_onlyAtTheExactPrice(uint40 priceGwei, uint96 offered, uint8 classSeed) public {
        uint256 price = uint256(priceGwei) * 1 gwei; // prices are whole gwei
        vm.assume(price > 0 && offered != price);
        uint8 dataClass = classSeed % 3;
        uint256 requestId = _approvedRequest();
        vm.prank(patient);
        ledger.setPrice(dataClass, price);
        vm.deal(requester, price + offered);

        vm.prank(requester);
        vm.expectRevert();
        ledger.purchase{value: offered}(requestId, dataClass, offered);

        vm.prank(requester);
        vm.expectRevert();
        ledger.purchase{value: price}(requestId, dataClass, offered);

        vm.prank(requester);
        uint256 purchaseId = ledger.purchase{value: price}(requestId, dataClass, price);
        require(purchaseId == (requestId << 8) | dataClass, "purchase id is not requestId << 8 | dataClass");
    }

    /// @notice Forced ETH never becomes anyone's credit: the patient withdraws exactly the price,
    /// and the forced wei stay in the ledger.
    function testFuzz_withdraw_paysTheCreditNotForcedEth(uint40 priceGwei, uint96 forced) public {
        uint256 price = uint256(priceGwei) * 1 gwei; // prices are whole gwei
        vm.assume(price > 0 && forced > 0);
        uint256 requestId = _approvedRequest();
        vm.prank(patient);
        ledger.setPrice(0, price);
        vm.deal(requester, price);
        vm.prank(requester);
        uint256 purchaseId = ledger.purchase{value: price}(requestId, 0, price);
        vm.prank(gateway);
        ledger.confirmDelivery(purchaseId);

        vm.deal(address(this), forced);
        new ForceSend{value: forced}(payable(address(ledger)));

        uint256 before = patient.balance;
        vm.prank(patient);
        ledger.withdraw();
        require(patient.balance - before == price, "withdraw paid other than the credit");
        require(address(ledger).balance == forced, "forced ETH left the ledger");
        require(ledger.creditOf(patient) == 0, "credit left after withdraw");
    }

    function _openRequest() internal returns (uint256 requestId) {
        vm.prank(requester);
        requestId = ledger.requestConsent(
            patient, bytes32("TREAT"), 7, uint40(block.timestamp), uint40(block.timestamp + 7 days), keccak256("consent-doc")
        );
    }

    function _approvedRequest() internal returns (uint256 requestId) {
        requestId = _openRequest();
        vm.prank(patient);
        ledger.approve(requestId);
    }

    function _domain(uint256 chainId, address verifyingContract) internal pure returns (bytes32) {
        return keccak256(abi.encode(DOMAIN_TYPEHASH, keccak256("PulseLedger"), keccak256("1"), chainId, verifyingContract));
    }

    function _digest(uint256 requestId, uint8 decision, uint256 nonce, uint256 deadline, uint256 chainId, address verifyingContract)
        internal
        pure
        returns (bytes32)
    {
        bytes32 structHash = keccak256(abi.encode(DECISION_TYPEHASH, requestId, decision, nonce, deadline));
        return keccak256(abi.encodePacked("\x19\x01", _domain(chainId, verifyingContract), structHash));
    }

    function _sign(uint256 key, bytes32 digest) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        return abi.encodePacked(r, s, v);
    }
}
