"""How the web door is served: which Host headers it answers, cookie flags, session lifetime."""

from __future__ import annotations

from pydantic import BaseModel, Field

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")


class WebSettings(BaseModel):
    """Settings of the web UI and REST API (the daemon and `homeport serve` fill them from flags)."""

    allowed_hosts: list[str] = Field(default_factory=list,
                                     description="Extra Host header values to answer, e.g. homeport.lan:8080 "
                                                 "(loopback names are always allowed)")
    secure_cookies: bool = Field(default=False, description="Mark cookies Secure (set when served over HTTPS)")
    session_idle_minutes: int = Field(default=12 * 60, ge=1, description="A browser session ends after this idle time")
    poll_seconds: float = Field(default=2.0, gt=0, description="How often the live-update stream checks for new runs")


    def host_allowed(self, host: str) -> bool:
        """Whether a request's Host header is one this server answers (DNS-rebinding protection)."""
        host = host.strip().lower()
        if not host:
            return False
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        if name in LOOPBACK_HOSTS:
            return True
        return any(host == allowed.lower() or name == allowed.lower() for allowed in self.allowed_hosts)
