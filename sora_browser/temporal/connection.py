"""Connecting to a Temporal cluster: a local dev server, a self-hosted one (mTLS), or Cloud.

Kept apart from ``worker.py`` so a client (``sora-browser submit``) connects without importing
the activities and everything they import.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from temporalio.client import Client
from temporalio.service import TLSConfig

from ..errors import SoraBrowserError
from .data import DEFAULT_ADDRESS, DEFAULT_NAMESPACE


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectOptions:
    """Where the cluster is and how to prove who we are (TLS/mTLS or an API key)."""

    address: str = DEFAULT_ADDRESS
    namespace: str = DEFAULT_NAMESPACE
    tls: bool = False
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_ca: Path | None = None
    api_key: str | None = None
    identity: str | None = None

    def tls_config(self) -> TLSConfig | bool:
        if self.tls_cert is None and self.tls_ca is None:
            # Temporal Cloud with an API key needs TLS, so turn it on for the user.
            return self.tls or self.api_key is not None
        return TLSConfig(
            server_root_ca_cert=self.tls_ca.read_bytes() if self.tls_ca else None,
            client_cert=self.tls_cert.read_bytes() if self.tls_cert else None,
            client_private_key=self.tls_key.read_bytes() if self.tls_key else None,
        )


class TemporalUnreachable(SoraBrowserError, ConnectionError):
    """No Temporal frontend answered at the address (refused, unknown name, TLS mismatch)."""


async def connect(options: ConnectOptions) -> Client:
    try:
        return await Client.connect(
            options.address,
            namespace=options.namespace,
            tls=options.tls_config(),
            api_key=options.api_key,
            identity=options.identity,
        )
    except RuntimeError as exc:  # the SDK's "Failed client connect: ..." with a Rust error dump
        raise TemporalUnreachable(
            f"Cannot reach Temporal at {options.address} ({_reason(str(exc))}); start a local"
            " server with `sora-browser temporal-dev`, or point --address at yours"
        ) from exc


def _reason(detail: str) -> str:
    """The readable part of a connect error, e.g. ``Connection refused``."""
    found = re.search(r'(?:message|error): "([^"]+)"', detail)
    if found:
        return found[1]
    return detail.removeprefix("Failed client connect: ").splitlines()[0][:200]
