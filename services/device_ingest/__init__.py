"""The device endpoint: HTTP in front of the ingest queue for real wearables, phones and hubs."""
