"""Business steps on the real PulseLedger, each a real transaction (for listener tests)."""

from services.chain.record_registry import RecordRegistration, add_record_call, location_digest

PRICE = 10**15
HEART_RATE, PREDICTIONS = 0, 1


class Flow:
    """Business steps on PulseLedger, each a real transaction."""

    def __init__(self, pulse):
        self.pulse, self.c = pulse, pulse.contract.functions
        self.gateway = pulse.w3.eth.accounts[0]

    def now(self):
        return self.pulse.w3.eth.get_block("latest")["timestamp"]

    def request(self, patient, requester, classes=0b011, lasts_s=10**6):
        """A request whose period began a minute ago and ends `lasts_s` from now."""
        tx = self.pulse.transact(self.c.requestConsent(
            patient, b"HRESCH".ljust(32, b"\0"), classes, self.now() - 60, self.now() + lasts_s,
            b"\x02" * 32),
            requester)
        self.last_tx = tx
        receipt = self.pulse.w3.eth.get_transaction_receipt(tx)
        [event] = self.pulse.contract.events.ConsentRequested().process_receipt(receipt)
        return event["args"]["requestId"]

    def approved_request(self, patient, requester, **request_options):
        """A request (see `request`) the patient has approved; returns its id."""
        request_id = self.request(patient, requester, **request_options)
        self.pulse.transact(self.c.approve(request_id), patient)
        return request_id

    def add_record(self, patient, data_class, salt: bytes) -> bytes:
        """Register a record of `patient` (sent by the patient); returns its id."""
        registration = RecordRegistration(patient, salt, salt, location_digest("ipfs://x"), salt, data_class)
        self.pulse.transact(add_record_call(self.pulse.contract, registration), patient)
        return registration.record_id

    def buy(self, patient, requester, request_id, data_class=HEART_RATE):
        self.pulse.transact(self.c.setPrice(data_class, PRICE), patient)
        self.pulse.transact(self.c.purchase(request_id, data_class, PRICE), requester, value=PRICE)
        return (request_id << 8) | data_class


class RandomTraffic:
    """A stream of valid PulseLedger transactions in random order (requests, approvals, denials,
    purchases, records and accesses), keeping just enough of a model to never revert."""

    def __init__(self, pulse, rng) -> None:
        self.flow = Flow(pulse)
        self.pulse = pulse
        self.rng = rng
        self.pending: list[tuple[int, str, str]] = []
        self.approved: list[tuple[int, str, str]] = []
        self.purchases: list[tuple[int, str, str]] = []  # (purchase id, patient, buyer)
        self.bought: set[tuple[int, int]] = set()
        self.records: dict[str, bytes] = {}
        for patient in pulse.patients:
            for data_class in (HEART_RATE, PREDICTIONS):
                pulse.transact(self.flow.c.setPrice(data_class, PRICE), patient)

    def step(self) -> None:
        c, rng = self.flow.c, self.rng
        roll = rng.random()
        if roll < 0.3 or not (self.pending or self.approved):
            patient, requester = rng.choice(self.pulse.patients), rng.choice(self.pulse.requesters)
            self.pending.append((self.flow.request(patient, requester), patient, requester))
        elif roll < 0.55 and self.pending:
            request = self.pending.pop(rng.randrange(len(self.pending)))
            # One unexpired grant per pair and class: a pair already granted gets a denial.
            granted = any(a[1:] == request[1:] for a in self.approved)
            if rng.random() < 0.8 and not granted:
                self.pulse.transact(c.approve(request[0]), request[1])
                self.approved.append(request)
            else:
                self.pulse.transact(c.deny(request[0]), request[1])
        elif roll < 0.75 and self.approved:
            request_id, patient, buyer = rng.choice(self.approved)
            data_class = rng.choice((HEART_RATE, PREDICTIONS))
            if (request_id, data_class) not in self.bought:
                self.pulse.transact(c.purchase(request_id, data_class, PRICE), buyer, value=PRICE)
                self.bought.add((request_id, data_class))
                self.purchases.append(((request_id << 8) | data_class, patient, buyer))
        elif self.purchases:
            purchase_id, patient, buyer = rng.choice(self.purchases)
            data_class = purchase_id & 0xFF
            record = self.records.get((patient, data_class))
            if record is None:
                record = self.flow.add_record(patient, data_class, rng.randbytes(32))
                self.records[(patient, data_class)] = record
            self.pulse.transact(c.logAccess(record, purchase_id), buyer)
