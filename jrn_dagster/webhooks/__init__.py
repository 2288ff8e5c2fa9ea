"""The GitHub webhook receiver: verifies, validates and durably stores deliveries
(docs/webhooks.md)."""
