"""The settings file (``cli/config.py``) and shell completion, through the real command.

Every subprocess gets its own ``XDG_CONFIG_HOME`` here (the session's, from conftest.py, holds
no settings), so the file found "in the default place" is the one the test wrote.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_cli import sora

from sora_browser.testing.pages import share_url
from sora_browser.testing.pywb import PywbArchive
from sora_browser.testing.scenario import Scenario
from sora_browser.testing.site import FixtureSite

DEAD = "http://127.0.0.1:1/nowhere"  # nothing listens on port 1: "unreachable", exit 4


def settings(tmp_path: Path, text: str) -> dict[str, str]:
    """Write ``text`` where sora-browser looks by default; the environment that finds it."""
    folder = tmp_path / "config"
    (folder / "sora-browser").mkdir(parents=True)
    (folder / "sora-browser" / "config.toml").write_text(text)
    return {"XDG_CONFIG_HOME": str(folder)}


async def test_settings_from_the_default_place(site: FixtureSite, tmp_path: Path) -> None:
    env = settings(
        tmp_path,
        '[defaults]\nallow-host = "127.0.0.1"\njson = true\n\n[resolve]\nmode = "static"\n',
    )
    run = await sora("resolve", share_url(site, "next_flight"), env=env)
    assert run.code == 0, run.err
    (record,) = run.json_lines()  # json from [defaults], the host allowed, static from [resolve]
    assert (record["resolver"], record["username"]) == ("static", "skywhale")


async def test_a_command_table_wins_over_defaults(site: FixtureSite, tmp_path: Path) -> None:
    env = settings(tmp_path, "[defaults]\njson = true\n[resolve]\njson = false\n")
    run = await sora("resolve", share_url(site, "og_video"), "--allow-host", "127.0.0.1", env=env)
    assert run.code == 0, run.err
    assert run.out.startswith(site.url + "/az/files/")  # a bare URL, not JSON


async def test_command_line_then_environment_then_file(
    pywb_archive: PywbArchive, archive_scenario: Scenario, tmp_path: Path
) -> None:
    # The file names a dead archive; the session's environment names the live pywb.
    link = archive_scenario.case("psh_only").share_url
    env = settings(tmp_path, f'[resolve]\nmode = "archive"\nwayback = "{DEAD}"\n')
    env_wins = await sora("resolve", link, env=env)
    assert env_wins.code == 0, env_wins.err
    assert env_wins.out.startswith(pywb_archive.prefix)

    file_only = await sora("resolve", link, env={**env, "SORA_BROWSER_WAYBACK": ""})
    assert file_only.code == 4  # the file's dead archive, now that nothing overrides it
    assert "127.0.0.1:1" in file_only.err

    line_wins = await sora("resolve", link, "--wayback", DEAD, env=env)
    assert line_wins.code == 4


async def test_config_file_and_ignore_config(site: FixtureSite, tmp_path: Path) -> None:
    url = share_url(site, "og_video")
    broken = settings(tmp_path, "[resolve]\nmode = 'fast'\n")
    chosen = tmp_path / "mine.toml"
    chosen.write_text('[resolve]\nallow-host = ["127.0.0.1"]\njson = true\n')

    explicit = await sora("--config", str(chosen), "resolve", url, env=broken)
    assert explicit.code == 0, explicit.err
    assert json.loads(explicit.out)["resolver"] == "static"
    ignored = await sora("--ignore-config", "resolve", url, "--allow-host", "127.0.0.1", env=broken)
    assert ignored.code == 0, ignored.err


@pytest.mark.parametrize(
    ("text", "line", "said"),
    [
        ("[batch]\njobs = 3\njobz = 4\n", 3, '[batch] unknown option "jobz"'),
        (
            "# mine\n[batch]\njobs = 'many'\n",
            3,
            "[batch] jobs = 'many': Invalid value for '--jobs'",
        ),
        ("[dowload]\nmode = 'static'\n", 1, "[dowload] is not a command"),
        ("[defaults]\n\nmode = 'fast'\n", 3, "[defaults] mode = 'fast'"),
        ("[defaults]\nframes = 3\n", 2, '[defaults] no command has an option "--frames"'),
        ("[wayback.list]\njson = true\ncheck = true\n", 3, '[wayback.list] unknown option "check"'),
        ("[download]\nlimit-rate = 'fast'\n", 2, "is not a rate like 500K"),
        ("[defaults\nmode = 'x'\n", 1, "not valid TOML"),
        ("# mine\nmode = 'static'\n", 2, "mode is outside any table"),
    ],
    ids=[
        *("key", "value", "table", "defaults-value", "defaults-key", "group", "callback"),
        *("toml", "top-level"),
    ],
)
async def test_a_bad_setting_is_exit_2_naming_file_and_line(
    tmp_path: Path, text: str, line: int, said: str
) -> None:
    env = settings(tmp_path, text)
    run = await sora("resolve", "https://sora.chatgpt.com/p/s_1", env=env)
    assert run.code == 2
    path = tmp_path / "config" / "sora-browser" / "config.toml"
    if said == "not valid TOML":  # tomllib's own message carries the line
        assert f"{path}: not valid TOML" in run.err
        assert f"(at line {line}," in run.err
    else:
        assert run.err.startswith(f"Error: {path}:{line}: "), run.err
        assert said in run.err
    assert len(run.err.strip().splitlines()) == 1, run.err


async def test_a_missing_config_file_is_exit_2(tmp_path: Path) -> None:
    run = await sora("--config", str(tmp_path / "none.toml"), "resolve", "x")
    assert (run.code, run.err.strip()) == (
        2,
        f"Error: config file {tmp_path / 'none.toml'} not found",
    )


async def test_help_never_reads_the_file(tmp_path: Path) -> None:
    env = settings(tmp_path, "this is not TOML")
    run = await sora("--help", env=env)
    assert run.code == 0
    assert "--config FILE" in run.out


# -- shell completion (click's own) ---------------------------------------------------------


@pytest.mark.parametrize(
    ("shell", "mark"),
    [("bash", "complete -o nosort -F"), ("zsh", "#compdef sora-browser"), ("fish", "complete")],
)
async def test_completion_script_is_produced(shell: str, mark: str) -> None:
    run = await sora(env={"_SORA_BROWSER_COMPLETE": f"{shell}_source"})
    assert run.code == 0, run.err
    assert mark in run.out
    assert "_SORA_BROWSER_COMPLETE" in run.out


async def test_completion_offers_commands_and_choices() -> None:
    def asking(words: str) -> dict[str, str]:
        return {
            "_SORA_BROWSER_COMPLETE": "bash_complete",
            "COMP_WORDS": words,
            "COMP_CWORD": str(len(words.split(" ")) - 1),
        }

    commands = await sora(env=asking("sora-browser dow"))
    assert commands.out.split() == ["plain,download"]
    modes = await sora(env=asking("sora-browser download --mode "))
    assert {m.split(",")[1] for m in modes.out.split()} == {"auto", "static", "browser", "archive"}
