"""Share-link validation and the URL policy (README, "Policy").

Share links: http(s), hosts ``sora.chatgpt.com`` / ``sora.com`` (and ``www.``) plus hosts the
caller allows, paths ``/p/``, ``/g/``, ``/d/``, ``/t/`` or ``/share/`` followed by an opaque id.
Media URLs: http(s) only, and never a loopback, private, link-local or otherwise non-public
address unless the host is explicitly allowed.

Checking a good link must stay cheap: a browser-only run checks the link before it launches
Chromium, and everything imported before the launch delays it. So the error classes (and
aiohttp with them, ~0.2 s) are imported only on the way to raising one.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, unquote, urlsplit, urlunsplit

if TYPE_CHECKING:
    from .errors import InvalidShareURL, PolicyRefused

SHARE_HOSTS = frozenset({"sora.chatgpt.com", "sora.com"})
VIDEO_HOSTS = frozenset({"videos.openai.com"})
"""Sora's video CDN: where share pages point, never a share page itself."""
SHARE_KINDS = ("p", "g", "d", "t", "share")
# Ids are opaque tokens; this only keeps out path tricks and empty ids.
_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
_SCHEMELESS_RE = re.compile(r"^(?:www\.)?[a-z0-9.-]+\.[a-z]{2,}(?::\d+)?/", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class ShareLink:
    url: str
    """Normalised: https for the public hosts, no fragment, no trailing slash."""
    host: str
    kind: str
    """``p``, ``g``, ``d``, ``t`` or ``share``; ``media`` for a CDN link (only an archive can
    resolve those: the signature has long expired, but the archive may hold the file)."""
    share_id: str

    @property
    def canonical(self) -> str:
        """The link as Sora itself wrote it: https, no ``www.``, no query (``psh`` is not
        needed to name a post); a link on another host is left as it is."""
        bare = self.host.removeprefix("www.")
        if bare not in SHARE_HOSTS:
            return self.url
        return f"https://{bare}/{self.kind}/{self.share_id}"


@dataclass(frozen=True, slots=True)
class UrlPolicy:
    """Which hosts and addresses may be contacted."""

    allow_hosts: frozenset[str] = field(default_factory=frozenset)

    def host_allowed(self, host: str) -> bool:
        host = host.lower().rstrip(".").strip("[]")
        return host in self.allow_hosts

    def check_share_host(self, host: str) -> None:
        bare = host[4:] if host.startswith("www.") else host
        if bare in VIDEO_HOSTS and not self.host_allowed(host):
            raise _refused(
                f"{host} serves the video file itself, not a share page: pass the share link"
                " (https://sora.chatgpt.com/p/s_...) so the tool can find the best file and"
                " refresh its signed URL"
            )
        if bare not in SHARE_HOSTS and not self.host_allowed(host):
            raise _refused(
                f"Not a Sora share link host: {host} (expected sora.chatgpt.com or sora.com;"
                " use --allow-host to add one)"
            )

    def check_url(self, url: str, *, what: str = "media URL") -> None:
        """Refuse a URL by scheme, or by a literal address that is not public."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise _refused(f"Refused {what} with scheme {parts.scheme or 'none'!r}: {url}")
        host = (parts.hostname or "").lower()
        if not host:
            raise _refused(f"Refused {what} without a host: {url}")
        if self.host_allowed(host):
            return
        if host == "localhost" or host.endswith(".localhost"):
            raise _refused(f"Refused {what} on a loopback host: {url}")
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return  # a name: its addresses are checked when it is resolved
        if not is_public_address(address):
            raise _refused(f"Refused {what} on a non-public address {host}: {url}")

    def check_address(self, host: str, address: str) -> None:
        """Refuse a resolved address that is not public, unless ``host`` is allowed."""
        if self.host_allowed(host) or self.host_allowed(address):
            return
        if not is_public_address(ipaddress.ip_address(address.split("%", 1)[0])):
            raise _refused(f"Refused {host}: it resolves to non-public address {address}")


def is_public_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def parse_share_url(
    raw: str, *, policy: UrlPolicy | None = None, accept_media: bool = False
) -> ShareLink:
    """Validate and normalise a share link, or raise ``InvalidShareURL``/``PolicyRefused``.

    With ``accept_media`` a pasted Sora CDN URL (``videos.openai.com/...``) is a link too, of
    kind ``media``, named after the asset in its path.
    """
    policy = policy or UrlPolicy()
    text = raw.strip()
    if not text:
        raise _invalid("Empty share URL")
    if "://" not in text and _SCHEMELESS_RE.match(text):
        text = "https://" + text
    parts = urlsplit(text)
    if parts.scheme.lower() not in ("http", "https"):
        raise _invalid(f"Not a Sora share link (need http or https): {raw}")
    host = (parts.hostname or "").lower().rstrip(".")
    if not host:
        raise _invalid(f"Not a Sora share link (no host): {raw}")
    if accept_media and host.removeprefix("www.") in VIDEO_HOSTS:
        return _media_link(parts.path, parts.query, host, raw)
    policy.check_share_host(host)
    kind, share_id = _split_share_path(parts.path, raw)
    public = host.removeprefix("www.") in SHARE_HOSTS and not policy.host_allowed(host)
    scheme = "https" if public else parts.scheme.lower()
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    query = _keep_query(parts.query)
    url = urlunsplit((scheme, netloc, f"/{kind}/{share_id}", query, ""))
    return ShareLink(url=url, host=host, kind=kind, share_id=share_id)


def _split_share_path(path: str, raw: str) -> tuple[str, str]:
    segments = [s for s in unquote(path).split("/") if s]
    if len(segments) != 2 or segments[0] not in SHARE_KINDS:
        raise _invalid(
            f"Unsupported Sora URL (expected /p/, /g/, /d/, /t/ or /share/ and an id): {raw}"
        )
    kind, share_id = segments
    if not _ID_RE.match(share_id):
        raise _invalid(f"Malformed share id {share_id!r} in {raw}")
    return kind, share_id


# Sora 2 ``/az/files/<uuid>%2Fraw`` (or ``<15 hex>_<uuid>%2Fdrvs%2F...``) and Sora 1
# ``/vg-assets/assets%2Ftask_<id>%2Fvideos%2F...``: the asset's own token names the file.
_ASSET_ID = re.compile(r"/(?:files/(?:[0-9a-f]{15}_)?([0-9a-fA-F-]{36})|assets/(task_\w+))/")


def _media_link(path: str, query: str, host: str, raw: str) -> ShareLink:
    match = _ASSET_ID.search(unquote(path) + "/")
    if match is None:
        raise _invalid(f"Not a Sora video URL (no asset id in its path): {raw}")
    url = urlunsplit(("https", host, path, query, ""))  # the path as given: %2F stays
    return ShareLink(url=url, host=host, kind="media", share_id=match[1] or match[2])


def _keep_query(query: str) -> str:
    # `psh` is the Sora 2 share token: keep it, it may be what makes the post visible.
    # Tracking parameters (utm_*, ...) are dropped so the same link normalises the same way.
    kept = [p for p in query.split("&") if p.split("=", 1)[0] == "psh"]
    return "&".join(kept)


# A Wayback replay (``<prefix>/<timestamp>id_/<original URL>``) carries the original's query,
# signature and all, as its own; that signature no longer decides anything.
_REPLAY_PATH = re.compile(r"/\d{4,14}(?:[a-z]{2}_)?/https?://")


def signed_url_expiry(url: str) -> datetime | None:
    """The Azure SAS ``se`` expiry of a signed CDN URL, if it has one (an archive's replay of
    one has none: it does not expire)."""
    parts = urlsplit(url)
    if _REPLAY_PATH.search(parts.path):
        return None
    values = parse_qs(parts.query).get("se")
    if not values:
        return None
    text = values[0].strip()
    if text.isdigit():
        return datetime.fromtimestamp(int(text), tz=UTC)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def is_expired(url: str, *, now: datetime | None = None, margin_seconds: float = 0.0) -> bool:
    expiry = signed_url_expiry(url)
    if expiry is None:
        return False
    current = now or datetime.now(tz=UTC)
    return (expiry - current).total_seconds() <= margin_seconds


def _invalid(message: str) -> InvalidShareURL:
    from .errors import InvalidShareURL

    return InvalidShareURL(message)


def _refused(message: str) -> PolicyRefused:
    from .errors import PolicyRefused

    return PolicyRefused(message)
