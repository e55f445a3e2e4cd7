"""A real ``pilothouse server`` process for end-to-end tests, and the real clients that drive it.

``ServerProcess`` starts the server on a free loopback port with its own data dir, waits
until /readyz answers, and stops it by PID (SIGTERM, or SIGKILL to simulate a crash). Its
``kubectl`` runs a real kubectl binary (a chosen version) with the admin kubeconfig.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

KUBECTL_DIR = Path("/usr/lib/google-cloud-sdk/bin")
REPO = Path(__file__).resolve().parents[2]


def kubectl_versions() -> list[str]:
    """The oldest and newest kubectl on this machine (e.g. ["1.27", "1.33"])."""
    versions = sorted(
        (p.name.removeprefix("kubectl.") for p in KUBECTL_DIR.glob("kubectl.1.*")),
        key=lambda v: tuple(int(x) for x in v.split(".")),
    )
    if not versions:
        return ["default"]
    return sorted({versions[0], versions[-1]}, key=lambda v: tuple(int(x) for x in v.split(".")))


def kubectl_binary(version: str) -> str:
    if version == "default":
        return "kubectl"
    return str(KUBECTL_DIR / f"kubectl.{version}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    def __init__(self, data_dir: Path, *, port: int | None = None,
                 extra_args: tuple[str, ...] = (), agent: bool = False):
        self.data_dir = data_dir
        self.port = port or free_port()
        self.extra_args = extra_args
        self.agent = agent  # run the server's own node (pods) too
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir.parent / f"{data_dir.name}-server.log"

    @property
    def kubeconfig(self) -> Path:
        return self.data_dir / "admin.kubeconfig"

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "pilothouse.cli.main", "server",
                 "--data-dir", str(self.data_dir), "--https-listen-port", str(self.port),
                 *(() if self.agent else ("--disable-agent",)), *self.extra_args],
                stdout=log, stderr=subprocess.STDOUT, cwd=REPO,
            )
        self.wait_ready(timeout)

    def wait_ready(self, timeout: float) -> None:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(f"{self.url}/readyz", context=context, timeout=1) as r:
                    if r.status == 200 and self.kubeconfig.exists():
                        return
            except OSError:
                pass
            time.sleep(0.05)
        raise TimeoutError(f"server not ready in {timeout}s:\n{self.log()}")

    def log(self) -> str:
        try:
            return self.log_path.read_text()[-5000:]
        except OSError:
            return ""

    def stop(self) -> None:
        self._signal(signal.SIGTERM)

    def crash(self) -> None:
        """kill -9: no chance to flush anything."""
        self._signal(signal.SIGKILL)

    def _signal(self, sig: int) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(sig)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def kubectl(self, *args: str, version: str = "default", input: str | None = None,
                check: bool = True, timeout: float = 60,
                env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ, KUBECONFIG=str(self.kubeconfig),
                   KUBECACHEDIR=str(self.data_dir.parent / f"kube-cache-{version}"),
                   **(env or {}))
        result = subprocess.run(
            [kubectl_binary(version), *args], input=input, capture_output=True, text=True,
            env=env, timeout=timeout,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"kubectl {' '.join(args)} exited {result.returncode}:\n{result.stderr}"
            )
        return result

    def kubectl_json(self, *args: str, version: str = "default") -> dict:
        return json.loads(self.kubectl(*args, "-o", "json", version=version).stdout)
