"""The domain's base models: immutable values; the impact models also speak camelCase JSON."""

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class Frozen(BaseModel):
    """An immutable value."""

    model_config = ConfigDict(frozen=True)


class CamelModel(Frozen):
    """Snake_case in Python; ``model_dump(by_alias=True)`` gives camelCase keys; both spellings
    are accepted on input."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, frozen=True, extra="forbid"
    )
