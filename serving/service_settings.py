"""The base of the long-lived services' settings (collector, lineage API) on pydantic-settings.

Resolution: argument (a keyword of the constructor), else the field's environment variable (its
``validation_alias``, a name from instrumentation/env.py), else the default. Environment values
follow instrumentation/env.py's rules: blank counts as unset, booleans take :data:`EnvBool`'s
spellings only, lists are comma-separated, and a value that fails its field's validation is logged
(the variable, the value, the default used) and left out, so the default applies; the service still
starts. A bad argument is a caller's error and raises ``ValidationError``.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any, ClassVar, Self

from pydantic import AliasChoices, BeforeValidator, Field, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from traceability.instrumentation.env import (
    BOOL_EXPECTED,
    DB_URL_ENV,
    DB_URL_EXTERNAL_ENV,
    bad_value,
    parse_bool,
    raw,
    split_list,
)
from traceability.serving.auth import AccessPolicy
from traceability.serving.limits import ServerLimits

log = logging.getLogger(__name__)


def _bool(value: Any) -> Any:
    if isinstance(value, str):
        parsed = parse_bool(value)
        if parsed is None:
            raise ValueError(f"not {BOOL_EXPECTED}")
        return parsed
    return value


def _list(value: Any) -> Any:
    return split_list(value) if isinstance(value, str) else value


EnvBool = Annotated[bool, BeforeValidator(_bool)]  # the one true/false rule (instrumentation/env.py)
EnvList = Annotated[tuple[str, ...], BeforeValidator(_list)]  # "a, b,c" -> ("a", "b", "c")


def env_names(info: FieldInfo) -> tuple[str, ...]:
    """The environment variables a field reads, in order (none for a field without an alias)."""
    alias = info.validation_alias
    if isinstance(alias, str):
        return (alias,)
    if isinstance(alias, AliasChoices):
        return tuple(choice for choice in alias.choices if isinstance(choice, str))
    return ()


def _default(info: FieldInfo) -> Any:
    return info.get_default(call_default_factory=True, validated_data={})


class LenientEnvSource(PydanticBaseSettingsSource):
    """Each aliased field's first set variable, validated alone; a bad one is logged and dropped."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        raise NotImplementedError  # __call__ reads every field itself

    def __call__(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name, info in self.settings_cls.model_fields.items():
            for variable in env_names(info):
                text = raw(variable)
                if text is None:
                    continue
                kind: Any = Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
                adapter: TypeAdapter[Any] = TypeAdapter(kind)
                try:
                    values[name] = adapter.validate_python(text)
                except ValidationError as exc:
                    reason = "; ".join(error["msg"] for error in exc.errors())
                    log.warning(bad_value(variable, text, f"valid ({reason})", _default(info)))
                break
        return values


class ServiceSettings(BaseSettings):
    """Frozen settings; subclasses give each environment-backed field ``validation_alias=<NAME>_ENV``
    and declare ``host`` with their own variable."""

    model_config: ClassVar[SettingsConfigDict] = SettingsConfigDict(
        frozen=True, populate_by_name=True, arbitrary_types_allowed=True, extra="forbid"
    )

    db_url: str = Field(validation_alias=AliasChoices(DB_URL_ENV, DB_URL_EXTERNAL_ENV))
    host: str
    access: AccessPolicy = Field(default_factory=lambda: AccessPolicy(token=None))  # bearer token rules
    limits: ServerLimits = Field(default_factory=ServerLimits)  # connection timeouts and caps, Host names

    @classmethod
    def for_service(cls, dsn: str | None, **arguments: Any) -> Self:
        """Settings for the resolved database URL and the caller's arguments (None: not given), with
        the bearer-token policy for the bind address (raises InsecureBind for a tokenless public
        bind) and the serving limits; ValueError without a database URL."""
        if not dsn:
            raise ValueError(f"no database URL: pass --db-url or set {DB_URL_ENV}")
        settings = cls(db_url=dsn, **given(**arguments))
        return settings.model_copy(
            update={"access": AccessPolicy.resolve(settings.host), "limits": ServerLimits.resolve()}
        )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, LenientEnvSource(settings_cls))


def given(**arguments: Any) -> dict[str, Any]:
    """The arguments a caller set (None: not given, so the environment or the default decides)."""
    return {name: value for name, value in arguments.items() if value is not None}
