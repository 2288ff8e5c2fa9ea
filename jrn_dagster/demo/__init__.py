"""``jrn-dagster demo``: the whole flow on the embedded default, against a local git repository."""
