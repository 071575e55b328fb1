"""Benchmark: a no-op observe + diff cycle of the aws provider over 200 managed instances on moto.

Starts its own `moto_server` on 127.0.0.1, creates N managed instances (tags and an EBS root volume
each; `--via-provider` creates them through apply()), then times observe() plus the pure diff of
every resource against its desired fields, and counts the AWS API calls one cycle makes.

    .venv/bin/python bench/aws_observe.py [--count 200] [--cycles 5]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.provider_state import MemoryState  # noqa: E402
from reconciler.models.effective import EffectiveResource  # noqa: E402
from reconciler.models.lab import Credentials, ProviderConfig  # noqa: E402
from reconciler.models.plan import Change, Op  # noqa: E402
from reconciler.models.resource import Deployment, NetworkSpec, Requirements, ServiceSpec  # noqa: E402
from reconciler.plan.diff import diff_fields  # noqa: E402
from reconciler.providers.aws import AwsProvider  # noqa: E402
from reconciler.providers.aws.fields import ownership_tags  # noqa: E402
from reconciler.providers.base import ProviderContext  # noqa: E402


def start_moto(log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """moto_server on a free port; returns the process and endpoint."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    binary = Path(sys.executable).with_name("moto_server")
    with log.open("wb") as out:
        proc = subprocess.Popen([str(binary), "-H", "127.0.0.1", "-p", str(port)], stdout=out, stderr=subprocess.STDOUT)
    endpoint = f"http://127.0.0.1:{port}"
    for _ in range(150):
        try:
            with urllib.request.urlopen(f"{endpoint}/moto-api/data.json", timeout=2):
                return proc, endpoint
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"moto_server did not start: {log.read_text()[-1000:]}")


def resource(name: str, ami: str) -> EffectiveResource:
    """A small EC2 resource."""
    return EffectiveResource(
        name=name,
        lab="bench",
        labels={"app": "bench"},
        resource_type="compute",
        workload_type="web-app",
        provider="cloud",
        provider_type="aws",
        pool="/cloud/aws",
        pool_name="aws",
        requirements=Requirements(cpu=2, memory_gb=4, storage_gb=10),
        deployment=Deployment(),
        network=NetworkSpec(),
        service=ServiceSpec(),
        properties={"ami": ami},
    )


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--cycles", type=int, default=5)
    parser.add_argument("--via-provider", action="store_true", help="create the instances through apply()")
    args = parser.parse_args()
    os.environ.update({"BENCH_AWS_KEY": "AKIABENCHKEY00000001", "BENCH_AWS_SECRET": "bench-secret"})
    with tempfile.TemporaryDirectory() as tmp:
        proc, endpoint = start_moto(Path(tmp) / "moto.log")
        try:
            config = ProviderConfig(
                type="aws",
                region="us-east-1",
                endpoint=endpoint,
                credentials=Credentials(access_key_env="BENCH_AWS_KEY", secret_key_env="BENCH_AWS_SECRET"),
                options={"poll_seconds": 0},
            )
            provider = AwsProvider(
                ProviderContext(lab="bench", name="cloud", config=config, state=MemoryState(), work_dir=Path(tmp))
            )
            ec2 = provider.ec2("us-east-1")
            images = ec2.describe_images(Owners=["amazon"], Filters=[{"Name": "root-device-type", "Values": ["ebs"]}])
            ami = sorted(i["ImageId"] for i in images["Images"] if i.get("Platform") != "windows")[0]
            resources = [resource(f"vm-{i:03d}", ami) for i in range(args.count)]
            started = time.perf_counter()
            if args.via_provider:
                for res in resources:
                    change = Change(
                        op=Op.create,
                        resource=res.name,
                        provider="cloud",
                        provider_type="aws",
                        reason="bench",
                        desired=provider.desired_fields(res),
                    )
                    provider.apply(change, res, None)
            else:
                # One RunInstances per instance with the tags and root volume the api executor would set
                # (the no-op diff below proves they match); the provider's own create path re-reads
                # the growing inventory on every call, which costs minutes on moto (--via-provider).
                root = ec2.describe_images(ImageIds=[ami])["Images"][0]["RootDeviceName"]
                for res in resources:
                    desired = provider.desired_fields(res)
                    tags = [
                        {"Key": k, "Value": v}
                        for k, v in {**desired["tags"], **ownership_tags("bench", res.name)}.items()
                    ]
                    ec2.run_instances(
                        ImageId=ami,
                        InstanceType=desired["instance_type"],
                        MinCount=1,
                        MaxCount=1,
                        BlockDeviceMappings=[{"DeviceName": root, "Ebs": {"VolumeSize": 10, "VolumeType": "gp3"}}],
                        TagSpecifications=[
                            {"ResourceType": "instance", "Tags": tags},
                            {
                                "ResourceType": "volume",
                                "Tags": [{"Key": k, "Value": v} for k, v in ownership_tags("bench", res.name).items()],
                            },
                        ],
                    )
            setup_s = time.perf_counter() - started
            setup_calls = len(provider.clients.calls)

            call_seconds: dict[str, float] = {}
            pending: dict[str, float] = {}

            def before(model: Any, **_: Any) -> None:
                pending[model.name] = time.perf_counter()

            def after(model: Any, **_: Any) -> None:
                spent = time.perf_counter() - pending.pop(model.name, time.perf_counter())
                call_seconds[model.name] = call_seconds.get(model.name, 0.0) + spent

            ec2.meta.events.register("before-call", before)
            ec2.meta.events.register("after-call", after)
            timings, calls, diffs = [], [], []
            for _ in range(args.cycles):
                before = len(provider.clients.calls)
                t0 = time.perf_counter()
                inventory = provider.observe()
                owned = inventory.owned("bench")
                changed = sum(
                    1
                    for res in resources
                    if diff_fields(provider.desired_fields(res), owned[res.name].fields, None, provider.diff_rules)
                )
                timings.append(time.perf_counter() - t0)
                calls.append(len(provider.clients.calls) - before)
                diffs.append(changed)
            per_op: dict[str, int] = {}
            for call in provider.clients.calls[-calls[-1] :]:
                per_op[call] = per_op.get(call, 0) + 1
            figures = {
                "instances": args.count,
                "owned_observed": len(owned),
                "setup_seconds": round(setup_s, 1),
                "setup_api_calls": setup_calls,
                "noop_cycle_api_calls": calls[-1],
                "noop_cycle_calls_by_operation": per_op,
                "noop_cycle_seconds_median": round(statistics.median(timings), 3),
                "seconds_per_call_mean": {k: round(v / args.cycles, 3) for k, v in sorted(call_seconds.items())},
                "noop_cycle_seconds_min": round(min(timings), 3),
                "noop_cycle_seconds_max": round(max(timings), 3),
                "resources_with_changes": max(diffs),
                "cycles": args.cycles,
            }
            print(json.dumps(figures, indent=2))
            provider.close()
        finally:
            proc.terminate()
            proc.wait(timeout=10)


if __name__ == "__main__":
    main()
