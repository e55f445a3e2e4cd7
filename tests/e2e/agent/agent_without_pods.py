"""``pilothouse agent`` with every part but the pods, for the agent tests that do not need
them: same command line, same Agent, only its pods factory starts nothing. Until the
kubelet exists (issue 4, part 2) this is how a node joins in these tests.

Run as ``python agent_without_pods.py <pilothouse agent arguments>``.
"""

from __future__ import annotations

from pilothouse.cli.agent import agent
from pilothouse.kubelet.agent import Agent, PodsContext


class NoPods:
    async def stop(self) -> None:
        return None


async def start_no_pods(ctx: PodsContext) -> NoPods:
    return NoPods()


if __name__ == "__main__":
    # The command builds its Agent itself: change the default of its pods factory.
    Agent.__init__.__kwdefaults__["start_pods"] = start_no_pods
    agent.main(prog_name="pilothouse agent")
