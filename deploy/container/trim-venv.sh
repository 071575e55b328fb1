#!/bin/sh
# Run in the image's build stage: drop what homeport never loads from the venv, to keep the image small.
# - the asyncio copy of the Kubernetes client (homeport uses the synchronous one)
# - the asyncio copies of the Azure management clients (homeport uses the synchronous ones)
# - ansible-test (a developer tool of ansible-core)
# - botocore's API models of the ~440 AWS services homeport does not call (it calls EC2 and
#   CloudFormation; STS/SSO are kept for credentials and named profiles)
set -eu
venv="${1:-/opt/homeport}"
sp=$(echo "$venv"/lib/python3*/site-packages)
rm -rf "$sp/kubernetes/aio" "$sp/ansible_test" "$sp"/azure/mgmt/*/aio "$sp"/azure/mgmt/*/*/aio
if [ -d "$sp/botocore/data" ]; then
    for service in "$sp"/botocore/data/*/; do
        case "$(basename "$service")" in
            ec2|cloudformation|sts|sso|sso-oidc|iam) ;;
            *) rm -rf "$service" ;;
        esac
    done
fi
find "$venv" -name '*.dist-info' -prune -o -type d -name tests -path '*/site-packages/*' -prune -exec rm -rf {} +
