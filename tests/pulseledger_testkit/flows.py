"""Business steps on the real PulseLedger, each a real transaction (for listener tests)."""

PRICE = 10**15
HEART_RATE, PREDICTIONS = 0, 1


class Flow:
    """Business steps on PulseLedger, each a real transaction."""

    def __init__(self, pulse):
        self.pulse, self.c = pulse, pulse.contract.functions
        self.gateway = pulse.w3.eth.accounts[0]

    def now(self):
        return self.pulse.w3.eth.get_block("latest")["timestamp"]

    def request(self, patient, requester, classes=0b011):
        tx = self.pulse.transact(self.c.requestConsent(
            patient, b"\x01" * 32, classes, self.now() - 60, self.now() + 10**6, b"\x02" * 32),
            requester)
        receipt = self.pulse.w3.eth.get_transaction_receipt(tx)
        [event] = self.pulse.contract.events.ConsentRequested().process_receipt(receipt)
        return event["args"]["requestId"]

    def buy(self, patient, requester, request_id, data_class=HEART_RATE):
        self.pulse.transact(self.c.setPrice(data_class, PRICE), patient)
        self.pulse.transact(self.c.purchase(request_id, data_class, PRICE), requester, value=PRICE)
        return (request_id << 8) | data_class
