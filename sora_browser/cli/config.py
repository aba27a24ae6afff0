"""Remembered settings: the config file, read into click's ``default_map`` (README, "Config file").

Where: ``--config FILE``, else ``config.toml`` in the platform's user config folder for
sora-browser (platformdirs: ``$XDG_CONFIG_HOME/sora-browser/`` or ``~/.config/sora-browser/``
on Linux, ``~/Library/Application Support/sora-browser/`` on macOS, ``%LOCALAPPDATA%\\
sora-browser\\`` on Windows); ``--ignore-config`` reads none, as yt-dlp's does.

Shape: a table per command (``[download]``, ``[batch]``, ``[worker]``, ``[wayback.list]``) and
``[defaults]`` for every command that takes the option; keys are long option names without
their dashes (``allow-host``, ``resolve-timeout``, ``download-archive``), values TOML's (a list
for a repeatable option, ``true`` for a flag). A command's own table wins over ``[defaults]``.

Precedence is click's for ``default_map``: the command line, then the option's environment
variable, then this file, then the built-in default. Everything in the file is checked before
any command runs, through the option's own type and callback: a table that is no command, a
key no command knows, or a value its option refuses ends with exit 2, naming file and line.
Only the main group's callback calls this, so ``sora-browser --help`` never reads the file.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, NoReturn

import click

CONFIG_NAME = "config.toml"
DEFAULTS = "defaults"
# Compiled on first use (re caches them): every command's start-up passes through here.
_TABLE = r"^\s*\[\s*([^\]]+?)\s*\]\s*(?:#.*)?$"
_KEY = r"""^\s*("[^"]*"|'[^']*'|[A-Za-z0-9_-]+)\s*="""
Lines = dict[tuple[str, str], int]
"""(table, key) -> line number; the table itself under key ``""``."""


class ConfigError(click.ClickException):
    """A config file that cannot be used: bad input, exit 2 like a bad option."""

    exit_code = 2


def default_path() -> Path:
    """``config.toml`` in the user config folder the platform has for sora-browser."""
    import platformdirs

    return Path(platformdirs.user_config_dir("sora-browser", appauthor=False)) / CONFIG_NAME


def load_default_map(group: click.Group, path: Path | None) -> dict[str, Any] | None:
    """The ``default_map`` the file at ``path`` (None: the default place) gives ``group``.

    None when there is no file at the default place; a missing ``--config FILE`` is an error.
    """
    chosen = path or default_path()
    try:
        text = chosen.read_text(encoding="utf-8")
    except FileNotFoundError:
        if path is None:
            return None
        raise ConfigError(f"config file {chosen} not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {chosen}: {exc}") from exc
    import tomllib  # only when there is a file to read

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{chosen}: not valid TOML: {exc}") from exc
    return _Reader(group, chosen, _lines(text)).default_map(data)


