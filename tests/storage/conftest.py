"""S3 fixtures for the storage tests: a real S3-compatible server on 127.0.0.1.

What it does: ``s3_server`` starts moto's standalone server once per session on a free port
and sets dummy AWS credentials for the session; ``s3_store_factory`` hands each test a
callable making a ``FSStore`` on a fresh bucket of that server, with s3fs's instance and
listing cache emptied so that no test sees another's state.

What callers guarantee: nothing beyond asking for the fixture; a test that uses it is
skipped cleanly when moto, s3fs or fsspec is not installed.

What it refuses: it never talks to a real AWS endpoint (the endpoint URL is always the local
server, and the credentials are fake).
"""
import itertools
import os

import pytest

_BUCKETS = itertools.count()
_FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "zarr-fast-test",
    "AWS_SECRET_ACCESS_KEY": "zarr-fast-test",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture(scope="session")
def s3_server():
    """``{"endpoint_url", "key", "secret"}`` of a moto S3 server running for the session."""
    pytest.importorskip("fsspec")
    pytest.importorskip("s3fs")
    moto_server = pytest.importorskip("moto.server")
    saved = {name: os.environ.get(name) for name in _FAKE_CREDENTIALS}
    # botocore reads credentials and region from the environment when a client is made
    # without them (zarr 2.18's FSStore in the interop tests, say); never real ones here
    os.environ.update(_FAKE_CREDENTIALS)
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield {
            "endpoint_url": f"http://{host}:{port}",
            "key": _FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            "secret": _FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        }
    finally:
        server.stop()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.fixture
def s3_options(s3_server):
    """fsspec storage options reaching the test server.

    s3fs's instance cache stays on: every store made with these options shares one
    ``S3FileSystem`` (a new one costs about a second to build its client). Tests stay apart
    because each gets a fresh bucket and the shared listing cache is emptied per store.
    """
    return {
        "client_kwargs": {"endpoint_url": s3_server["endpoint_url"]},
        "key": s3_server["key"],
        "secret": s3_server["secret"],
    }


@pytest.fixture
def s3_bucket_factory(s3_options):
    """``make() -> bucket name``: a new, empty bucket on the test server."""
    import s3fs

    fs = s3fs.S3FileSystem(**s3_options)

    def make():
        # bucket names: lowercase, 3-63 characters, unique per session
        name = f"zarr-fast-{os.getpid()}-{next(_BUCKETS)}"
        fs.mkdir(name)
        # listings cached by earlier tests (same shared instance) must not leak in
        fs.invalidate_cache()
        return name

    return make


@pytest.fixture
def s3_store_factory(s3_options, s3_bucket_factory):
    """``make(prefix="data", **kwargs) -> FSStore`` on a fresh bucket of the test server.

    Keyword arguments go to ``FSStore`` (``key_separator``, ``mode``, ...). The store's URL is
    ``s3://<bucket>/<prefix>``; ``make.last_url`` keeps it for tests that open it again.
    """
    from zarr_fast.storage.fsstore import FSStore

    def make(prefix="data", **kwargs):
        url = f"s3://{s3_bucket_factory()}/{prefix}"
        make.last_url = url
        return FSStore(url, **{**s3_options, **kwargs})

    make.last_url = None
    return make
