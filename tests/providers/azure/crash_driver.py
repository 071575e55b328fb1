"""Runs `homeport apply` and kills itself (SIGKILL) the moment ARM answers a chosen request.

HOMEPORT_TEST_KILL_AFTER="PUT /virtualMachines/web" names the request (method and path suffix).
Used by the end-to-end crash test: the VM create was accepted, nothing after it has run (no LRO
awaited, no intent finished, no record written), exactly as a power cut right after the call.
"""

from __future__ import annotations

import os
import signal
import sys

from reconciler.cli import main
from reconciler.providers.azure import clients

_post_init = clients.AzureClients.__init__


def _killing_init(self: clients.AzureClients, *args: object, **kwargs: object) -> None:
    _post_init(self, *args, **kwargs)  # type: ignore[arg-type]
    method, _, suffix = os.environ["HOMEPORT_TEST_KILL_AFTER"].partition(" ")

    def hook(verb: str, path: str, status: int) -> None:
        if verb == method and path.lower().endswith(suffix.lower()) and status < 300:
            os.kill(os.getpid(), signal.SIGKILL)

    self.on_response.append(hook)


if __name__ == "__main__":
    clients.AzureClients.__init__ = _killing_init  # type: ignore[method-assign]
    sys.argv = ["homeport", *sys.argv[1:]]
    main()
