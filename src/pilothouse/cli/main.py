"""The ``pilothouse`` command.

Each group of subcommands lives in its own module and is loaded only when used, so that
``pilothouse run`` does not import the API server and ``pilothouse server`` does not import
the image builder.
"""

from __future__ import annotations

import gc
import importlib
from types import ModuleType

import click

# subcommand name -> "module:attribute" of a click command or group
SUBCOMMANDS = {
    "server": "pilothouse.cli.server:server",
    "agent": "pilothouse.cli.agent:agent",
    "token": "pilothouse.cli.token:token",
    "kubectl": "pilothouse.cli.server:kubectl",
    "killall": "pilothouse.cli.killall:killall",
    "image": "pilothouse.cli.images:image",
    "run": "pilothouse.cli.containers:run",
    "ps": "pilothouse.cli.containers:ps",
    "logs": "pilothouse.cli.containers:logs",
    "exec": "pilothouse.cli.containers:exec_",
    "stop": "pilothouse.cli.containers:stop",
    "rm": "pilothouse.cli.containers:rm",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(SUBCOMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        target = SUBCOMMANDS.get(name)
        if target is None:
            return None
        module, attribute = target.split(":")
        return getattr(_import_for_good(module), attribute)


def _import_for_good(module: str) -> ModuleType:
    """Imports a subcommand's module, whose objects then live as long as the process.

    None of them is garbage, so the cyclic collector is paused meanwhile (it would walk the
    new objects over and over for nothing), and they are frozen afterwards: no later
    collection walks them again, nor do the interpreter's last ones at exit.
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        return importlib.import_module(module)
    finally:
        if collecting:
            gc.enable()
        gc.freeze()


@click.group(cls=LazyGroup)
@click.version_option(package_name="pilothouse")
def main() -> None:
    """pilothouse: Kubernetes, written in Python, running real Linux containers."""


if __name__ == "__main__":
    main()
