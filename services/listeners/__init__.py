"""Event listeners: daemons that turn confirmed contract events into effects, exactly once where it
can be done and recognisably otherwise (see docs/listeners.md)."""
