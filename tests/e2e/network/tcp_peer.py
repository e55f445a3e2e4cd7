"""A TCP probe for network tests, run inside network namespaces with ``ip netns exec``.

``serve PORT [ADDRESS]``: accept connections forever (on ADDRESS, default all of the
namespace's addresses), answer each with the peer's address and close; prints ``ready``
once listening. ``ask HOST PORT [TIMEOUT]``: connect, print the answer;
exit status 1 if the connection fails.
"""

from __future__ import annotations

import socket
import sys


def serve(port: int, address: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind((address, port))
        server.listen()
        print("ready", flush=True)
        while True:
            connection, (host, _port) = server.accept()
            with connection:
                connection.sendall(f"{host}\n".encode())


def ask(host: str, port: int, timeout: float) -> int:
    try:
        with socket.create_connection((host, port), timeout=timeout) as connection:
            print(connection.makefile().readline().strip())
    except OSError as exc:
        print(f"failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(int(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else "0.0.0.0")
    else:
        sys.exit(ask(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]) if len(sys.argv) > 4 else 2.0))
