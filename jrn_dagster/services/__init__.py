"""Plain functions the ops call: credentials, checkouts. No Dagster imports here."""
