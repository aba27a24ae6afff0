"""A video streamed out of a local ``.warc.gz``, beside ``warcio extract`` of the same record.

    .venv/bin/python benchmarks/bench_warc.py [--runs 3] [--sizes 256,1024]

For each size a WARC is written (with warcio, gzip: one member per record) holding a Sora 2
share page and its video as one ``200`` record, bodies made on demand
(``testing.big_archive``). Then, interleaved, median of ``--runs``:

- ours: the whole ``sora-browser download LINK OUT --warc FILE`` command (find the page in the
  WARC's index, parse it, stream the video's record into the ``.part``, sha256, fsync, rename);
  the index is built once before the timed runs (its time is printed on its own);
- ``warcio extract --payload FILE OFFSET > OUT`` (decoding the same record, no checks) followed
  by ``sync -d`` (the same durability as our fsync).

Wall time, and peak RSS from GNU time. Nothing leaves the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sora_browser.archive.warc import WarcArchive
from sora_browser.testing.big_archive import body_range, sha256_of
from sora_browser.testing.captures import media_capture, page_capture, write_warc
from sora_browser.testing.media import FakeVideo
from sora_browser.testing.pywb import loopback_only_env
from sora_browser.testing.sora_html import hex_id, post_json, post_page, sas_url, source_path

MiB = 1024 * 1024
BIN = Path(sys.executable).parent
VISIT = "20251105120000"


def make_warc(folder: Path, size_mib: int) -> tuple[Path, str, str]:
    """A WARC holding one post and its video: (file, share link, video sha256)."""
    name = f"bench_warc_{size_mib}"
    video = FakeVideo(name, size_mib * MiB + 7)
    share = f"https://sora.chatgpt.com/p/s_{hex_id(name)}"
    media = sas_url(source_path(video), signed=VISIT)
    data = post_json(share.rsplit("/", 1)[1], username="bench", prompt=name,
                     encodings={"source": media})  # fmt: skip
    body = body_range(name, video.size, 0, video.size)
    captures = [
        page_capture(share, VISIT, post_page(data, og_video=media)),
        media_capture(media, VISIT[:12] + "09", body),
    ]
    warc = write_warc(folder / f"{name}.warc.gz", captures)
    return warc, share, sha256_of(name, video.size)


def run_child(argv: list[str], *, stdout: Path | None = None) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one child, measured by GNU time."""
    started = time.monotonic()
    with (stdout or Path("/dev/null")).open("wb") as out:
        done = subprocess.run(
            ["/usr/bin/time", "-f", "%M", *argv],
            stdout=out,
            stderr=subprocess.PIPE,
            env=loopback_only_env(),
            check=False,
        )
    elapsed = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"{argv[0]} failed: {done.stderr.decode()[-500:]}")
    return elapsed, int(done.stderr.decode().strip().splitlines()[-1]) / 1024


def ours(warc: Path, share: str, out: Path) -> tuple[float, float]:
    argv = [str(BIN / "sora-browser"), "download", share, str(out), "--warc", str(warc), "-q"]
    return run_child(argv)


def warcio_extract(warc: Path, offset: int, out: Path) -> tuple[float, float]:
    extract = [str(BIN / "warcio"), "extract", "--payload", str(warc), str(offset)]
    wall, peak = run_child(extract, stdout=out)
    started = time.monotonic()
    subprocess.run(["sync", "-d", str(out)], check=True)
    return wall + time.monotonic() - started, peak


async def media_offset(warc: Path) -> tuple[int, float]:
    """The video record's offset, and how long building the index took."""
    started = time.monotonic()
    records = await WarcArchive([warc]).records()
    built = time.monotonic() - started
    video = next(r for r in records if r.mimetype.startswith("video/"))
    return int(video.offset or 0), built


def bench(size_mib: int, work: Path, runs: int) -> None:
    warc, share, digest = make_warc(work, size_mib)
    offset, built = asyncio.run(media_offset(warc))
    mine, theirs = [], []
    for _ in range(runs):
        out = work / "ours.mp4"
        mine.append(ours(warc, share, out))
        if _sha256(out) != digest:
            raise SystemExit("sha256 mismatch")
        out.unlink()
        theirs.append(warcio_extract(warc, offset, work / "warcio.mp4"))
        (work / "warcio.mp4").unlink()
    wall_m, wall_t = (statistics.median(w for w, _ in r) for r in (mine, theirs))
    peak_m, peak_t = (max(p for _, p in r) for r in (mine, theirs))
    print(
        f"{size_mib:>5} MiB  ours {wall_m:6.2f} s {size_mib / wall_m:6.1f} MiB/s {peak_m:6.1f} MiB"
        f" | warcio extract+sync {wall_t:6.2f} s {peak_t:6.1f} MiB | ours/warcio"
        f" {wall_m / wall_t:.2f} | index built once in {built:.2f} s",
        flush=True,
    )
    warc.unlink()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as data:
        while chunk := data.read(4 * MiB):
            digest.update(chunk)
    return digest.hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sizes", default="256,1024", help="MiB, comma-separated")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench_warc_"))
    try:
        for size in (int(s) for s in args.sizes.split(",")):
            bench(size, work, args.runs)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
