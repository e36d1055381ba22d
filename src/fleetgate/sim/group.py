"""The replicas behind one backend: a pool's engines, their load balancer and their metrics.

A backend in the fleet file stands for a pool's worth of identical engines (its capacity
weight: GPUs / tensor parallel / backends). Owns placing each arriving job on the least-loaded
engine that is up (a lazy min-heap keyed by load), the per-engine averages a metrics scrape
reports (waiting, running, KV-cache usage, as vLLM exports them per engine), and the faults
that hit engines: crashes (radiation upsets) with restarts, site-wide outages, slowdowns.
"""

from __future__ import annotations

import heapq

from fleetgate.routing.index import Backend
from fleetgate.sim.batch_replica import IDLE, BatchTiming, Counters, Job, JobSink, Replica
from fleetgate.sim.loop import EventLoop

REBUILD_FACTOR = 4


class ReplicaGroup:
    """Every engine of one backend."""

    def __init__(
        self,
        backend: Backend,
        replicas: int,
        gpus_per_replica: int,
        timing: BatchTiming,
        loop: EventLoop,
        sink: JobSink,
        max_prefill_tokens: int,
    ) -> None:
        self.backend = backend
        self.timing = timing
        self.gpus_per_replica = gpus_per_replica
        self.counters = Counters()
        self.replicas = [
            Replica(timing, loop, sink, self.counters, max_prefill_tokens)
            for _ in range(max(replicas, 1))
        ]
        self._heap: list[tuple[int, int]] = [(0, i) for i in range(len(self.replicas))]
        self._heap_limit = REBUILD_FACTOR * len(self.replicas) + 16
        self.down_replicas = 0
        self.site_down = False
        self.error_rate = 0.0  # the site's error bursts now, kept by `SimFleet.apply`

    @property
    def gpus(self) -> int:
        """GPUs behind this backend."""
        return len(self.replicas) * self.gpus_per_replica

    @property
    def up_replicas(self) -> int:
        """Engines serving now."""
        return 0 if self.site_down else len(self.replicas) - self.down_replicas

    def fits(self, job: Job) -> bool:
        """Whether one engine's KV cache can hold the job at all."""
        return job.kv_need <= self.timing.kv_capacity

    def _pick(self) -> int:
        """The index of the least-loaded engine that is up (-1: none), on top of the heap."""
        heap, replicas = self._heap, self.replicas
        while heap:
            load, index = heap[0]
            replica = replicas[index]
            if replica.load == load and replica.up:
                return index
            heapq.heappop(heap)
        self._rebuild()
        return self._heap[0][1] if self._heap else -1

    def _rebuild(self) -> None:
        self._heap = [(r.load, i) for i, r in enumerate(self.replicas) if r.up]
        heapq.heapify(self._heap)

    def touched(self, replica_index: int) -> None:
        """A replica's load changed; record its new key."""
        heap = self._heap
        heapq.heappush(heap, (self.replicas[replica_index].load, replica_index))
        if len(heap) > self._heap_limit:
            self._rebuild()

    def dispatch(self, job: Job, now: float) -> int:
        """Place `job` on the least-loaded engine; returns the engine's index (-1: none up)."""
        if self.site_down:
            return -1
        index = self._pick()
        if index < 0:
            return -1
        replica = self.replicas[index]
        replica.enqueue(job, now)
        # the entry on top is the engine's old load: replace it by the new one
        heapq.heapreplace(self._heap, (replica.load, index))
        return index

    # ------------------------------------------------------------------ metrics

    def metrics(self) -> tuple[float, float, float]:
        """(waiting, running, KV-cache usage) per engine that is up, as a scrape reports."""
        up = self.up_replicas
        if up <= 0:
            return 0.0, 0.0, 0.0
        c = self.counters
        kv = c.kv_reserved / (up * self.timing.kv_capacity)
        return c.waiting / up, c.running / up, min(kv, 1.0)

    def busy_seconds(self, now: float) -> float:
        """Engine-seconds spent busy so far (`Replica.busy_until` of each, inline: the time
        series asks every engine at every sample)."""
        return sum(
            replica.busy_seconds + (now - replica.busy_since if replica.phase != IDLE else 0.0)
            for replica in self.replicas
        )

    def tokens_out(self) -> int:
        """Output tokens generated so far."""
        return sum(replica.tokens_out for replica in self.replicas)

    # ------------------------------------------------------------------ faults

    def crash(self, replica_index: int, now: float) -> None:
        """One engine crashed: its requests fail and it is out until `restart`."""
        replica = self.replicas[replica_index]
        if not replica.up:
            return
        replica.up = False
        self.down_replicas += 1
        replica.fail_all(now)

    def restart(self, replica_index: int) -> None:
        """A crashed engine serves again (empty)."""
        replica = self.replicas[replica_index]
        if replica.up:
            return
        replica.up = True
        self.down_replicas -= 1
        self.touched(replica_index)

    def set_site_down(self, down: bool, now: float) -> None:
        """A site outage begins (every engine's requests fail) or ends."""
        if down == self.site_down:
            return
        self.site_down = down
        if down:
            for replica in self.replicas:
                replica.fail_all(now)
        else:
            self._rebuild()

    def set_slow(self, factor: float, now: float) -> None:
        """Every engine now runs `factor` times slower than nominal."""
        for replica in self.replicas:
            replica.set_slow(factor, now)
