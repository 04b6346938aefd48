"""The thin HTTP receiver: verify, parse, claim the idempotency key, enqueue, answer. Never calls a vendor."""
