"""The shared connection counts that spread accepts over workers."""

from __future__ import annotations

import os
import time

from reactor.balance import Balancer, SharedCounts
from reactor.loop import Reactor


def test_counts_are_shared_with_a_forked_child() -> None:
    counts = SharedCounts(size=4)
    pid = os.fork()
    if pid == 0:  # the child writes its entry and leaves at once
        counts.write(1, 7, 100.0)
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert counts.others(0, since=50.0) == [7]
    assert counts.others(0, since=150.0) == []  # stale: not counted
    counts.clear(1)
    assert counts.others(0, since=0.0) == []


def test_a_worker_over_its_share_stops_accepting_until_the_others_catch_up() -> None:
    with Reactor() as reactor:
        listener = reactor.listen(lambda key: None, "127.0.0.1", 0)
        counts = SharedCounts(size=4)
        balancer = Balancer(reactor, listener, counts, 0, slack=2)
        assert listener.is_accepting()  # nobody else: accept
        now = time.monotonic()
        counts.write(1, 0, now + 60)  # another worker, fresh, with nothing
        fake = {("10.0.0.1", p): None for p in range(5)}
        listener.connections.update(fake)  # type: ignore[arg-type]  # counted, not used
        balancer.check()
        assert not listener.is_accepting()  # 5 > 0 + 2
        counts.write(1, 4, now + 60)
        balancer.check()
        assert listener.is_accepting()  # 5 <= 4 + 2
        listener.connections.clear()
        listener.close()
        balancer.check()
        assert counts.others(2, since=0.0) == [4]  # its own entry is cleared, not the other
