"""``pilothouse image ...``: build, pull, push, tag, import, export, ls, rm, inspect, prune.

Daemonless like podman: each command opens the image store under ``--root`` (or
``$PILOTHOUSE_ROOT``; images live in ``<root>/images``) and works on it directly; the store's
file locks make concurrent invocations and a running kubelet safe. Output follows Docker's
(``image ls`` columns, ``Untagged:``/``Deleted:`` lines, sizes and ages as Docker prints them);
errors print ``Error: <reason>`` on stderr and exit with status 1.
"""

from __future__ import annotations

import asyncio
import functools
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import click
import orjson

from pilothouse.runtime.images.errors import ImageError
from pilothouse.runtime.images.image import Image
from pilothouse.runtime.images.progress import TerminalProgress
from pilothouse.runtime.images.reference import parse_reference
from pilothouse.runtime.images.registry.config import Credentials, load_registries_yaml
from pilothouse.runtime.images.store import ImageStore

DEFAULT_ROOT = Path("/var/lib/pilothouse")
Command = TypeVar("Command", bound=Callable[..., Any])


def root_option(command: Command) -> Command:
    """``--root`` on every subcommand, so it can follow the subcommand as users type it."""
    return click.option(
        "--root",
        type=click.Path(path_type=Path, file_okay=False),
        envvar="PILOTHOUSE_ROOT",
        default=DEFAULT_ROOT,
        show_default=True,
        help="pilothouse data directory (images are kept in ROOT/images)",
    )(command)


def registry_options(command: Command) -> Command:
    command = click.option("--creds", metavar="USER:PASSWORD", help="registry credentials")(command)
    return click.option(
        "--insecure", is_flag=True, help="allow plain HTTP and unverified TLS for this registry"
    )(command)


def reports_errors(command: Command) -> Command:
    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except ImageError as e:
            fail(str(e))

    return wrapper  # type: ignore[return-value]


def fail(message: str) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)


def open_store(root: Path) -> ImageStore:
    return ImageStore(root / "images", registry_config=load_registries_yaml(root / "registries.yaml"))


def credentials(creds: str | None) -> Credentials | None:
    return Credentials.parse(creds) if creds else None


@click.group("image")
def image() -> None:
    """Manage images: build, pull, push, tag, import, export, ls, rm, inspect, prune."""


@image.command("build")
@root_option
@click.option("-t", "--tag", "tags", multiple=True, help="name the image NAME[:TAG] (repeatable)")
@click.option("-f", "--file", "dockerfile", type=click.Path(path_type=Path, dir_okay=False),
              help="the Dockerfile (default: DIR/Dockerfile)")
@click.option("--build-arg", "build_args", multiple=True, metavar="KEY=VALUE", help="set a build-time ARG")
@click.option("--target", help="build up to this stage")
@click.option("--no-cache", is_flag=True, help="do not use the build cache")
@click.option("--network", type=click.Choice(["host", "none"]), default="host", show_default=True,
              help="network of RUN steps")
@click.option("--insecure", is_flag=True, help="FROM may pull over plain HTTP")
@click.option("-q", "--quiet", is_flag=True, help="print only the image id")
@click.argument("context", type=click.Path(path_type=Path, file_okay=False, exists=True))
@reports_errors
def build(
    root: Path,
    tags: tuple[str, ...],
    dockerfile: Path | None,
    build_args: tuple[str, ...],
    target: str | None,
    no_cache: bool,
    network: str,
    insecure: bool,
    quiet: bool,
    context: Path,
) -> None:
    """Build an image from a Dockerfile and the build context DIR."""
    from pilothouse.runtime.images.build.builder import Builder, BuildOptions
    from pilothouse.runtime.images.snapshots import Snapshotter

    for tag_name in tags:
        parse_reference(tag_name)
    arguments = {}
    for item in build_args:
        name, equals, value = item.partition("=")
        if not equals:
            fail(f"--build-arg {item!r}: expected KEY=VALUE")
        arguments[name] = value
    options = BuildOptions(
        context=context,
        dockerfile=dockerfile,
        tags=tags,
        build_args=arguments,
        target=target,
        no_cache=no_cache,
        network=network,
        insecure_registries=insecure,
    )
    store = open_store(root)
    with open(os.devnull, "wb") as devnull:
        builder = Builder(
            store,
            Snapshotter(store.root / "build", store),
            output=(lambda _line: None) if quiet else click.echo,
            step_output=devnull if quiet else None,  # RUN output, as `docker build -q`
        )
        built = asyncio.run(builder.build(options))
    if quiet:
        click.echo(built.id)


@image.command("pull")
@root_option
@registry_options
@click.option("-q", "--quiet", is_flag=True, help="print only the image name")
@click.argument("reference")
@reports_errors
def pull(root: Path, insecure: bool, creds: str | None, quiet: bool, reference: str) -> None:
    """Pull an image from a registry."""
    store = open_store(root)
    parsed = parse_reference(reference)
    try:
        before: str | None = store.resolve(reference).id
    except ImageError:
        before = None
    progress = None if quiet else TerminalProgress(sys.stdout)
    pulled = asyncio.run(store.pull(reference, auth=credentials(creds), insecure=insecure, progress=progress))
    if not quiet:
        for repo_digest in pulled.repo_digests:
            if repo_digest.startswith(parsed.name + "@"):
                click.echo(f"Digest: {repo_digest.partition('@')[2]}")
        status = "Image is up to date for" if before == pulled.id else "Downloaded newer image for"
        click.echo(f"Status: {status} {parsed.familiar()}")
    click.echo(str(parsed))


