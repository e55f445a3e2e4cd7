"""Fake CNI plugins for unit tests: executables that log each call and answer as told.

Each fake is a tiny Python script in a temporary plugin directory. It appends one JSON line
per call (the CNI environment and the parsed stdin) to ``calls.jsonl`` and answers from
``behaviour.json``: by default ADD returns ``prevResult`` (or, for the first plugin, a
bridge-like result with eth0 in the sandbox), DEL and CHECK print nothing, VERSION lists
the 1.0.0 family. The first plugin of an ADD takes a "lease" file named after the container;
a DEL of the plugin called ``bridge`` releases it, as host-local would.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

_SCRIPT = '''#!{python}
import json, os, sys
here = {directory!r}
name = os.path.basename(sys.argv[0])
command = os.environ.get("CNI_COMMAND", "")
stdin = sys.stdin.read()
config = json.loads(stdin) if stdin.strip() else None
keys = ("CNI_COMMAND", "CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_ARGS", "CNI_PATH")
with open(os.path.join(here, "calls.jsonl"), "a") as log:
    log.write(json.dumps({{"plugin": name, "env": {{k: os.environ.get(k) for k in keys}},
                          "config": config, "environ": sorted(os.environ)}}) + "\\n")
with open(os.path.join(here, "behaviour.json")) as file:
    behaviour = json.load(file).get(name, {{}}).get(command)
if behaviour is not None:
    if behaviour.get("hang"):
        import time
        time.sleep(3600)
    print(behaviour.get("stdout", ""))
    if "stderr" in behaviour:
        sys.stderr.write(behaviour["stderr"])
    sys.exit(behaviour.get("exit", 0))
if command == "VERSION":
    print(json.dumps({{"cniVersion": "1.0.0", "supportedVersions": ["0.4.0", "1.0.0"]}}))
elif command == "ADD":
    result = config.get("prevResult")
    if result is None:
        index = len(os.listdir(os.path.join(here, "leases")))
        open(os.path.join(here, "leases", os.environ["CNI_CONTAINERID"]), "w").close()
        result = {{
            "cniVersion": config["cniVersion"],
            "interfaces": [
                {{"name": "br0", "mac": "02:00:00:00:00:01"}},
                {{"name": "veth" + os.environ["CNI_CONTAINERID"][:8], "mac": "02:00:00:00:00:02"}},
                {{"name": os.environ["CNI_IFNAME"], "mac": "02:00:00:00:00:03",
                  "sandbox": os.environ["CNI_NETNS"]}},
            ],
            "ips": [{{"address": "10.244.0.%d/24" % (index + 2), "gateway": "10.244.0.1",
                      "interface": 2}}],
            "routes": [{{"dst": "0.0.0.0/0"}}],
            "dns": {{}},
        }}
    print(json.dumps(result))
elif command == "DEL" and name == "bridge":
    lease = os.path.join(here, "leases", os.environ["CNI_CONTAINERID"])
    if os.path.exists(lease):
        os.unlink(lease)
'''


class FakePlugins:
    def __init__(self, directory: Path, names: tuple[str, ...]):
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "leases").mkdir(exist_ok=True)
        self._behaviour: dict[str, dict[str, Any]] = {}
        self._write_behaviour()
        for name in names:
            path = directory / name
            path.write_text(_SCRIPT.format(python=sys.executable, directory=str(directory)))
            path.chmod(0o755)

    def answer(self, plugin: str, command: str, **behaviour: Any) -> None:
        """Makes ``plugin`` answer ``command`` with stdout/exit/stderr, or hang."""
        self._behaviour.setdefault(plugin, {})[command] = behaviour
        self._write_behaviour()

    def fail(self, plugin: str, command: str, code: int = 11, msg: str = "injected") -> None:
        error = {"cniVersion": "1.0.0", "code": code, "msg": msg, "details": "by the test"}
        self.answer(plugin, command, stdout=json.dumps(error), exit=1)

    def reset(self, plugin: str, command: str) -> None:
        self._behaviour.get(plugin, {}).pop(command, None)
        self._write_behaviour()

    def calls(self) -> list[dict[str, Any]]:
        log = self.directory / "calls.jsonl"
        if not log.exists():
            return []
        return [json.loads(line) for line in log.read_text().splitlines()]

    def sequence(self) -> list[tuple[str, str]]:
        """(plugin, command) of every call so far, in order."""
        return [(call["plugin"], call["env"]["CNI_COMMAND"]) for call in self.calls()]

    def clear_calls(self) -> None:
        (self.directory / "calls.jsonl").unlink(missing_ok=True)

    def leases(self) -> list[str]:
        return sorted(os.listdir(self.directory / "leases"))

    def _write_behaviour(self) -> None:
        (self.directory / "behaviour.json").write_text(json.dumps(self._behaviour))
