"""Issue: hostile input, item 8. ``batch`` reads link files as UTF-8 (with or without a byte
order mark); anything else is exit 2 with one line before anything starts; the archive file is
checked, its folder created, before the first link; an unexpected error in one link is
reported for that link, and the rest still run, with the summary.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from click.testing import CliRunner
from test_cli import ALLOW, GOOD_PAGE, SORA1_PAGE, assert_one_clean_line, sora

from sora_browser.cli import main
from sora_browser.cli.inputs import decode, is_link
from sora_browser.cli.options import Settings
from sora_browser.errors import BadInput
from sora_browser.testing.pages import share_url
from sora_browser.testing.site import FixtureSite


def _links_file(tmp_path: Path, site: FixtureSite, encoding: str, bom: bool = False) -> Path:
    text = f"# links\n{share_url(site, GOOD_PAGE)}\n"
    data = text.encode(encoding)
    path = tmp_path / "links.txt"
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return path


async def test_a_utf8_file_with_a_bom_is_read(site: FixtureSite, tmp_path: Path) -> None:
    links = _links_file(tmp_path, site, "utf-8", bom=True)
    run = await sora("batch", str(links), "-o", str(tmp_path / "v"), "--mode", "static", *ALLOW)
    assert run.code == 0, run.err
    assert "1 of 1 links done" in run.err


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("utf-16", "it is UTF-16 text; save it as UTF-8"),
        ("latin-1", "it is not UTF-8 text (byte"),
        ("folder", "Cannot read links from"),
        ("missing", "No such file of links"),
    ],
)
async def test_links_that_cannot_be_read_are_exit_2_before_anything_starts(
    site: FixtureSite, tmp_path: Path, content: str, says: str
) -> None:
    path = tmp_path / "links.txt"
    if content == "utf-16":
        path.write_text(f"{share_url(site, GOOD_PAGE)}\n", encoding="utf-16")
    elif content == "latin-1":
        path.write_bytes(f"# café\n{share_url(site, GOOD_PAGE)}\n".encode("latin-1"))
    elif content == "folder":
        path.mkdir()
    good = share_url(site, SORA1_PAGE)  # a good link beside it must not start either
    run = await sora("batch", good, str(path), "-o", str(tmp_path / "v"), *ALLOW)
    assert run.code == 2, run.err
    assert says in run.err
    assert str(path) in run.err
    assert_one_clean_line(run)
    assert site.stats.requests == []
    assert not (tmp_path / "v").exists()


def test_what_counts_as_a_link(tmp_path: Path) -> None:
    assert is_link("https://sora.chatgpt.com/p/s_1")
    assert is_link("sora.chatgpt.com/p/s_1")
    assert not is_link("links.txt")
    assert not is_link(str(tmp_path / "missing.txt"))
    assert decode(b"\xef\xbb\xbfa\r\nb", "x") == "a\r\nb"
    with pytest.raises(BadInput, match="UTF-16"):
        decode("a".encode("utf-16"), "x")


async def test_the_archive_folder_is_made_before_the_first_link(
    site: FixtureSite, tmp_path: Path
) -> None:
    archive = tmp_path / "new" / "folder" / "done.txt"
    links = [share_url(site, GOOD_PAGE), share_url(site, SORA1_PAGE)]
    run = await sora(
        "batch",
        *links,
        "-o",
        str(tmp_path / "v"),
        "--archive",
        str(archive),
        "--mode",
        "static",
        *ALLOW,
    )
    assert run.code == 0, run.err
    assert "2 of 2 links done, 0 failed" in run.err
    assert len(archive.read_text().splitlines()) == 2


@pytest.mark.parametrize("planted", ["symlink", "file-in-the-way"])
async def test_an_unusable_archive_is_exit_5_before_the_first_link(
    site: FixtureSite, tmp_path: Path, planted: str
) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n")
    if planted == "symlink":
        archive = tmp_path / "done.txt"
        archive.symlink_to(victim)
    else:
        archive = victim / "done.txt"  # a file where the archive's folder should be
    out = str(tmp_path / "v")
    run = await sora(
        "batch", share_url(site, GOOD_PAGE), "-o", out, "--archive", str(archive), *ALLOW
    )
    assert run.code == 5, run.err
    assert_one_clean_line(run)
    assert site.stats.requests == []
    assert victim.read_text() == "keep me\n"


class _Service:
    """A service where one link hits a bug: the batch must go on."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    async def __aenter__(self) -> _Service:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        return None

    async def extract(self, share_url: str, folder: Path, progress: Any = None) -> Any:
        if share_url.endswith("1" * 32):
            raise RuntimeError("a bug in this link's path")
        target = folder / (share_url.rsplit("/", 1)[1] + ".mp4")
        target.touch()
        download = SimpleNamespace(size=5, path=target)
        return SimpleNamespace(
            download=download, skipped=False, to_json=lambda: {"share_url": share_url}
        )


def test_an_unexpected_error_is_reported_for_its_link_and_the_rest_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Settings, "service", lambda self, *args, **kw: _Service(tmp_path))
    links = [f"https://sora.chatgpt.com/p/s_{digit * 32}" for digit in "123"]
    result = CliRunner().invoke(main, ["batch", *links, "-o", str(tmp_path)])
    assert result.exit_code == 1
    errors = result.stderr.splitlines()
    assert f"✗ {links[0]}: internal error (please report; -v shows details):" in errors[0]
    assert "2 of 3 links done, 1 failed" in errors[-1]
    assert sorted(os.listdir(tmp_path)) == [f"s_{d * 32}.mp4" for d in "23"]


async def test_links_come_from_any_text_and_are_counted(site: FixtureSite, tmp_path: Path) -> None:
    # Issue: keep what the page knew, "links from anywhere": a chat export mixing Markdown,
    # JSON (with escaped slashes) and CSV; other URLs are ignored and counted, repeats dropped.
    good, sora1 = share_url(site, GOOD_PAGE), share_url(site, SORA1_PAGE)
    export = tmp_path / "chat.md"
    export.write_text(
        f"## Sora finds\n- the koi: [watch]({good}) and again <{good}/>\n"
        f'{{"text": "{sora1.replace("/", chr(92) + "/")}", "avatar": "https://cdn.example/a.png"}}\n'
        f"id,url\n1,{good}?utm_source=chat\n"
        "# https://sora.chatgpt.com/p/s_commented_out_line_is_left_alone\n"
        "see https://example.com/article for more\n"
    )
    run = await sora("batch", str(export), "-o", str(tmp_path / "v"), *ALLOW)
    assert run.code == 0, run.err
    assert f"{export}: 2 link(s) (2 other URL(s) ignored, 2 repeat(s))" in run.err
    assert "2 of 2 links done" in run.err
    assert len(list((tmp_path / "v").iterdir())) == 2