@image.command("push")
@root_option
@registry_options
@click.argument("reference")
@click.argument("destination", required=False)
@reports_errors
def push(root: Path, insecure: bool, creds: str | None, reference: str, destination: str | None) -> None:
    """Push an image (to DESTINATION if given) to its registry."""
    store = open_store(root)
    asyncio.run(
        store.push(
            reference,
            destination=destination,
            auth=credentials(creds),
            insecure=insecure,
            progress=TerminalProgress(sys.stdout),
        )
    )


@image.command("tag")
@root_option
@click.argument("source")
@click.argument("target")
@reports_errors
def tag(root: Path, source: str, target: str) -> None:
    """Give the image SOURCE the name TARGET."""
    open_store(root).tag(source, target)


@image.command("import")
@root_option
@click.argument("archive", type=click.Path(path_type=Path, allow_dash=True))
@click.argument("reference", required=False)
@reports_errors
def import_(root: Path, archive: Path, reference: str | None) -> None:
    """Load images from a docker-archive or OCI layout tarball ('-' reads stdin)."""
    store = open_store(root)
    with _readable(archive, store) as path:
        loaded = store.import_archive(path, tag=reference)
    for item in loaded:
        names = [parse_reference(t).familiar() for t in item.repo_tags]
        for name in names:
            click.echo(f"Loaded image: {name}")
        if not names:
            click.echo(f"Loaded image ID: {item.id}")


@image.command("export")
@root_option
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False, allow_dash=True), default="-",
              help="write to this file instead of stdout")
@click.option("--format", "archive_format", type=click.Choice(["docker-archive", "oci-archive"]),
              default="docker-archive", show_default=True)
@click.argument("references", nargs=-1, required=True)
@reports_errors
def export(root: Path, output: Path, archive_format: str, references: tuple[str, ...]) -> None:
    """Save images to a tarball (docker-archive, as `docker save`, or an OCI layout)."""
    store = open_store(root)
    if str(output) != "-":
        store.export_archive(list(references), output, format=archive_format)
        return
    if sys.stdout.isatty():
        fail("refusing to write an image archive to a terminal: use -o FILE or redirect")
    with tempfile.TemporaryDirectory(dir=store.root) as scratch:
        target = Path(scratch) / "archive.tar"
        store.export_archive(list(references), target, format=archive_format)
        with open(target, "rb") as data:
            shutil.copyfileobj(data, sys.stdout.buffer, 1 << 20)


@image.command("ls")
@root_option
@click.option("-a", "--all", "show_all", is_flag=True, help="accepted for Docker compatibility")
@click.option("-q", "--quiet", is_flag=True, help="only image ids")
@click.option("--digests", is_flag=True, help="show digests")
@click.option("--no-trunc", is_flag=True, help="full image ids")
@click.argument("repository", required=False)
@reports_errors
def ls(root: Path, show_all: bool, quiet: bool, digests: bool, no_trunc: bool, repository: str | None) -> None:
    """List images."""
    images = sorted(open_store(root).list(), key=_created_key, reverse=True)
    rows = [row for item in images for row in _ls_rows(item, no_trunc)]
    if repository is not None:
        rows = [r for r in rows if r["repository"] in (repository, _familiar_repository(repository))]
    if quiet:
        for image_id in dict.fromkeys(r["id"] for r in rows):
            click.echo(image_id)
        return
    header = ["REPOSITORY", "TAG", *(["DIGEST"] if digests else []), "IMAGE ID", "CREATED", "SIZE"]
    table = [header] + [
        [r["repository"], r["tag"], *([r["digest"]] if digests else []), r["id"], r["created"], r["size"]]
        for r in rows
    ]
    click.echo(format_table(table))


@image.command("rm")
@root_option
@click.option("-f", "--force", is_flag=True, help="remove images in use and untag every name")
@click.argument("references", nargs=-1, required=True)
def rm(root: Path, force: bool, references: tuple[str, ...]) -> None:
    """Remove images (untag a name; delete the image with its last name)."""
    store = open_store(root)
    failed = False
    for reference in references:
        try:
            for line in store.remove(reference, force=force):
                click.echo(line)
        except ImageError as e:
            click.echo(f"Error: {e}", err=True)
            failed = True
    if failed:
        sys.exit(1)


@image.command("inspect")
@root_option
@click.argument("references", nargs=-1, required=True)
def inspect(root: Path, references: tuple[str, ...]) -> None:
    """Show images in detail, as JSON (the shape of `docker image inspect`)."""
    store = open_store(root)
    documents, failed = [], False
    for reference in references:
        try:
            documents.append(_inspect_document(store, store.resolve(reference)))
        except ImageError as e:
            click.echo(f"Error: {e}", err=True)
            failed = True
    click.echo(orjson.dumps(documents, option=orjson.OPT_INDENT_2).decode())
    if failed:
        sys.exit(1)


