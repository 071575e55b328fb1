"""Capacity charts as server-rendered SVG: per node, capacity vs allocated vs used, for CPU and memory."""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.models.placement import NodeCapacity

WIDTH = 360.0


@dataclass(frozen=True)
class Bar:
    """One metric of one node, scaled to the chart's width."""

    label: str
    unit: str
    capacity: float
    allocated: float
    used: float
    placeable: float  # capacity x the allocation ratio placement uses: where "full" is

    def _scale(self, value: float) -> float:
        top = max(self.capacity, self.allocated, self.used, self.placeable, 1e-9)
        return round(WIDTH * value / top, 1)

    @property
    def placeable_x(self) -> float:
        """Where the placement limit mark goes."""
        return self._scale(self.placeable)

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
        """Allocated beyond what placement allows."""
        return self.allocated > self.placeable > 0

    @property
    def text(self) -> str:
        """The numbers, for people and screen readers."""
        return (f"{self.label}: {self.allocated:g} {self.unit} allocated, {self.used:g} {self.unit} used, "
                f"of {self.capacity:g} {self.unit} ({self.placeable:g} placeable)")


def node_bars(node: NodeCapacity) -> list[Bar]:
    """The bars of one node's chart."""
    bars = [Bar("CPU", "cores", node.cpu, node.cpu_allocated, node.cpu_used, node.cpu * node.cpu_allocation_ratio),
            Bar("Memory", "GB", node.memory_gb, node.memory_allocated_gb, node.memory_used_gb,
                node.memory_gb * node.memory_allocation_ratio)]
    if node.gpus:
        taken = float(node.gpus - node.gpus_free)
        bars.append(Bar("GPU", "GPUs", float(node.gpus), taken, taken, float(node.gpus)))
    return bars
