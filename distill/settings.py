"""One mechanism from a stage's config dataclass to its command-line flags and its TOML section.

Each stage has one typed config (TeacherConfig, AugmentConfig, LabelConfig, StudentRunConfig): a dataclass
whose fields carry their defaults and help (`field(metadata={"help": …})`) and whose `__post_init__` checks
ranges. This module never lists a setting: pydantic validates the values against the dataclass's own type
hints — strictly for TOML (unknown keys and wrong types refused: `epochs = "two"` is an error, not a cast),
leniently for flags (the shell hands over strings: `--lr 3e-5` becomes a float) — and argparse gets one flag
per field. pydantic rather than hand-made type maps: it knows `int | None`, bools and numbers already.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import types
import typing
from typing import Any

from pydantic import ConfigDict, ValidationError, create_model

from distill.errors import UserError


@functools.cache
def _model(cls: type, strict: bool):
    hints = typing.get_type_hints(cls)
    return create_model(f"{cls.__name__}Check", __config__=ConfigDict(extra="forbid", strict=strict),
                        **{f.name: (hints[f.name], None) for f in dataclasses.fields(cls)})


def _type_name(hint) -> str:
    args = [a for a in typing.get_args(hint) if a is not type(None)] if isinstance(hint, types.UnionType) else []
    return " or ".join(_type_name(a) for a in args) if args else getattr(hint, "__name__", str(hint))


def check_values(cls: type, values: dict[str, Any], where: str, strict: bool = True) -> dict[str, Any]:
    """`values` checked against `cls`'s fields: unknown keys and wrong types raise UserError naming the key
    (`where.key`, or the flag `--key` when `where` is "flags")."""
    try:
        _model(cls, strict).model_validate(values)
    except ValidationError as e:
        err = e.errors()[0]
        key = str(err["loc"][0]) if err["loc"] else "?"
        allowed = [f.name for f in dataclasses.fields(cls)]
        if err["type"] == "extra_forbidden":
            raise UserError(f"{where}: unknown key {key!r}; allowed: {', '.join(sorted(allowed))}") from None
        hint = typing.get_type_hints(cls)[key]
        value = values.get(key)
        name = f"--{key.replace('_', '-')}" if where == "flags" else f"{where}.{key}"
        raise UserError(f"{name}: expected {_type_name(hint)}, got {type(value).__name__} {value!r}") from None
    lenient = _model(cls, False).model_validate(values)  # the values as the fields' types (flags are strings)
    return {k: getattr(lenient, k) for k in values}


def build(cls: type, values: dict[str, Any], where: str, strict: bool = True):
    """An instance of the config `cls` from `values` (over its defaults); its own __post_init__ checks ranges."""
    checked = check_values(cls, values, where, strict)
    try:
        return cls(**checked)
    except UserError as e:
        if where == "flags":  # the config's own message names the setting
            raise
        raise UserError(f"{where}: {e}") from None


def add_flags(parser: argparse.ArgumentParser, cls: type, skip: tuple[str, ...] = ()) -> None:
    """One flag per field of `cls` (`train_limit` → `--train-limit`); an unset flag is absent from the
    namespace, so the config's (or the task's) default applies."""
    defaults = cls()
    for f in dataclasses.fields(cls):
        if f.name in skip:
            continue
        flag, help_ = "--" + f.name.replace("_", "-"), f"{f.metadata.get('help', '')} [{getattr(defaults, f.name)}]"
        flags = (flag, *f.metadata.get("aliases", ()))  # a field may name other spellings of its flag
        if typing.get_type_hints(cls)[f.name] is bool:
            parser.add_argument(*flags, dest=f.name, action=argparse.BooleanOptionalAction,
                                default=argparse.SUPPRESS, help=help_)
        else:
            parser.add_argument(*flags, dest=f.name, default=argparse.SUPPRESS, help=help_)


def given_flags(args: argparse.Namespace, cls: type) -> dict[str, Any]:
    """The fields of `cls` the user set on the command line, checked and converted to their types."""
    given = {f.name: getattr(args, f.name) for f in dataclasses.fields(cls) if hasattr(args, f.name)}
    hints = typing.get_type_hints(cls)
    for name, value in given.items():  # a table-valued setting is given as JSON on the command line
        if typing.get_origin(hints[name]) is dict and isinstance(value, str):
            try:
                given[name] = json.loads(value)
            except json.JSONDecodeError as e:
                raise UserError(f"--{name.replace('_', '-')}: expected a JSON object, e.g. '{{\"filters\": 100}}' "
                                f"({e.msg})") from None
    return check_values(cls, given, "flags", strict=False)
