"""Dagster resources: the database, sandboxes, repository access (credentials) and the agent."""
