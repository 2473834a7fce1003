"""Queue sources behind one interface (base.py): the durable local queue and Azure Service Bus."""
