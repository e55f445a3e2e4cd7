"""Image references, parsed and normalised exactly as Docker does.

``busybox`` means ``docker.io/library/busybox:latest``; ``localhost:5000/x`` keeps its
registry; ``name@sha256:...`` pins a digest. The grammar is the one of
``github.com/distribution/reference``: a name is an optional domain (a first component with a
``.`` or ``:``, or ``localhost``, or upper-case letters) and lower-case path components; a tag
is at most 128 word characters; a digest is ``algorithm:hex``. Anything else raises
:class:`InvalidReference` with the reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from .errors import InvalidReference

DEFAULT_DOMAIN = "docker.io"
LEGACY_DEFAULT_DOMAIN = "index.docker.io"
OFFICIAL_REPOSITORY_PREFIX = "library/"
DEFAULT_TAG = "latest"
NAME_TOTAL_LENGTH_MAX = 255

_ALPHANUMERIC = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = rf"{_ALPHANUMERIC}(?:{_SEPARATOR}{_ALPHANUMERIC})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_IPV6 = r"\[(?:[a-fA-F0-9:]+)\]"
_HOST = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|{_IPV6})"
_DOMAIN = rf"{_HOST}(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
_NAME = rf"(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"

_REFERENCE_RE = re.compile(rf"^({_NAME})(?::({_TAG}))?(?:@({_DIGEST}))?$")
_ANCHORED_NAME_RE = re.compile(rf"^(?:({_DOMAIN})/)?({_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*)$")
_IDENTIFIER_RE = re.compile(r"^[a-f0-9]{64}$")
_SHA256_RE = re.compile(r"^sha256:[a-f0-9]{64}$")


@dataclass(frozen=True)
class Reference:
    """A normalised reference: ``domain/path[:tag][@digest]``."""

    domain: str
    path: str
    tag: str | None = None
    digest: str | None = None

    @property
    def name(self) -> str:
        """The repository with its registry: ``docker.io/library/busybox``."""
        return f"{self.domain}/{self.path}"

    @property
    def familiar_name(self) -> str:
        """The repository as Docker prints it: ``busybox``, ``localhost:5000/x``."""
        if self.domain != DEFAULT_DOMAIN:
            return self.name
        return self.path.removeprefix(OFFICIAL_REPOSITORY_PREFIX)

    def __str__(self) -> str:
        text = self.name
        if self.tag is not None:
            text += f":{self.tag}"
        if self.digest is not None:
            text += f"@{self.digest}"
        return text

    def familiar(self) -> str:
        """The whole reference as Docker prints it: ``busybox:latest``."""
        return str(self).replace(self.name, self.familiar_name, 1)

    def with_tag(self, tag: str) -> Reference:
        return replace(self, tag=tag, digest=None)

    def with_digest(self, digest: str) -> Reference:
        return replace(self, tag=None, digest=digest)


def parse_reference(text: str, *, default_tag: bool = True) -> Reference:
    """Parses and normalises ``text``; adds ``:latest`` when it has neither tag nor digest."""
    if _IDENTIFIER_RE.match(text):
        raise InvalidReference(text, "cannot specify 64-byte hexadecimal strings")
    domain, remainder = _split_domain(text)
    repository = _strip_tag_and_digest(remainder)
    if repository.lower() != repository:
        raise InvalidReference(text, f"repository name ({repository}) must be lowercase")
    match = _REFERENCE_RE.match(f"{domain}/{remainder}")
    if match is None:
        raise InvalidReference(text, _why_invalid(f"{domain}/{remainder}"))
    name, tag, digest = match.groups()
    if len(name) > NAME_TOTAL_LENGTH_MAX:
        raise InvalidReference(
            text, f"repository name must not be more than {NAME_TOTAL_LENGTH_MAX} characters"
        )
    if digest is not None and not _SHA256_RE.match(digest):
        raise InvalidReference(text, f"unsupported digest {digest!r}: only sha256 is supported")
    if tag is None and digest is None and default_tag:
        tag = DEFAULT_TAG
    return Reference(domain=domain, path=name[len(domain) + 1 :], tag=tag, digest=digest)


def parse_repository(text: str) -> Reference:
    """Parses a repository name without tag or digest (``docker.io/library/busybox``)."""
    ref = parse_reference(text, default_tag=False)
    if ref.tag is not None or ref.digest is not None:
        raise InvalidReference(text, "a repository name cannot have a tag or digest")
    return ref


def is_image_id(text: str) -> bool:
    """Whether ``text`` is a full image id, with or without ``sha256:``."""
    return bool(_SHA256_RE.match(text) or _IDENTIFIER_RE.match(text))


def _split_domain(text: str) -> tuple[str, str]:
    first, slash, rest = text.partition("/")
    if not slash or (
        not any(c in first for c in ".:") and first != "localhost" and first.lower() == first
    ):
        domain, remainder = DEFAULT_DOMAIN, text
    else:
        domain, remainder = first, rest
    if domain == LEGACY_DEFAULT_DOMAIN:
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and "/" not in remainder:
        remainder = OFFICIAL_REPOSITORY_PREFIX + remainder
    return domain, remainder


def _strip_tag_and_digest(text: str) -> str:
    name = text.partition("@")[0]
    last_slash = name.rfind("/")
    colon = name.rfind(":")
    return name[:colon] if colon > last_slash else name


def _why_invalid(text: str) -> str:
    name, at, digest = text.partition("@")
    repository = _strip_tag_and_digest(name)
    tag = name[len(repository) + 1 :]
    if at and not re.match(rf"^{_DIGEST}$", digest):
        return "invalid digest format"
    if len(name) > len(repository) and not re.match(rf"^{_TAG}$", tag):
        return "invalid tag format"
    if not repository or repository.endswith("/") or "//" in repository:
        return "repository name must have at least one component"
    return "repository name may only contain lower-case letters, digits and separators"
