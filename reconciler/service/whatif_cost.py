"""The monthly cost change of a proposal: cloud resources priced from homeport's cited catalogs (AWS, Azure);
on-premise resources cost no more per month (their power draw is not measured, and is said so)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from reconciler.models.desired import DesiredState
from reconciler.models.effective import EffectiveResource
from reconciler.service.prices import CLOUDS, HOURS_PER_MONTH, price_catalog


class CostLine(BaseModel):
    """One resource's monthly price before and after (None: not priced, with why)."""

    resource: str
    provider: str
    before_usd: float | None = None
    after_usd: float | None = None
    instance_type_before: str | None = None
    instance_type_after: str | None = None
    source: str | None = None
    note: str | None = None


class CostChange(BaseModel):
    """The estimated monthly cost change, with its lines and what could not be priced."""

    monthly_delta_usd: float = 0.0
    lines: list[CostLine] = Field(default_factory=list)
    unknown: list[str] = Field(default_factory=list, description="Resources whose price homeport does not know")
    basis: str = f"{HOURS_PER_MONTH} h/month on-demand, Linux; on-premise power not measured"

    @property
    def line(self) -> str:
        """'monthly cost +$70.08' (and what is unknown)."""
        text = f"monthly cost {'+' if self.monthly_delta_usd >= 0 else '-'}${abs(self.monthly_delta_usd):.2f}"
        return text + (f" (not priced: {', '.join(self.unknown)})" if self.unknown else "")


def monthly_price(resource: EffectiveResource, region: str | None) -> tuple[float | None, str | None, str | None]:
    """(USD per month, instance type, source or why unknown) of a cloud resource; (0, None, None) on premise."""
    kind = resource.provider_type
    if kind not in CLOUDS:
        return 0.0, None, None
    catalog = price_catalog(kind)
    where = region or catalog.default_region
    chosen = resource.overrides.get("instance_type") or resource.overrides.get("vm_size") \
        or resource.properties.get("instance_type") or resource.properties.get("vm_size")
    try:
        itype = str(chosen) if chosen else catalog.choose_instance_type(resource.requirements, where)
    except ValueError as exc:
        return None, None, str(exc)
    price = catalog.on_demand_price(itype, where)
    if price is None:
        return None, itype, f"no published price for {itype} in {where} in homeport's catalog"
    return round(price.usd_per_hour * HOURS_PER_MONTH * max(resource.deployment.replicas, 1), 2), itype, \
        f"{price.source.title} ({price.source.date})"


def cost_change(main: DesiredState, head: DesiredState) -> CostChange:
    """Pure: the monthly change from main's resources to the proposal's, priced per changed resource."""
    result = CostChange()
    for name in sorted(set(main.effective) | set(head.effective)):
        before, after = main.effective.get(name), head.effective.get(name)
        if before == after:
            continue
        either = after or before
        line = CostLine(resource=name, provider=either.provider if either is not None else "")
        known = True
        for which, eff, state in (("before", before, main), ("after", after, head)):
            if eff is None:
                setattr(line, f"{which}_usd", 0.0)
                continue
            usd, itype, source = monthly_price(eff, state.lab.spec.providers[eff.provider].region)
            setattr(line, f"{which}_usd", usd)
            setattr(line, f"instance_type_{which}", itype)
            if usd is None:
                known = False
                line.note = source
            elif itype:
                line.source = source
        if not known:
            result.unknown.append(name)
        elif line.before_usd != line.after_usd:
            result.monthly_delta_usd = round(result.monthly_delta_usd + (line.after_usd or 0) - (line.before_usd or 0),
                                             2)
        if line.before_usd or line.after_usd or not known:
            result.lines.append(line)
    return result