@image.command("prune")
@root_option
@click.option("-a", "--all", "all_unused", is_flag=True, help="remove every image no container uses")
@click.option("-f", "--force", is_flag=True, help="do not ask for confirmation")
@reports_errors
def prune(root: Path, all_unused: bool, force: bool) -> None:
    """Remove dangling images, the build cache and unreferenced layers."""
    what = "all images without at least one container" if all_unused else "all dangling images"
    if not force and not click.confirm(f"WARNING! This will remove {what}.\nAre you sure you want to continue?"):
        return
    report = open_store(root).prune(all_unused=all_unused)
    if report.deleted:
        click.echo("Deleted Images:")
        for line in report.deleted:
            kind, _, name = line.partition(": ")
            click.echo(f"{kind.lower()}: {_familiar_or_id(name)}")
        click.echo()
    click.echo(f"Total reclaimed space: {human_size(report.bytes_reclaimed)}")


# -- Docker's output conventions -----------------------------------------------------------


def format_table(rows: list[list[str]]) -> str:
    """Columns as Docker's tabwriter aligns them (min width 10, padding 3)."""
    widths = [max(max(len(row[i]) for row in rows) + 3, 10) for i in range(len(rows[0]))]
    lines = ["".join(cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=False)) + row[-1] for row in rows]
    return "\n".join(line.rstrip() for line in lines)


def human_size(size: float) -> str:
    """go-units HumanSizeWithPrecision(size, 3): ``1.98MB``."""
    units = ["B", "kB", "MB", "GB", "TB", "PB"]
    index = 0
    while size >= 1000 and index < len(units) - 1:
        size /= 1000
        index += 1
    return f"{size:.3g}{units[index]}"


def human_duration(seconds: float) -> str:
    """go-units HumanDuration: ``About a minute``, ``3 weeks``..."""
    hours = int(seconds / 3600 + 0.5)
    if seconds < 1:
        return "Less than a second"
    if int(seconds) == 1:
        return "1 second"
    if seconds < 60:
        return f"{int(seconds)} seconds"
    if int(seconds / 60) == 1:
        return "About a minute"
    if seconds < 3600:
        return f"{int(seconds / 60)} minutes"
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{int(seconds / 3600) // 24 // 365} years"


def _created_key(item: Image) -> float:
    return item.created.timestamp() if item.created else 0.0


def _age(item: Image) -> str:
    if item.created is None:
        return "N/A"
    return human_duration((datetime.now(UTC) - item.created).total_seconds()) + " ago"


def _ls_rows(item: Image, no_trunc: bool) -> list[dict[str, str]]:
    image_id = item.id if no_trunc else item.short_id
    common = {"id": image_id, "created": _age(item), "size": human_size(item.size)}
    digests = {d.split("@")[0]: d.split("@")[1] for d in item.repo_digests}
    rows = []
    for name in item.repo_tags:
        reference = parse_reference(name)
        digest = digests.get(reference.name, "<none>")
        rows.append({"repository": reference.familiar_name, "tag": reference.tag or "<none>", "digest": digest, **common})
    if not rows:
        for repository, digest in digests.items() or [("<none>", "<none>")]:
            familiar = _familiar_repository(repository) if repository != "<none>" else repository
            rows.append({"repository": familiar, "tag": "<none>", "digest": digest, **common})
    return rows


def _familiar_repository(name: str) -> str:
    try:
        return parse_reference(name, default_tag=False).familiar_name
    except ImageError:
        return name


def _familiar_or_id(name: str) -> str:
    return name if name.startswith("sha256:") else parse_reference(name, default_tag=False).familiar()


def _inspect_document(store: ImageStore, item: Image) -> dict[str, Any]:
    config = store.image_config(item).raw
    return {
        "Id": item.id,
        "RepoTags": item.repo_tags,
        "RepoDigests": item.repo_digests,
        "Parent": "",
        "Comment": config.get("comment", ""),
        "Created": config.get("created"),
        "Author": config.get("author", ""),
        "Config": item.config,
        "Architecture": item.architecture,
        "Variant": item.variant or None,
        "Os": item.os,
        "Size": item.size,
        "RootFS": {"Type": "layers", "Layers": item.diff_ids},
        "History": config.get("history", []),
        "Manifest": {"Digest": item.manifest_digest, "MediaType": item.manifest_media_type},
    }


@contextmanager
def _readable(archive: Path, store: ImageStore) -> Iterator[Path]:
    """The archive path, or stdin spooled to a file (tar members are read out of order)."""
    if str(archive) != "-":
        yield archive
        return
    with tempfile.NamedTemporaryFile(dir=store.root, prefix=".stdin-", suffix=".tar") as spool:
        shutil.copyfileobj(sys.stdin.buffer, spool, 1 << 20)
        spool.flush()
        yield Path(spool.name)
