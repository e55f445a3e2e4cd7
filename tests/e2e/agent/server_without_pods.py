"""``pilothouse server`` whose own node runs every part but the pods (see
agent_without_pods.py), for tests of the server's node that do not need the kubelet.

Run as ``python server_without_pods.py <pilothouse server arguments>``.
"""

from __future__ import annotations

from agent_without_pods import start_no_pods

from pilothouse.cli.server import server
from pilothouse.kubelet.agent import Agent

if __name__ == "__main__":
    Agent.__init__.__kwdefaults__["start_pods"] = start_no_pods
    server.main(prog_name="pilothouse server")