class _Reader:
    """Checks one parsed file against ``group``'s commands and builds its ``default_map``."""

    def __init__(self, group: click.Group, path: Path, lines: Lines) -> None:
        self.path, self.lines = path, lines
        self.commands = dict(_leaf_commands(group))
        self.context = click.Context(group, info_name="sora-browser")

    def default_map(self, data: Mapping[str, Any]) -> dict[str, Any]:
        defaults = self._table(DEFAULTS, data.get(DEFAULTS, {}))
        tables = dict(self._command_tables(data))
        self._check_defaults(defaults)
        default_map: dict[str, Any] = {}
        for name, command in self.commands.items():
            # (key -> (the table that says it, value)): a command's own table wins.
            said = {k: (DEFAULTS, v) for k, v in defaults.items() if _option(command, k)}
            said.update((k, (name, v)) for k, v in tables.get(name, {}).items())
            settings = dict(self._checked(t, command, k, v) for k, (t, v) in said.items())
            if settings:
                _nest(default_map, name.split("."), settings)
        return default_map

    def _command_tables(self, data: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
        for name, value in _flatten(data):
            if name == DEFAULTS:
                continue
            if not isinstance(value, dict):
                self._fail(
                    "",
                    name,
                    f"{name} is outside any table: put it under [{DEFAULTS}] or a command's table",
                )
            if name not in self.commands:
                known = ", ".join(f"[{n}]" for n in (DEFAULTS, *self.commands))
                self._fail(name, "", f"[{name}] is not a command (tables: {known})")
            yield name, self._table(name, value)

    def _table(self, name: str, value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            self._fail("", name, f"{name} must be a table: [{name}]")
        return value

    def _check_defaults(self, defaults: Mapping[str, Any]) -> None:
        for key in defaults:
            if not any(_option(c, key) for c in self.commands.values()):
                self._fail(DEFAULTS, key, f'[{DEFAULTS}] no command has an option "--{key}"')

    def _checked(self, table: str, command: click.Command, key: str, value: Any) -> tuple[str, Any]:
        """The parameter ``key`` sets and the value for it, once its option accepts it."""
        option = _option(command, key)
        if option is None:
            help_line = f"sora-browser {table.replace('.', ' ')} --help"
            self._fail(table, key, f'[{table}] unknown option "{key}" (see {help_line})')
        given = _as_given(option, value)
        context = click.Context(command, parent=self.context, info_name=command.name)
        try:
            option.process_value(context, given)
        except click.ClickException as exc:
            self._fail(table, key, f"[{table}] {key} = {value!r}: {exc.format_message()}")
        return str(option.name), given

    def _fail(self, table: str, key: str, message: str) -> NoReturn:
        line = self.lines.get((table, key)) or self.lines.get((table, ""))
        where = f"{self.path}:{line}" if line else str(self.path)
        raise ConfigError(f"{where}: {message}")


def _as_given(option: click.Option, value: Any) -> Any:
    """What click needs from a TOML value: a list for a repeatable option, ``~`` expanded."""
    if option.multiple and not isinstance(value, list):
        value = [value]
    if isinstance(option.type, click.Path):
        value = [_expand(v) for v in value] if isinstance(value, list) else _expand(value)
    return value


def _expand(value: Any) -> Any:
    return os.path.expanduser(value) if isinstance(value, str) else value


def _option(command: click.Command, key: str) -> click.Option | None:
    for param in command.params:
        if isinstance(param, click.Option) and f"--{key}" in (*param.opts, *param.secondary_opts):
            return param
    return None


def _leaf_commands(group: click.Group, prefix: str = "") -> Iterator[tuple[str, click.Command]]:
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from _leaf_commands(command, f"{prefix}{name}.")
        else:
            yield f"{prefix}{name}", command


def _flatten(data: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """``{"wayback": {"list": {...}}}`` as ``("wayback.list", {...})``: tables of tables
    (a group's commands) are opened, a table of settings is yielded whole."""
    for name, value in data.items():
        group = (
            isinstance(value, dict) and value and all(isinstance(v, dict) for v in value.values())
        )
        if group and name != DEFAULTS:
            yield from _flatten(value, f"{prefix}{name}.")
        else:
            yield f"{prefix}{name}", value


def _nest(target: dict[str, Any], path: list[str], settings: dict[str, Any]) -> None:
    for part in path[:-1]:
        target = target.setdefault(part, {})
    target[path[-1]] = settings


def _lines(text: str) -> Lines:
    """Where each table and key sits, for messages (tomllib keeps no positions)."""
    lines: Lines = {}
    table = ""
    for number, line in enumerate(text.splitlines(), start=1):
        if header := re.match(_TABLE, line):
            table = ".".join(p.strip().strip("\"'") for p in header.group(1).split("."))
            lines.setdefault((table, ""), number)
        elif key := re.match(_KEY, line):
            lines.setdefault((table, key.group(1).strip("\"'")), number)
    return lines
