"""GatedPubsub's delivery to subscriptions: a topic its validator takes whole (presence) is not
copied into a subscription channel nobody needs, so no burst can overflow it; other topics
(revocations) are delivered as py-libp2p does. At the library boundary: the method takes the
decoded message, no network is involved."""

import trio
from libp2p.pubsub.pb import rpc_pb2

from services.peers.admission.gated_pubsub import GatedPubsub


def _pubsub_subscribed_to(*topics: str) -> tuple[GatedPubsub, dict]:
    pubsub = GatedPubsub.__new__(GatedPubsub)
    pubsub.validator_only = set()
    channels = {topic: trio.open_memory_channel(2) for topic in topics}
    pubsub.subscribed_topics_send = {topic: send for topic, (send, _) in channels.items()}
    pubsub.subscribed_topics_receive = {topic: recv for topic, (_, recv) in channels.items()}
    return pubsub, channels


def test_validator_only_topic__never_queued__other_topics_delivered(caplog):
    pubsub, channels = _pubsub_subscribed_to("presence", "revocations")
    pubsub.validator_only.add("presence")
    for n in range(100):  # far past the channel's room: a burst a starved peer sees
        pubsub.notify_subscriptions(rpc_pb2.Message(data=b"%d" % n, topicIDs=["presence"]))
    assert channels["presence"][0].statistics().current_buffer_used == 0
    assert "dropped" not in caplog.text

    pubsub.notify_subscriptions(rpc_pb2.Message(data=b"list", topicIDs=["revocations"]))
    assert channels["revocations"][1].receive_nowait().data == b"list"


def test_subscriber_behind__the_drop_is_logged_with_the_topic(caplog):
    pubsub, channels = _pubsub_subscribed_to("revocations")
    for n in range(3):  # room for two
        pubsub.notify_subscriptions(rpc_pb2.Message(data=b"%d" % n, topicIDs=["revocations"]))
    assert channels["revocations"][0].statistics().current_buffer_used == 2
    assert "subscription to revocations is 2 messages behind" in caplog.text
