"""The GitHub webhook receiver: verifies, validates and durably stores deliveries (DESIGN §3)."""
