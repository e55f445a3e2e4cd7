"""The Dockerfile builder: stages, steps, the build cache, RUN in real containers.

Each step turns a state (a stored manifest: config + layers) into the next one:

- Config-only instructions (ENV, LABEL, CMD, ...) write a new config over the same layers.
- RUN, COPY, ADD and WORKDIR prepare an overlay snapshot of the current layers, act in it
  (RUN through :func:`run_in_rootfs`, a real container; COPY/ADD/WORKDIR by writing into the
  mounted root filesystem, never outside it), then turn the snapshot's upper directory into
  the step's layer (nothing changed: no layer). The snapshot is removed in every case.
- Every step is cached under a key made of the parent state, the expanded instruction, the
  ARG values RUN sees and, for COPY/ADD, the digest of the copied content, so a rebuild of
  unchanged input reuses each step and gives the same image id.

Only when every step of every needed stage succeeded is the image recorded and tagged: a
failing RUN leaves no image, snapshot or mount behind, and reports its exit code and line.
Errors name the Dockerfile line.
"""

from __future__ import annotations

import copy
import datetime
import hashlib
import inspect
import json
import posixpath
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from ..busybox import BUSYBOX_TAG, ensure_busybox_image
from ..errors import BuildError, DockerfileError, ImageError, ImageNotFound, RunStepFailed
from ..image import Image
from ..layer_tar import write_tree_layer
from ..manifests import Descriptor, host_platform, parse_manifest
from ..reference import parse_reference
from ..snapshots import Snapshotter
from ..store import ImageStore
from . import instructions
from .context import BuildContext
from .dockerfile import Dockerfile, Instruction, parse_dockerfile
from .expand import ShellLexer
from .fsops import copy_into_root, make_dirs, resolve_in_root
from .stages import Stage, parse_arg, plan_stages
from .users import chown_owner, user_owner

RunInRootfs = Callable[..., Any]  # run_in_rootfs: returns an exit code, or awaits one
Output = Callable[[str], None]

# Flags the parser knows (Docker has them) but this builder does not implement.
UNSUPPORTED_FLAGS = {
    "ADD": ("chmod", "link", "checksum", "keep-git-dir"),
    "COPY": ("chmod", "link", "parents"),
    "RUN": ("mount", "security"),
}


@dataclass(frozen=True)
class BuildOptions:
    context: Path
    dockerfile: Path | None = None  # default: <context>/Dockerfile
    tags: tuple[str, ...] = ()
    build_args: Mapping[str, str] = field(default_factory=dict)
    target: str | None = None
    no_cache: bool = False
    network: str = "host"  # for RUN: "host" or "none"
    insecure_registries: bool = False  # FROM may pull over plain HTTP


@dataclass
class _State:
    manifest: str
    config: dict[str, Any]
    layers: list[Descriptor]

    @property
    def section(self) -> dict[str, Any]:
        return self.config.setdefault("config", {})


@dataclass
class _Build:
    """One build in progress: the parsed Dockerfile, its context and options, the steps done,
    the ARGs used and the final state of each finished stage."""

    dockerfile: Dockerfile
    context: BuildContext
    options: BuildOptions
    lexer: ShellLexer
    total_steps: int
    step: int = 0
    used_args: set[str] = field(default_factory=set)
    stage_states: dict[int, _State] = field(default_factory=dict)
    stage_names: dict[str, int] = field(default_factory=dict)


