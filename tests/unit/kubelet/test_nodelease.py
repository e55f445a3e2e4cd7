"""The node Lease: created owned by the Node, renewed every 10 s by an update without a read,
re-read on conflict, retried with back-off on failure (a fake clock, no waiting)."""

from __future__ import annotations

import datetime

import pytest
from node_fakes import FakeAPI

from pilothouse.api import errors
from pilothouse.kubelet.nodelease import NodeLease, micro_time


class Stop(Exception):
    pass


class FakeTime:
    """A clock and a sleep that only moves it; ends the test after ``limit`` sleeps."""

    def __init__(self, limit: int = 100) -> None:
        self.now = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
        self.sleeps: list[float] = []
        self.limit = limit

    def clock(self) -> datetime.datetime:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        if len(self.sleeps) >= self.limit:
            raise Stop
        self.now += datetime.timedelta(seconds=seconds)


def lease_of(api: FakeAPI, time: FakeTime) -> NodeLease:
    return NodeLease(client=api, node_name="node-1", node_uid="uid-1",  # type: ignore[arg-type]
                     clock=time.clock, sleep=time.sleep)


def test_micro_time_format() -> None:
    moment = datetime.datetime(2024, 1, 1, 0, 0, 0, 1500, tzinfo=datetime.UTC)
    assert micro_time(moment) == "2024-01-01T00:00:00.001500Z"


async def test_the_lease_is_created_then_renewed_every_ten_seconds_without_reads() -> None:
    api, time = FakeAPI(), FakeTime(limit=3)
    with pytest.raises(Stop):
        await lease_of(api, time).run()
    lease = api.stored("leases", "node-1", "kube-node-lease")
    assert lease["spec"] == {"holderIdentity": "node-1", "leaseDurationSeconds": 40,
                             "renewTime": "2024-01-01T00:00:20.000000Z"}
    assert lease["metadata"]["ownerReferences"] == [
        {"apiVersion": "v1", "kind": "Node", "name": "node-1", "uid": "uid-1"}]
    assert time.sleeps == [10.0, 10.0, 10.0]
    assert api.calls == [("get", "leases", "node-1"), ("create", "leases", "node-1"),
                         ("update", "leases", "node-1"), ("update", "leases", "node-1")]


async def test_an_existing_lease_is_taken_over_and_given_its_owner() -> None:
    api, time = FakeAPI(), FakeTime()
    await api["leases"].create({
        "metadata": {"name": "node-1", "namespace": "kube-node-lease"},
        "spec": {"holderIdentity": "node-1", "leaseDurationSeconds": 40,
                 "renewTime": "2023-12-31T23:00:00.000000Z"}})
    await lease_of(api, time).renew()
    lease = api.stored("leases", "node-1", "kube-node-lease")
    assert lease["spec"]["renewTime"] == "2024-01-01T00:00:00.000000Z"
    assert lease["metadata"]["ownerReferences"][0]["uid"] == "uid-1"


async def test_a_conflict_rereads_the_lease() -> None:
    api, time = FakeAPI(), FakeTime()
    node_lease = lease_of(api, time)
    await node_lease.renew()
    stored = api.stored("leases", "node-1", "kube-node-lease")
    stored["metadata"]["resourceVersion"] = "999"  # somebody else wrote it
    api.calls.clear()
    await node_lease.renew()
    assert api.calls == [("update", "leases", "node-1"), ("get", "leases", "node-1"),
                         ("update", "leases", "node-1")]


async def test_failures_back_off_from_200ms_to_7s_then_renewals_resume() -> None:
    api, time = FakeAPI(), FakeTime(limit=9)
    for _ in range(7):
        api.fail_next("create", "leases", errors.ServiceUnavailable("down"))
    with pytest.raises(Stop):
        await lease_of(api, time).run()
    assert time.sleeps == [0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 7.0, 10.0, 10.0]
    assert api.stored("leases", "node-1", "kube-node-lease")["spec"]["holderIdentity"] == "node-1"
