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
from urllib.parse import SplitResult, parse_qs, unquote, urlsplit, urlunsplit

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
    """Which hosts and addresses may be contacted.

    Every host is compared in its canonical form (``canonical_host``): ``0x7f000002``,
    ``2130706434``, ``0177.0.0.2`` and ``127.0.0.2`` are one address, refused once, with one
    message naming it the same way.
    """

    allow_hosts: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "allow_hosts", frozenset(map(_canonical_or_same, self.allow_hosts))
        )

    def host_allowed(self, host: str) -> bool:
        return _canonical_or_same(host) in self.allow_hosts

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
        """Refuse a URL by scheme, or by a literal address that is not public (any spelling)."""
        parts = _split(url, what)
        if parts.scheme not in ("http", "https"):
            raise _refused(f"Refused {what} with scheme {parts.scheme or 'none'!r}: {url}")
        if "\\" in parts.netloc:
            # Browsers read "\\" as "/" and so see another host than urlsplit does.
            raise _refused(f"Refused {what} with a backslash in its host: {url}")
        raw = parts.hostname or ""
        if not raw:
            raise _refused(f"Refused {what} without a host: {url}")
        try:
            host = canonical_host(raw)
        except ValueError as exc:
            raise _refused(f"Refused {what}: {exc}: {url}") from None
        if host in self.allow_hosts:
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


def _split(url: str, what: str) -> SplitResult:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises for a port out of range, like the browser would
    except ValueError as exc:
        raise _refused(f"Refused malformed {what} ({exc}): {url}") from None
    return parts


