import socket, subprocess, time
from cluster import ServerProcess, free_port
from streaming_helpers import kubectl_process, running_pod
from streaming_node import PodContainer, StreamingNode


def test_bench(server: ServerProcess, node: StreamingNode) -> None:
    with running_pod(node, "bench", [PodContainer("app", ["nc", "-ll", "-p", "8080", "-e", "sh", "-c", "head -c 52428800 /dev/zero"])]):
        for version in ("1.27", "1.33"):
            start = time.monotonic()
            r = subprocess.run(["/usr/lib/google-cloud-sdk/bin/kubectl." + version, "exec", "bench", "--", "head", "-c", "104857600", "/dev/zero"],
                               capture_output=True, env={"KUBECONFIG": str(server.kubeconfig)})
            elapsed = time.monotonic() - start
            print(version, "exec 100MiB", len(r.stdout), f"{100/elapsed:.1f} MiB/s")
            local = free_port()
            p = kubectl_process(server, version, "port-forward", "pod/bench", f"{local}:8080")
            p.stdout.readline()
            start = time.monotonic()
            with socket.create_connection(("127.0.0.1", local)) as c:
                n = 0
                while chunk := c.recv(1 << 20):
                    n += len(chunk)
            elapsed = time.monotonic() - start
            p.terminate(); p.wait()
            print(version, "port-forward 50MiB", n, f"{50/elapsed:.1f} MiB/s")
