"""Runs `homeport apply` and kills itself (SIGKILL) the moment EC2 answers RunInstances.

Used by the end-to-end crash test: the instance exists, nothing after the call has run (no
intent finished, no record written), exactly as a power cut right after run_instances.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

import boto3

from reconciler.cli import main
from reconciler.providers.aws import session as aws_session

_build = aws_session.build_session


def _killing_session(config: Any) -> boto3.session.Session:
    session = _build(config)
    session.events.register("after-call.ec2.RunInstances", lambda **_: os.kill(os.getpid(), signal.SIGKILL))
    return session


if __name__ == "__main__":
    aws_session.build_session = _killing_session  # type: ignore[assignment]
    sys.argv = ["homeport", *sys.argv[1:]]
    main()
