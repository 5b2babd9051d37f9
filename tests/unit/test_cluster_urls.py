"""LOGOFORGE_RABBIT_URL naming several nodes of one cluster."""

import pytest

from services.cluster import node_urls, redact


def test_one_node_is_the_url_itself():
    assert node_urls("amqp://guest:guest@127.0.0.1:5672/") == ["amqp://guest:guest@127.0.0.1:5672/"]


def test_each_node_keeps_the_credentials_vhost_and_query():
    url = "amqps://lf:s3cret@rabbit-1:5671,rabbit-2:5671, rabbit-3/logoforge?heartbeat=30"
    assert node_urls(url) == [
        "amqps://lf:s3cret@rabbit-1:5671/logoforge?heartbeat=30",
        "amqps://lf:s3cret@rabbit-2:5671/logoforge?heartbeat=30",
        "amqps://lf:s3cret@rabbit-3/logoforge?heartbeat=30",
    ]


def test_a_password_with_at_signs_and_no_path():
    assert node_urls("amqp://u:p@ss@a:1,b:2") == ["amqp://u:p@ss@a:1", "amqp://u:p@ss@b:2"]


@pytest.mark.parametrize("url", ["rabbit-1,rabbit-2", "amqp://u:p@a:1,,b:2/"])
def test_bad_lists_are_refused_naming_the_setting(url):
    with pytest.raises(ValueError, match="rabbit_url"):
        node_urls(url)


def test_logs_never_show_the_password():
    assert "s3cret" not in redact("amqp://lf:s3cret@rabbit-1:5672/")
