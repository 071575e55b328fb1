"""AWS provider: EC2 through boto3, with the `api` (default) and `cloudformation` executors."""

from reconciler.providers.aws.provider import AwsProvider

PROVIDER_CLASS = AwsProvider

__all__ = ["PROVIDER_CLASS", "AwsProvider"]
