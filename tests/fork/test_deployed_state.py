"""On a fork of the upstream, the contracts `ape run deploy` deployed are there and usable."""

from ape import chain

HEART_RATE_WINDOWS = 0
PRICE = 10**15
DAY = 24 * 3600


def test_fork__deployment__is_visible(ledger, deployments, deployer):
    assert chain.chain_id == deployments.chain_id == 1338
    assert chain.blocks.height >= deployments.deployment_block
    assert ledger.owner() == deployer.address
    assert ledger.gateway() == deployer.address


def test_fork__custodian_registered_by_deploy__can_anchor(ledger, custodian):
    root = b"\x42" * 32

    receipt = ledger.anchorBatch(root, 16, sender=custodian)

    assert [log.root for log in receipt.decode_logs(ledger.BatchAnchored)] == [root]


def test_fork__purchase_flow__runs_on_fork_without_touching_upstream(
    ledger, deployer, patient, requester, upstream
):
    ledger.setPrice(HEART_RATE_WINDOWS, PRICE, sender=patient)
    now = chain.pending_timestamp
    receipt = ledger.requestConsent(patient, b"HRESCH".ljust(32, b"\0"), 0b1, now, now + DAY,
                                    b"\x11" * 32, sender=requester)
    request_id = receipt.decode_logs(ledger.ConsentRequested)[0].requestId
    ledger.approve(request_id, sender=patient)
    purchase = ledger.purchase(request_id, HEART_RATE_WINDOWS, PRICE, sender=requester, value=PRICE)
    purchase_id = purchase.decode_logs(ledger.PurchasePaid)[0].purchaseId
    ledger.confirmDelivery(purchase_id, sender=deployer)

    assert ledger.creditOf(patient) == PRICE
    upstream_ledger = upstream.eth.contract(address=ledger.address, abi=[{
        "name": "creditOf", "type": "function", "stateMutability": "view",
        "inputs": [{"name": "account", "type": "address"}],
        "outputs": [{"name": "", "type": "uint256"}]}])
    assert upstream_ledger.functions.creditOf(patient.address).call() == 0
