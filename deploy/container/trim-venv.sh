#!/bin/sh
# Run in the image's build stage: drop what homeport never loads from the venv, to keep the image small.
# - the asyncio copy of the Kubernetes client (homeport uses the synchronous one)
# - the asyncio copies of the Azure management clients (homeport uses the synchronous ones)
# - ansible-test (a developer tool of ansible-core)
# - botocore's API models of the ~440 AWS services homeport does not call (it calls EC2 and
#   CloudFormation; STS/SSO are kept for credentials and named profiles)
# - the test suites packages ship (`tests` folders, SQLAlchemy's and Alembic's `testing` harnesses,
#   imported only by their own test plugins)
# - the bytecode of Ansible's modules: they run on the managed hosts, shipped there as source
#   (AnsiballZ); the controller never imports them
# - debug symbols and symbol tables of compiled extensions, bundled libraries and the docker-compose
#   binary (`strip --strip-unneeded`: what remains is what the dynamic linker needs)
set -eu
venv="${1:-/opt/homeport}"
sp=$(echo "$venv"/lib/python3*/site-packages)
rm -rf "$sp/kubernetes/aio" "$sp/ansible_test" "$sp"/azure/mgmt/*/aio "$sp"/azure/mgmt/*/*/aio \
    "$sp/sqlalchemy/testing" "$sp/alembic/testing"
if [ -d "$sp/botocore/data" ]; then
    for service in "$sp"/botocore/data/*/; do
        case "$(basename "$service")" in
            ec2|cloudformation|sts|sso|sso-oidc|iam) ;;
            *) rm -rf "$service" ;;
        esac
    done
fi
find "$venv" -name '*.dist-info' -prune -o -type d -name tests -path '*/site-packages/*' -prune -exec rm -rf {} +
if [ -d "$sp/ansible/modules" ]; then
    find "$sp/ansible/modules" -type d -name __pycache__ -prune -exec rm -rf {} +
fi
if command -v strip >/dev/null; then
    find "$sp" -type f \( -name '*.so' -o -name '*.so.*' \) -exec strip --strip-unneeded {} +
    [ ! -f "$venv/bin/docker-compose" ] || strip --strip-unneeded "$venv/bin/docker-compose"
else
    echo "trim-venv: no strip (install binutils): extensions keep their symbols" >&2
fi
