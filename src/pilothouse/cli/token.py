"""Join tokens: ``pilothouse token create``, and the server's own token in DATA_DIR/token.

A join token is ``K10<sha256 of the CA bundle>::<id>.<secret>`` (k3s' format, see
:mod:`pilothouse.kubelet.bootstrap`); the ``<id>.<secret>`` part is a Kubernetes bootstrap
token, kept as the Secret ``kube-system/bootstrap-token-<id>`` the API server checks. The
server's token never expires and is re-created at every start if its Secret went missing (a
store wiped, an in-memory store); tokens made with ``token create`` expire after their TTL.
List or revoke them with ``kubectl -n kube-system get|delete secret bootstrap-token-<id>``.
"""

from __future__ import annotations

import asyncio
import datetime
import re
from pathlib import Path
from typing import Any

import click

from pilothouse import pki
from pilothouse.api import errors
from pilothouse.cli.server import data_dir_option
from pilothouse.client import APIClient, ClientConfig
from pilothouse.kubelet.bootstrap import JoinToken, ca_bundle_hash

BOOTSTRAP_TOKEN_TYPE = "bootstrap.kubernetes.io/token"
AUTH_EXTRA_GROUPS = "system:bootstrappers:pilothouse:default-node-token"
SERVER_TOKEN_DESCRIPTION = "the server's join token (DATA_DIR/token)"
_DURATION_RE = re.compile(r"(\d+(?:\.\d*)?)(h|ms|m|s)")
_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


def bootstrap_token_secret(
    token: JoinToken, *, description: str, expires: datetime.datetime | None
) -> dict[str, Any]:
    data = {
        "token-id": token.token_id,
        "token-secret": token.secret,
        "usage-bootstrap-authentication": "true",
        "auth-extra-groups": AUTH_EXTRA_GROUPS,
        "description": description,
    }
    if expires is not None:
        data["expiration"] = expires.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": f"bootstrap-token-{token.token_id}", "namespace": "kube-system"},
        "type": BOOTSTRAP_TOKEN_TYPE,
        "stringData": data,
    }


async def create_join_token(
    client: APIClient, *, ca_bundle: bytes, ttl: datetime.timedelta | None, description: str
) -> JoinToken:
    token = JoinToken.generate(ca_bundle)
    expires = datetime.datetime.now(datetime.UTC) + ttl if ttl else None
    await client["secrets"].create(
        bootstrap_token_secret(token, description=description, expires=expires)
    )
    return token


async def ensure_server_token(client: APIClient, *, data_dir: Path, ca_bundle: bytes) -> JoinToken:
    """The server's join token: read from DATA_DIR/token (made at first start), its hash
    kept in step with the CA, and its Secret present."""
    path = data_dir / "token"
    if path.exists():
        kept = JoinToken.parse(path.read_text())
        token = JoinToken(ca_bundle_hash(ca_bundle), kept.token_id, kept.secret)
    else:
        token = JoinToken.generate(ca_bundle)
    # The file first: a crash before the Secret exists is repaired by the next start.
    if not path.exists() or path.read_text().strip() != str(token):
        pki.write_file(path, f"{token}\n".encode(), mode=0o600)
    try:
        await client["secrets"].create(
            bootstrap_token_secret(token, description=SERVER_TOKEN_DESCRIPTION, expires=None)
        )
    except errors.AlreadyExists:
        pass
    return token


def parse_duration(text: str) -> datetime.timedelta | None:
    """A Go duration ("24h", "1h30m", "90s"); "0" means never (None), as kubeadm's --ttl."""
    text = text.strip()
    if text in ("0", "0s"):
        return None
    position, seconds = 0, 0.0
    for match in _DURATION_RE.finditer(text):
        if match.start() != position:
            break
        seconds += float(match.group(1)) * _SECONDS[match.group(2)]
        position = match.end()
    if not text or position != len(text):
        raise ValueError(f'invalid duration "{text}" (examples: 24h, 1h30m, 0 for no expiry)')
    return datetime.timedelta(seconds=seconds)


class DurationType(click.ParamType):
    name = "duration"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> datetime.timedelta | None:
        if value is None or isinstance(value, datetime.timedelta):
            return value
        try:
            return parse_duration(str(value))
        except ValueError as e:
            self.fail(str(e), param, ctx)


@click.group()
def token() -> None:
    """Join tokens for agents (pilothouse agent --token)."""


@token.command()
@data_dir_option
@click.option("--ttl", type=DurationType(), default="24h", show_default=True,
              help="How long the token stays valid (0: never expires).")
@click.option("--description", default="made by pilothouse token create", show_default=True)
def create(data_dir: Path, ttl: datetime.timedelta | None, description: str) -> None:
    """Make a new join token on a running server and print it."""
    kubeconfig = data_dir / "admin.kubeconfig"
    ca_file = data_dir / "tls" / "ca.crt"
    if not kubeconfig.exists() or not ca_file.exists():
        raise click.ClickException(f"no server credentials in {data_dir}: start the server first")

    async def make() -> JoinToken:
        config = ClientConfig.from_kubeconfig(kubeconfig, user_agent="pilothouse-token")
        async with APIClient(config) as client:
            return await create_join_token(
                client, ca_bundle=ca_file.read_bytes(), ttl=ttl, description=description
            )

    try:
        click.echo(str(asyncio.run(make())))
    except (errors.StatusError, OSError) as e:
        raise click.ClickException(f"cannot create the token: {e}") from None
