"""Capacity charts as server-rendered SVG: per node, capacity vs allocated vs used, for CPU and memory."""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.service.browse import NodeCapacity

WIDTH = 360.0


@dataclass(frozen=True)
class Bar:
    """One metric of one node, scaled to the chart's width."""

    label: str
    unit: str
    capacity: float
    allocated: float
    used: float

    def _scale(self, value: float) -> float:
        top = max(self.capacity, self.allocated, self.used, 1e-9)
        return round(WIDTH * value / top, 1)

    @property
    def capacity_w(self) -> float:
        """Width of the capacity bar."""
        return self._scale(self.capacity)

    @property
    def allocated_w(self) -> float:
        """Width of the allocated bar."""
        return self._scale(self.allocated)

    @property
    def used_w(self) -> float:
        """Width of the used bar."""
        return self._scale(self.used)

    @property
    def over(self) -> bool:
        """Allocated beyond capacity."""
        return self.allocated > self.capacity > 0

    @property
    def text(self) -> str:
        """The numbers, for people and screen readers."""
        return (f"{self.label}: {self.allocated:g} {self.unit} allocated, {self.used:g} {self.unit} used, "
                f"of {self.capacity:g} {self.unit}")


def node_bars(node: NodeCapacity) -> list[Bar]:
    """The bars of one node's chart."""
    bars = [Bar("CPU", "cores", node.cpu, node.cpu_allocated, node.cpu_used),
            Bar("Memory", "GB", node.memory_gb, node.memory_allocated_gb, node.memory_used_gb)]
    if node.gpus:
        bars.append(Bar("GPU", "GPUs", float(node.gpus), float(node.gpus_allocated), float(node.gpus_allocated)))
    return bars
