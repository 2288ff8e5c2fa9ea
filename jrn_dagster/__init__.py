"""jrn_dagster: keeps documentation spaces in step with the code they describe."""
