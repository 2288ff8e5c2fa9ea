"""Ports: the plain interfaces services depend on (sandbox, git, agent); adapters implement them."""
