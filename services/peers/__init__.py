"""The peer-to-peer pipeline on py-libp2p: master, aggregation, prediction, storage, notification."""
