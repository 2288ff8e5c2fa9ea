"""Adapters: git, GitHub, E2B, the local sandbox and the agents, each implementing a port."""
