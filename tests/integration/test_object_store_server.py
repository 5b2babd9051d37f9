"""The S3 server the tests and `logoforge dev` run: its room for buckets does not depend on the disk."""

import json
import urllib.request

import boto3

from logoforge.devstack import SeaweedS3
from tests.conftest import S3_KEY, S3_SECRET


def test_the_volume_ceiling_is_the_configured_one_whatever_the_free_disk(s3_server: SeaweedS3) -> None:
    # Every bucket is a collection with a volume of its own. `weed mini`'s own ceiling is one volume per free
    # gigabyte, so a suite that makes a bucket per test ran out part-way on a fuller disk.
    client = boto3.client(
        "s3",
        endpoint_url=s3_server.endpoint,
        aws_access_key_id=S3_KEY,
        aws_secret_access_key=S3_SECRET,
        region_name="us-east-1",
    )
    for name in ("ceiling-a", "ceiling-b"):
        client.create_bucket(Bucket=name)
        client.put_object(Bucket=name, Key="k", Body=b"written")

    with urllib.request.urlopen(f"http://127.0.0.1:{s3_server.master_port}/dir/status", timeout=10) as response:
        topology = json.load(response)["Topology"]

    assert topology["Max"] == s3_server.max_volumes
    assert topology["Max"] - topology["Free"] >= 2  # both buckets took volumes from that ceiling
    for name in ("ceiling-a", "ceiling-b"):
        assert client.get_object(Bucket=name, Key="k")["Body"].read() == b"written"
