"""Reference normalisation as Docker's distribution/reference does it."""

from __future__ import annotations

import pytest

from pilothouse.runtime.images.errors import InvalidReference
from pilothouse.runtime.images.reference import parse_reference

DIGEST = "sha256:" + "a" * 64


@pytest.mark.parametrize(
    ("text", "normalised", "familiar"),
    [
        ("busybox", "docker.io/library/busybox:latest", "busybox:latest"),
        ("busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36"),
        ("library/busybox", "docker.io/library/busybox:latest", "busybox:latest"),
        ("docker.io/busybox", "docker.io/library/busybox:latest", "busybox:latest"),
        ("index.docker.io/library/busybox:x", "docker.io/library/busybox:x", "busybox:x"),
        ("user/app", "docker.io/user/app:latest", "user/app:latest"),
        ("localhost:5000/x", "localhost:5000/x:latest", "localhost:5000/x:latest"),
        ("localhost/x:y", "localhost/x:y", "localhost/x:y"),
        ("quay.io/a/b/c:v1", "quay.io/a/b/c:v1", "quay.io/a/b/c:v1"),
        (f"busybox@{DIGEST}", f"docker.io/library/busybox@{DIGEST}", f"busybox@{DIGEST}"),
        (f"r.io:5000/x:v1@{DIGEST}", f"r.io:5000/x:v1@{DIGEST}", f"r.io:5000/x:v1@{DIGEST}"),
        ("foo__bar---baz.q", "docker.io/library/foo__bar---baz.q:latest", "foo__bar---baz.q:latest"),
    ],
    ids=lambda value: value if isinstance(value, str) and len(value) < 40 else None,
)
def test_normalises_like_docker(text: str, normalised: str, familiar: str) -> None:
    reference = parse_reference(text)
    assert str(reference) == normalised
    assert reference.familiar() == familiar


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Busybox", "repository name (library/Busybox) must be lowercase"),
        ("", "repository name must have at least one component"),
        ("a//b", "repository name must have at least one component"),
        ("x:", "invalid tag format"),
        ("x:" + "t" * 129, "invalid tag format"),
        ("x@sha256:zz", "invalid digest format"),
        ("x@sha512:" + "a" * 128, "only sha256 is supported"),
        ("a" * 64, "cannot specify 64-byte hexadecimal strings"),
        ("-x", "may only contain lower-case letters"),
        ("r.io/" + "a" * 260, "must not be more than 255 characters"),
    ],
)
def test_invalid_references_say_why(text: str, reason: str) -> None:
    with pytest.raises(InvalidReference) as caught:
        parse_reference(text)
    assert reason in str(caught.value)
    assert str(caught.value).startswith("invalid reference format")


def test_no_default_tag_when_asked() -> None:
    assert parse_reference("busybox", default_tag=False).tag is None