class Builder:
    """Builds Dockerfiles into ``store``, running steps in snapshots of ``snapshotter``."""

    def __init__(
        self,
        store: ImageStore,
        snapshotter: Snapshotter,
        *,
        runner: RunInRootfs | None = None,
        output: Output = print,
        step_output: BinaryIO | None = None,
    ):
        self.store = store
        self.snapshotter = snapshotter
        self._runner = runner  # default: the runtime's run_in_rootfs
        self.output = output
        self.step_output = step_output  # where RUN commands write; None: this process's stdout

    async def build(self, options: BuildOptions) -> Image:
        dockerfile = _read_dockerfile(options)
        plan = plan_stages(dockerfile, dict(options.build_args))
        try:
            target = plan.target(options.target)
        except KeyError:
            raise BuildError(f"target stage {options.target!r} could not be found") from None
        stages = plan.needed(target)
        run = _Build(
            dockerfile=dockerfile,
            context=BuildContext(options.context),
            options=options,
            lexer=ShellLexer(dockerfile.escape),
            total_steps=sum(1 + len(s.instructions) for s in stages),
            used_args=set(plan.global_args),
        )
        with self.store.writing():
            for stage in stages:
                run.stage_states[stage.index] = await self._build_stage(run, stage)
                if stage.name:
                    run.stage_names[stage.name] = stage.index
            image = self.store.add_image(run.stage_states[target.index].manifest, tags=options.tags)
        unused = sorted(set(options.build_args) - run.used_args)
        if unused:
            self.output(f"[Warning] One or more build-args {unused} were not consumed")
        self.output(f"Successfully built {image.short_id}")
        for tag in options.tags:
            self.output(f"Successfully tagged {parse_reference(tag).familiar()}")
        return image

    # -- stages --------------------------------------------------------------------------

    async def _build_stage(self, run: _Build, stage: Stage) -> _State:
        scope = instructions.StageScope(lexer=run.lexer)
        state = await self._step(run, stage.line, f"FROM {stage.base}", self._from(run, stage))
        for instruction in stage.instructions:
            step = self._instruction(run, scope, state, instruction)
            state = await self._step(run, instruction.line, instruction.original, step)
        return state

    async def _step(self, run: _Build, line: int, text: str, step: Awaitable[_State]) -> _State:
        run.step += 1
        self.output(f"Step {run.step}/{run.total_steps} : {text}")
        try:
            state = await step
        except (DockerfileError, RunStepFailed):
            raise
        except ImageError as e:
            raise DockerfileError(run.dockerfile.filename, line, str(e)) from e
        self.output(f" ---> {self.store.image_of_manifest(state.manifest).short_id}")
        return state

    async def _from(self, run: _Build, stage: Stage) -> _State:
        base = stage.base
        if base.lower() in run.stage_names:
            return copy.deepcopy(run.stage_states[run.stage_names[base.lower()]])
        if base == "scratch":
            return self._scratch()
        image = await self._base_image(run, base)
        return self._state_of(image.manifest_digest)

    async def _base_image(self, run: _Build, reference: str) -> Image:
        try:
            return self.store.resolve(reference)
        except ImageNotFound:
            if str(parse_reference(reference)) == BUSYBOX_TAG:
                return ensure_busybox_image(self.store)  # made locally on first use
            self.output(f"Pulling {reference}")
            return await self.store.pull(reference, insecure=run.options.insecure_registries)

    def _scratch(self) -> _State:
        platform = host_platform()
        config: dict[str, Any] = {
            "architecture": platform.architecture,
            "os": platform.os,
            "config": {"Env": [instructions.DEFAULT_PATH]},
            "rootfs": {"type": "layers", "diff_ids": []},
            "history": [],
        }
        if platform.variant:
            config["variant"] = platform.variant
        return _State(manifest=self.store.write_image(config, []), config=config, layers=[])

    def _state_of(self, manifest_digest: str) -> _State:
        manifest = parse_manifest(self.store.blobs.read_bytes(manifest_digest))
        config = copy.deepcopy(self.store.load_config(manifest.config.digest).raw)
        return _State(manifest=manifest_digest, config=config, layers=list(manifest.layers))

    # -- instructions --------------------------------------------------------------------

    async def _instruction(
        self, run: _Build, scope: instructions.StageScope, state: _State, instruction: Instruction
    ) -> _State:
        keyword = instruction.keyword
        for flag in UNSUPPORTED_FLAGS.get(keyword, ()):
            if flag in instruction.flags:
                raise BuildError(f"{keyword} --{flag} is not supported")
        if keyword == "ARG":
            return self._arg(run, scope, state, instruction)
        if keyword == "RUN":
            return await self._run_step(run, scope, state, instruction)
        if keyword in ("COPY", "ADD"):
            return await self._copy_step(run, scope, state, instruction)
        if keyword == "WORKDIR":
            return await self._workdir(run, scope, state, instruction)
        if keyword == "MAINTAINER":
            return self._config_step(run, state, instruction, lambda config: _set_author(config, instruction.args))
        return self._config_step(
            run, state, instruction, lambda config: instructions.apply(instruction, config.setdefault("config", {}), scope)
        )

    def _arg(self, run: _Build, scope: instructions.StageScope, state: _State, instruction: Instruction) -> _State:
        env = scope.env(state.section)
        for name, default in parse_arg(instruction, run.lexer, env, run.dockerfile):
            run.used_args.add(name)
            value = run.options.build_args.get(name, default)
            if value is not None:
                scope.args[name] = value
        return state

    def _config_step(
        self, run: _Build, state: _State, instruction: Instruction, change: Callable[[dict[str, Any]], str]
    ) -> _State:
        config = copy.deepcopy(state.config)
        description = change(config)
        key = self._cache_key(state, instruction.keyword, description)
        cached = self._cached(run, key)
        if cached is not None:
            return cached
        _add_history(config, f"/bin/sh -c #(nop) {description}", empty_layer=True)
        return self._commit(key, _State(self.store.write_image(config, state.layers), config, state.layers))

    async def _run_step(self, run: _Build, scope: instructions.StageScope, state: _State, instruction: Instruction) -> _State:
        network = instruction.flags.get("network", run.options.network)
        if network not in ("host", "none", "default"):
            raise BuildError(f"RUN --network={network}: must be host, none or default")
        network = run.options.network if network == "default" else network
        argv = instructions.command_form(instruction, scope)
        build_args = {k: v for k, v in scope.args.items() if k not in _env_names(state.section)}
        key = self._cache_key(state, "RUN", argv, sorted(build_args.items()), network)
        cached = self._cached(run, key)
        if cached is not None:
            return cached
        environment = [f"{k}={v}" for k, v in build_args.items()] + list(state.section.get("Env") or [])
        workdir = state.section.get("WorkingDir") or "/"

        async def run_command(rootfs: Path) -> None:
            make_dirs(rootfs, workdir)
            user = state.section.get("User") or "0:0"
            code = await self._run_in_rootfs(rootfs, argv, env=environment, cwd=workdir, user=user, network=network)
            if code != 0:
                raise RunStepFailed(run.dockerfile.filename, instruction.line, instruction.args, code)

        prefix = f"|{len(build_args)} " + " ".join(f"{k}={v}" for k, v in build_args.items()) + " " if build_args else ""
        description = prefix + (json.dumps(argv) if instruction.exec_form is not None else " ".join(argv))
        return self._commit(key, await self._layer_step(state, description, run_command))

    async def _copy_step(self, run: _Build, scope: instructions.StageScope, state: _State, instruction: Instruction) -> _State:
        env = scope.env(state.section)
        words = instruction.exec_form if instruction.exec_form is not None else run.lexer.words(instruction.args, env)
        if len(words) < 2:
            raise BuildError(f"{instruction.keyword} requires at least two arguments, but got {len(words)}")
        sources, dest = words[:-1], words[-1]
        workdir = state.section.get("WorkingDir") or "/"
        dest = dest if dest.startswith("/") else posixpath.join(workdir, dest) + ("/" if dest.endswith("/") or dest == "." else "")
        chown = run.lexer.word(instruction.flags["chown"], env) if "chown" in instruction.flags else None
        origin = instruction.flags.get("from")
        if origin is not None:
            if instruction.keyword == "ADD":
                raise BuildError("ADD --from is not supported; use COPY --from")
            return await self._copy_from(run, state, instruction, origin, sources, dest, chown)
        for source in sources:
            if "://" in source:
                raise BuildError(f"{instruction.keyword} from a URL is not supported: {source}")
        matched = [rel for source in sources for rel in run.context.sources(source)]
        _check_destination(matched, dest)
        key = self._cache_key(state, instruction.keyword, matched, dest, chown, run.context.digest(matched))
        cached = self._cached(run, key)
        if cached is not None:
            return cached
        extract = instruction.keyword == "ADD"

        async def copy_sources(rootfs: Path) -> None:
            owner = chown_owner(rootfs, chown) if chown else None
            for rel in matched:
                host = run.context.host_path(rel)
                if extract and not run.context.is_dir(rel) and _extract_archive(host, rootfs, dest, owner):
                    continue
                run.context.copy(rel, rootfs, _target(rootfs, rel, dest, run.context.is_dir(rel)), owner=owner)

        description = f"{instruction.keyword} {' '.join(sources)} {dest}"
        return self._commit(key, await self._layer_step(state, description, copy_sources))

    async def _copy_from(
        self, run: _Build, state: _State, instruction: Instruction, origin: str, sources: list[str], dest: str, chown: str | None
    ) -> _State:
        if origin.lower() in run.stage_names:
            source_state = run.stage_states[run.stage_names[origin.lower()]]
        elif origin.isdigit() and int(origin) in run.stage_states:
            source_state = run.stage_states[int(origin)]
        else:
            source_state = self._state_of((await self._base_image(run, origin)).manifest_digest)
        key = self._cache_key(state, "COPY --from", source_state.manifest, sources, dest, chown)
        cached = self._cached(run, key)
        if cached is not None:
            return cached
        source_key = f"build-{uuid.uuid4().hex[:16]}"
        source_root = self.snapshotter.prepare(source_key, self.store.image_of_manifest(source_state.manifest))
        try:
            paths = [resolve_in_root(source_root, s) for s in sources]
            for path, source in zip(paths, sources, strict=True):
                if not (path.exists() or path.is_symlink()):
                    raise BuildError(f"COPY --from={origin}: {source} not found in the source stage")
            _check_destination(paths, dest)

            async def copy_paths(rootfs: Path) -> None:
                owner = chown_owner(rootfs, chown) if chown else None
                for path in paths:
                    is_dir = path.is_dir() and not path.is_symlink()
                    copy_into_root(path, rootfs, _target(rootfs, path.name, dest, is_dir), owner=owner, keep_owner=True)

            description = f"COPY --from={origin} {' '.join(sources)} {dest}"
            return self._commit(key, await self._layer_step(state, description, copy_paths))
        finally:
            self.snapshotter.remove(source_key)

    async def _workdir(self, run: _Build, scope: instructions.StageScope, state: _State, instruction: Instruction) -> _State:
        path = run.lexer.word(instruction.args, scope.env(state.section)).strip()
        if not path:
            raise BuildError("WORKDIR requires exactly one argument")
        current = state.section.get("WorkingDir") or "/"
        workdir = posixpath.normpath(posixpath.join(current, path))
        key = self._cache_key(state, "WORKDIR", workdir)
        cached = self._cached(run, key)
        if cached is not None:
            return cached
        changed = copy.deepcopy(state)
        changed.section["WorkingDir"] = workdir

        async def create(rootfs: Path) -> None:
            # As BuildKit: new directories belong to the current USER.
            user = state.section.get("User")
            make_dirs(rootfs, workdir, owner=user_owner(rootfs, user) if user else None)

        return self._commit(key, await self._layer_step(changed, f"WORKDIR {workdir}", create))

    # -- layers, cache -------------------------------------------------------------------

    async def _layer_step(
        self, state: _State, description: str, action: Callable[[Path], Awaitable[None]]
    ) -> _State:
        key = f"build-{uuid.uuid4().hex[:16]}"
        rootfs = self.snapshotter.prepare(key, self.store.image_of_manifest(state.manifest))
        try:
            await action(rootfs)
            self.snapshotter.unmount(key)
            upper = self.snapshotter.upper_dir(key)
            layer = self.store.add_layer(lambda sink: write_tree_layer(upper, sink, overlay_upper=True)) if any(upper.iterdir()) else None
        finally:
            self.snapshotter.remove(key)
        config = copy.deepcopy(state.config)
        layers = list(state.layers)
        if layer is not None:
            layers.append(layer)
            config.setdefault("rootfs", {"type": "layers", "diff_ids": []})["diff_ids"].append(layer.digest)
        _add_history(config, f"/bin/sh -c {description}", empty_layer=layer is None)
        return _State(self.store.write_image(config, layers), config, layers)

    async def _run_in_rootfs(self, rootfs: Path, argv: list[str], **kwargs: Any) -> int:
        runner = self._runner
        if runner is None:
            from ...oci.oneshot import run_in_rootfs

            runner = run_in_rootfs
        result = runner(rootfs, argv, stdout=self.step_output, stderr=self.step_output, **kwargs)
        return await result if inspect.isawaitable(result) else result

    def _cache_key(self, state: _State, *parts: Any) -> str:
        material = json.dumps([state.manifest, *parts], sort_keys=True, default=str)
        return "sha256:" + hashlib.sha256(material.encode()).hexdigest()

    def _cached(self, run: _Build, key: str) -> _State | None:
        if run.options.no_cache:
            return None
        manifest = self.store.build_cache.get(key)
        if manifest is None or not self._complete(manifest):
            return None
        self.output(" ---> Using cache")
        return self._state_of(manifest)

    def _complete(self, manifest_digest: str) -> bool:
        try:
            image = self.store.image_of_manifest(manifest_digest)
        except ImageError:
            return False
        return all(self.store.layers.has(d) for d in image.diff_ids)

    def _commit(self, key: str, state: _State) -> _State:
        self.store.build_cache.put(key, state.manifest)
        return state