def is_public_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Global unicast, and so is any IPv4 address embedded in an IPv6 one."""
    if not address.is_global or address.is_multicast:
        return False
    if isinstance(address, ipaddress.IPv6Address):
        return all(is_public_address(inner) for inner in _embedded_ipv4(address))
    return True


def _embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    # IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d), NAT64 (64:ff9b::/96), 6to4
    # and Teredo all carry an IPv4 address that some stack may end up connecting to.
    found = [a for a in (address.ipv4_mapped, address.sixtofour) if a is not None]
    if address.teredo is not None:
        found.append(address.teredo[1])
    if address in _IPV4_COMPATIBLE or address in _NAT64:
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return found


_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def canonical_host(host: str) -> str:
    """The host as a browser connects to it, in one spelling (WHATWG URL, "host parsing").

    Lower case, percent-decoded, IDNA-mapped (full-width digits and dots become ASCII), no
    trailing dot; an IPv6 literal without brackets, compressed (IPv4-mapped ones as the IPv4
    address they map); an IPv4 address in any form a
    browser or ``inet_aton`` accepts (``0x7f000001``, ``2130706433``, ``0177.1``, ``127.1``)
    as dotted decimal. ``ValueError`` for a host that ends in a number but is no address,
    which no browser would connect to.
    """
    text = host.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    if ":" in text:
        address = ipaddress.IPv6Address(unquote(text).split("%", 1)[0])
        return str(address.ipv4_mapped or address)  # ::ffff:a.b.c.d is a.b.c.d
    text = _ascii_host(unquote(text)).lower().rstrip(".")
    if _ends_in_number(text):
        return str(ipaddress.IPv4Address(_ipv4_number(text)))
    return text


def _ascii_host(text: str) -> str:
    if text.isascii():
        return text
    try:
        return text.encode("idna").decode("ascii")
    except UnicodeError:
        return text  # no browser would resolve it either; it stays a (failing) name


_NUMBER = re.compile(r"^(?:0[xX][0-9a-fA-F]*|[0-9]+)$")


def _ends_in_number(host: str) -> bool:
    return _NUMBER.match(host.rsplit(".", 1)[-1]) is not None


def _ipv4_number(host: str) -> int:
    parts = host.split(".")
    if len(parts) > 4:
        raise ValueError(f"{host!r} ends in a number but is no IPv4 address")
    numbers = [_ipv4_part(part, host) for part in parts]
    if any(n > 255 for n in numbers[:-1]) or numbers[-1] >= 256 ** (5 - len(numbers)):
        raise ValueError(f"{host!r} is out of the IPv4 range")
    value = numbers[-1]
    for index, number in enumerate(numbers[:-1]):
        value += number << (8 * (3 - index))
    return value


def _ipv4_part(part: str, host: str) -> int:
    try:
        if part[:2] in ("0x", "0X"):
            return int(part[2:] or "0", 16)
        if len(part) > 1 and part.startswith("0"):
            return int(part[1:], 8)
        return int(part, 10)
    except ValueError:
        raise ValueError(f"{host!r} ends in a number but is no IPv4 address") from None


def _canonical_or_same(host: str) -> str:
    try:
        return canonical_host(host)
    except ValueError:
        return host.strip().lower()


def allowed_host(text: str) -> str:
    """An ``--allow-host`` value in canonical form; ``ValueError`` naming the fix when it is a
    URL or carries a port (a policy on hosts cannot use either, and ignoring them would
    silently allow nothing)."""
    raw = text.strip()
    if "://" in raw or "/" in raw:
        host = urlsplit(raw if "://" in raw else f"//{raw}").hostname or "HOST"
        raise ValueError(f"{text!r} is a URL, not a host: allow the host alone ({host})")
    host, port = _host_and_port(raw)
    if port:
        raise ValueError(
            f"{text!r} has a port: allow the host alone ({host}); every port of an allowed"
            " host is allowed"
        )
    if not host:
        raise ValueError(f"{text!r} is not a host name or address")
    return canonical_host(host)


def _host_and_port(raw: str) -> tuple[str, str]:
    if raw.startswith("["):
        inside, _, rest = raw[1:].partition("]")
        return inside, rest.removeprefix(":")
    if raw.count(":") == 1:
        host, _, port = raw.partition(":")
        return host, port
    return raw, ""  # a name, an IPv4 address, or a bare IPv6 literal


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
    try:
        parts = urlsplit(text)
        port = parts.port
        host = canonical_host(parts.hostname or "")
    except ValueError as exc:
        raise _invalid(f"Not a Sora share link ({exc}): {raw}") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise _invalid(f"Not a Sora share link (need http or https): {raw}")
    if not host:
        raise _invalid(f"Not a Sora share link (no host): {raw}")
    if accept_media and host.removeprefix("www.") in VIDEO_HOSTS:
        return _media_link(parts.path, parts.query, host, raw)
    policy.check_share_host(host)
    kind, share_id = _split_share_path(parts.path, raw)
    public = host.removeprefix("www.") in SHARE_HOSTS and not policy.host_allowed(host)
    scheme = "https" if public else parts.scheme.lower()
    named = f"[{host}]" if ":" in host else host  # an IPv6 literal keeps its brackets
    netloc = named if port is None else f"{named}:{port}"
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
    one has none: it does not expire; ``None`` too for a URL or a date that does not parse: a
    page wrote it, so anything may be there)."""
    try:
        parts = urlsplit(url)
        values = parse_qs(parts.query).get("se")
    except ValueError:
        return None
    if _REPLAY_PATH.search(parts.path):
        return None
    if not values:
        return None
    text = values[0].strip()
    try:
        if text.isdigit():
            return datetime.fromtimestamp(int(text), tz=UTC)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError):
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


def proxy_for(url: str, proxy: str | None, no_proxy: frozenset[str]) -> str | None:
    """The proxy to reach ``url`` through: ``proxy``, unless ``no_proxy`` names its host.

    ``no_proxy`` reads as curl reads ``NO_PROXY``: ``*`` for every host, a name for itself and
    its subdomains (a leading dot changes nothing), an address, or a network (``10.0.0.0/8``).
    """
    if not proxy:
        return None
    try:
        host = canonical_host(urlsplit(url).hostname or "")
    except ValueError:
        return proxy  # no browser would connect anyway; the policy refuses it first
    return None if any(_bypasses(entry, host) for entry in no_proxy) else proxy


def _bypasses(entry: str, host: str) -> bool:
    entry = entry.strip().lower().lstrip(".")
    if entry == "*":
        return True
    if "/" in entry:
        try:
            return ipaddress.ip_address(host) in ipaddress.ip_network(entry, strict=False)
        except ValueError:
            return False
    name, _ = _host_and_port(entry)
    name = _canonical_or_same(name)
    return bool(name) and (host == name or host.endswith("." + name))
