"""Fixtures for the Ansible configure tests: real sshd hosts on 127.0.0.11-13:2222 (tests/backends/ssh.py)."""

from tests.backends.ssh import SshHosts, ssh_hosts  # noqa: F401

__all__ = ["SshHosts"]
