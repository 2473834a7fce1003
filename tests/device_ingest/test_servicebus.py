"""Service Bus behind the endpoint (PULSELEDGER_INGEST_QUEUE_BACKEND=servicebus), at the SDK
boundary: no Service Bus runs here (its emulator needs Docker). The endpoint is the real Flask
app over the real record store; the queue is the real ServiceBusQueue adapter over a sender and
an administration client that implement the SDK methods it calls (`send_messages`,
`get_queue_runtime_properties`)."""

import pytest

from services.device_ingest.admission import Admission
from services.device_ingest.app import create_app
from services.device_ingest.backpressure import QueueBehind
from services.device_ingest.metrics import Metrics
from services.device_ingest.settings import DeviceIngestSettings
from services.ingest.device_directory import CachedDevices
from services.ingest.device_identity import DeviceKey
from services.ingest.queues.factory import open_queue
from services.ingest.queues.servicebus import ServiceBusQueue
from services.ingest.settings import IngestSettings
from services.runtime.token_buckets import TokenBuckets
from tests.peers.helpers import open_test_store

from .messages import now_ms, signed_message


class Sender:
    def __init__(self):
        self.sent = []

    def send_messages(self, messages):
        self.sent += [b"".join(bytes(s) for s in m.body) for m in messages]

    def close(self):
        pass


class Admin:
    def __init__(self):
        self.active = 0

    def get_queue_runtime_properties(self, name):
        assert name == "readings"
        return type("Properties", (), {"active_message_count": self.active})()

    def close(self):
        pass


@pytest.fixture
def endpoint(tmp_path):
    store = open_test_store(tmp_path)
    sender, admin = Sender(), Admin()
    queue = ServiceBusQueue(receiver=None, sender=sender, admin=admin, queue_name="readings")
    admission = Admission(IngestSettings(), CachedDevices(store), store, queue,
                          TokenBuckets(50, 3600), Metrics())
    app = create_app(DeviceIngestSettings(), admission=admission, metrics=Metrics(),
                     behind=QueueBehind(queue, limit=100, refresh_s=0, retry_after_s=5))
    yield app.test_client(), store, sender, admin
    store.close()


def test_servicebus__accepted_messages_sent_as_signed__depth_from_management(endpoint):
    client, store, sender, admin = endpoint
    key = DeviceKey.generate()
    store.register_device(key.user_id, "0x" + "11" * 20, key.public_bytes)
    message = signed_message("fhir-bundle", key, now_ms() - 10_000)
    answer = client.post("/v1/readings", data=message, content_type="application/json")
    assert answer.status_code == 202 and answer.json["accepted"] == 5
    assert sender.sent == [message]

    admin.active = 101  # the masters are behind: Service Bus says so
    answer = client.post("/v1/readings", data=message, content_type="application/json")
    assert answer.status_code == 429 and answer.json["error"] == "backpressure"
    assert sender.sent == [message]


def test_servicebus__chosen_by_setting():
    settings = IngestSettings(
        queue_backend="servicebus", servicebus_queue_name="readings",
        servicebus_connection_string="Endpoint=sb://pulseledger-test.servicebus.windows.net/;"
                                     "SharedAccessKeyName=send;SharedAccessKey=c2VjcmV0")
    queue = open_queue(settings)  # builds the SDK clients; nothing connects until used
    assert isinstance(queue, ServiceBusQueue)
    queue.close()
