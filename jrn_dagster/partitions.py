from dagster import DynamicPartitionsDefinition

# One partition per space; the key is the space slug (immutable, validated on creation).
SPACES = "spaces"
spaces_partitions = DynamicPartitionsDefinition(name=SPACES)