def _read_dockerfile(options: BuildOptions) -> Dockerfile:
    path = options.dockerfile or options.context / "Dockerfile"
    if not options.context.is_dir():
        raise BuildError(f"build context {options.context} is not a directory")
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise BuildError(f"Cannot locate specified Dockerfile: {path}") from None
    return parse_dockerfile(text, filename=path.name)


def _env_names(section: dict[str, Any]) -> set[str]:
    return {entry.partition("=")[0] for entry in section.get("Env") or []}


def _set_author(config: dict[str, Any], author: str) -> str:
    config["author"] = author
    return f"MAINTAINER {author}"


def _add_history(config: dict[str, Any], created_by: str, *, empty_layer: bool) -> None:
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    config["created"] = now
    entry: dict[str, Any] = {"created": now, "created_by": created_by}
    if empty_layer:
        entry["empty_layer"] = True
    config.setdefault("history", []).append(entry)


def _check_destination(sources: list[Any], dest: str) -> None:
    if len(sources) > 1 and not dest.endswith("/"):
        raise BuildError("When using COPY with more than one source file, the destination must be a directory and end with a /")


def _target(rootfs: Path, name: str, dest: str, source_is_dir: bool) -> str:
    """Where one source goes: a directory's contents into ``dest``; a file into ``dest`` if it
    ends with ``/`` or is an existing directory, else to ``dest`` itself."""
    if source_is_dir:
        return dest
    if dest.endswith("/") or resolve_in_root(rootfs, dest).is_dir():
        return posixpath.join(dest, posixpath.basename(name))
    return dest


def _extract_archive(archive: Path, rootfs: Path, dest: str, owner: tuple[int, int] | None) -> bool:
    """ADD's auto-extraction of a local (possibly compressed) tar; False if not an archive."""
    from ..compression import uncompressed
    from ..unpack import apply_tar

    with open(archive, "rb") as source:
        try:
            with uncompressed(source) as stream:
                header = stream.read(512)
        except (OSError, EOFError, ImageError):
            return False
        if len(header) < 512 or header[257:262] != b"ustar" and not _valid_tar_checksum(header):
            return False
        source.seek(0)
        target = make_dirs(rootfs, dest, owner=owner)
        with uncompressed(source) as stream:
            apply_tar(stream, target, owner=owner)
    return True


def _valid_tar_checksum(header: bytes) -> bool:
    try:
        stored = int(header[148:156].split(b"\0")[0].strip() or b"-1", 8)
    except ValueError:
        return False
    return stored == sum(header[:148]) + 8 * 32 + sum(header[156:])
