"""The ops of ``cli_impact``. Each is thin: it gathers resources and calls a plain function."""
