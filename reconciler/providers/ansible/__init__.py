"""The Ansible configure step: run a chart's playbook over SSH (ansible-runner) and report per-host recaps."""

from reconciler.providers.ansible.playbook import playbook_path
from reconciler.providers.ansible.runner import ConfigureResult, run_playbook
from reconciler.providers.ansible.targets import ConfigureTarget, inventory, target_for

__all__ = ["ConfigureResult", "ConfigureTarget", "inventory", "playbook_path", "run_playbook", "target_for"]
