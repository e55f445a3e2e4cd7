"""Registry credentials from a pod's imagePullSecrets, matched to an image as the kubelet's
credential keyring matches them.

Secrets of type ``kubernetes.io/dockerconfigjson`` (``.dockerconfigjson``: ``{"auths":
{...}}``) and ``kubernetes.io/dockercfg`` (``.dockercfg``: the entries alone) are read;
each entry's key is a registry, optionally with a path (``https://index.docker.io/v1/``,
``registry:5000``, ``registry/team``). An entry matches an image when its host (and port)
is the image's registry and its path is a prefix of the image's repository; the most
specific entries come first. ``docker.io`` and ``index.docker.io`` are the same registry.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import orjson

from pilothouse.runtime.interface import AuthConfig

DOCKER_HUB = "docker.io"
DOCKER_HUB_ALIASES = {"index.docker.io", "registry-1.docker.io", "docker.io"}


def split_image(reference: str) -> tuple[str, str]:
    """The registry host and the repository path of an image reference."""
    name = reference.split("@", 1)[0]
    first, slash, rest = name.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        registry, path = first, rest
    else:
        registry, path = DOCKER_HUB, name if "/" in name else f"library/{name}"
    last_slash = path.rfind("/")
    colon = path.rfind(":")
    if colon > last_slash:
        path = path[:colon]
    return registry, path


def credentials_for(image: str, secrets: list[dict[str, Any]]) -> list[AuthConfig]:
    """The credentials to try for ``image``, most specific first."""
    registry, path = split_image(image)
    matches: list[tuple[int, AuthConfig]] = []
    for secret in secrets:
        for key, entry in _entries(secret).items():
            host, key_path = _normalized_key(key)
            if _same_registry(host, registry) and _path_matches(key_path, path):
                matches.append((len(key_path), _auth(entry, key)))
    matches.sort(key=lambda m: m[0], reverse=True)
    return [auth for _, auth in matches]


def _entries(secret: dict[str, Any]) -> dict[str, Any]:
    data = secret.get("data") or {}
    try:
        if ".dockerconfigjson" in data:
            return orjson.loads(base64.b64decode(data[".dockerconfigjson"])).get("auths") or {}
        if ".dockercfg" in data:
            return orjson.loads(base64.b64decode(data[".dockercfg"])) or {}
    except (binascii.Error, orjson.JSONDecodeError, AttributeError):
        return {}
    return {}


def _normalized_key(key: str) -> tuple[str, str]:
    text = key.lower()
    for scheme in ("https://", "http://"):
        text = text.removeprefix(scheme)
    text = text.rstrip("/")
    for suffix in ("/v1", "/v2"):
        text = text.removesuffix(suffix)
    host, _, path = text.partition("/")
    return host, path


def _same_registry(key_host: str, registry: str) -> bool:
    if key_host in DOCKER_HUB_ALIASES:
        return registry in DOCKER_HUB_ALIASES
    return key_host == registry.lower()


def _path_matches(key_path: str, path: str) -> bool:
    return not key_path or path == key_path or path.startswith(key_path + "/")


def _auth(entry: dict[str, Any], key: str) -> AuthConfig:
    username, password = entry.get("username", ""), entry.get("password", "")
    if entry.get("auth") and not username:
        try:
            username, _, password = base64.b64decode(entry["auth"]).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            username = password = ""
    return AuthConfig(
        username=username,
        password=password,
        server_address=key,
        identity_token=entry.get("identitytoken", ""),
        registry_token=entry.get("registrytoken", ""),
    )
