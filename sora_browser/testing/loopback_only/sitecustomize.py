"""Refuse every network destination but loopback, in any Python process started with this
folder on ``PYTHONPATH`` (Python imports ``sitecustomize`` at start-up).

Tests start pywb and CLI subprocesses this way: DESIGN.md lets tests reach loopback only, and
a library deep inside a subprocess (tldextract fetching the public suffix list, say) must not
be able to break that rule. The guard is an audit hook (PEP 578) rather than wrappers around
``socket.socket.connect``: the hooks fire inside CPython's ``_socket`` module, so they hold
even after gevent (which pywb's ``wayback`` loads first thing) swaps ``socket.socket`` and
``socket.getaddrinfo`` for its own, and nothing can remove them. A refused call raises
``OSError`` and writes one ``loopback_only: refused ...`` line to stderr, so a test can
also see that something tried.

Being first on ``sys.path`` it hides any system ``sitecustomize`` (Debian's only installs
apport's crash hook), which a test subprocess does not need.
"""

import ipaddress
import sys

_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})
_EVENTS = frozenset({"socket.connect", "socket.sendto", "socket.sendmsg"})


def _is_loopback(host: object) -> bool:
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if not isinstance(host, str):
        return False
    name = host.strip("[]").split("%", 1)[0].lower()
    if name in _NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _refuse(event: str, target: object) -> None:
    sys.stderr.write(f"loopback_only: refused {event} to {target!r}\n")
    raise OSError(f"loopback_only: {event} to {target!r} refused (tests stay on loopback)")


def _guard(event: str, args: tuple[object, ...]) -> None:
    if event in _EVENTS:
        address = args[1]
        # Unix-domain sockets (a str or bytes path) never leave the machine.
        if isinstance(address, tuple) and not _is_loopback(address[0]):
            _refuse(event, address)
    elif event == "socket.getaddrinfo":
        # host None (or "") is a passive lookup for binding: nothing is resolved remotely.
        if args[0] not in (None, "", b"") and not _is_loopback(args[0]):
            _refuse(event, args[0])
    elif event in ("socket.gethostbyname", "socket.gethostbyaddr") and not _is_loopback(args[0]):
        _refuse(event, args[0])


sys.addaudithook(_guard)
