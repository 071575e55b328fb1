"""The Ansible configure tests use the sshd test hosts (`ssh_hosts`, registered in tests/conftest.py)."""
