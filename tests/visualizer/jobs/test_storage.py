"""Job outputs in an S3-compatible bucket, on a real S3 server: moto's, in a thread on a free
loopback port, reached through the standard AWS variables as a user's MinIO would be. The
storage contract runs on the local folder and the bucket alike; a job whose worker died ends
with one output in the bucket; a seed grid run by a worker thread lands in the bucket and the
studio's file endpoint serves it (a redirect to a presigned URL); what cannot be used is a
one-line error."""

from __future__ import annotations

import dataclasses
import io
import logging
import sys
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bench.rigs.ports import free_port
from tests.visualizer.jobs.test_queue import steps_kind, wait_for
from tests.visualizer.web.studio_helpers import post_json, request, studio_server
from visualizer.core.errors import GansmaniaError
from visualizer.jobs import JobQueue
from visualizer.jobs.records import RECORD, encode_job
from visualizer.jobs.storage import LocalOutputs, S3Outputs, open_outputs, s3_client

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    # `make test` installs both (the dev extra): a missing one is an install bug, not a skip.
    try:
        import boto3  # noqa: F401
        from moto.server import ThreadedMotoServer
    except ImportError as exc:
        pytest.fail(f"{exc.name} is missing; run `make test`, which installs it (the dev extra)")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the server's line per request
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def aws_env(s3_endpoint, monkeypatch, tmp_path) -> str:
    """The standard AWS variables pointing at the loopback server, nothing from ~/.aws."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "studio-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "studio-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # no instance-metadata probe
    return s3_endpoint


@pytest.fixture
def bucket(aws_env) -> str:
    name = f"studio-{uuid.uuid4().hex[:12]}"
    s3_client().create_bucket(Bucket=name)
    return name


@pytest.fixture(params=["local", "s3"])
def outputs(request, tmp_path) -> LocalOutputs | S3Outputs:
    if request.param == "local":
        return LocalOutputs(tmp_path / "jobs")
    return open_outputs(f"s3://{request.getfixturevalue('bucket')}/studio/renders", tmp_path)


def stored(outputs: LocalOutputs | S3Outputs, job_id: str) -> set[str]:
    """The attempts of ``job_id`` with a finished file where readers look."""
    if isinstance(outputs, LocalOutputs):
        folder = outputs.folder / job_id
        return {p.parent.name for p in folder.glob("*/*")} if folder.is_dir() else set()
    listed = outputs.client.list_objects_v2(Bucket=outputs.bucket,
                                            Prefix=f"studio/renders/{job_id}/")
    return {item["Key"].split("/")[3] for item in listed.get("Contents", ())}


def read(found: Path | str) -> bytes:
    if isinstance(found, Path):
        return found.read_bytes()
    with urllib.request.urlopen(found, timeout=30) as response:
        return response.read()


JOB = "0123456789abcdef0123456789abcdef"


def finish(outputs, attempt: str, text: str, name: str = "out.txt") -> str:
    folder = outputs.scratch(JOB, attempt)
    assert folder.is_dir() and not any(folder.iterdir())
    (folder / name).write_text(text)
    return outputs.publish(JOB, attempt, name)


def test_a_published_output_is_where_readers_look_under_its_key(outputs):
    assert finish(outputs, "first", "one") == "first/out.txt"
    assert stored(outputs, JOB) == {"first"}
    assert read(outputs.locate(JOB, "first/out.txt", filename="x.txt")) == b"one"
    assert outputs.locate(JOB, "first/gone.txt", filename="x.txt") is None
    if isinstance(outputs, S3Outputs):  # uploaded: the scratch folder is gone from this disk
        assert not (outputs.folder / JOB).exists()
        assert outputs.where.endswith("/studio/renders")


def test_a_job_fetches_another_jobs_output_to_read_it(outputs, tmp_path):
    finish(outputs, "first", "part one")
    reader = outputs.scratch("f" * 32, "joiner")
    fetched = outputs.fetch(JOB, "first/out.txt", reader)
    assert fetched.read_text() == "part one"
    if isinstance(outputs, S3Outputs):  # a copy in the reader's own folder
        assert fetched.parent == reader
    with pytest.raises(GansmaniaError, match=f"^job {JOB}: its output first/gone.txt is gone$"):
        outputs.fetch(JOB, "first/gone.txt", reader)


def test_a_job_in_parts_reads_them_from_the_bucket_and_removes_them(bucket, tmp_path):
    from tests.visualizer.jobs.test_spread import piece_kind, whole_kind

    runs: list[str] = []
    queue = JobQueue.open(tmp_path, kinds={"piece": piece_kind({}, runs),
                                           "whole": whole_kind(runs)},
                          outputs=f"s3://{bucket}/studio/renders")
    whole_id = queue.submit("whole", {"texts": ["a", "b", "c"]})
    while queue.run_next():
        pass
    assert read(queue.result(whole_id)) == b"abc"
    assert [stored(queue.outputs, i) for i in queue.get(whole_id).needs] == [set()] * 3
    assert not any(queue.outputs.folder.iterdir())  # no scratch left on this disk


def test_publishing_a_file_the_job_did_not_write_is_an_error(outputs):
    outputs.scratch(JOB, "first")
    with pytest.raises(GansmaniaError, match=f"^job {JOB}: the job said it wrote out.txt, "
                                             "which is not there$"):
        outputs.publish(JOB, "first", "out.txt")
    assert stored(outputs, JOB) == set()


def test_discarding_keeps_one_attempt_or_none(outputs):
    """What a job run twice (a worker taken for dead) leaves: the winner's file only."""
    finish(outputs, "slow", "half")
    finish(outputs, "winner", "whole")
    outputs.scratch(JOB, "third")  # an attempt still writing on this machine
    outputs.discard(JOB, keep="winner")
    assert stored(outputs, JOB) == {"winner"}
    assert outputs.locate(JOB, "slow/out.txt", filename="x.txt") is None
    assert read(outputs.locate(JOB, "winner/out.txt", filename="x.txt")) == b"whole"
    outputs.discard(JOB)
    assert stored(outputs, JOB) == set() and not (outputs.folder / JOB).exists()
    assert outputs.locate(JOB, "winner/out.txt", filename="x.txt") is None


def test_discarding_an_attempt_leaves_the_others(outputs):
    finish(outputs, "lost", "late")
    finish(outputs, "kept", "done")
    outputs.discard_attempt(JOB, "lost")
    assert stored(outputs, JOB) == {"kept"}


def test_the_presigned_url_names_the_file_and_serves_its_type(aws_env, bucket, tmp_path,
                                                              monkeypatch):
    # A host name, as minio:9000 would be: the URL keeps it, the bucket in the path (no
    # wildcard DNS needed for bucket.localhost).
    endpoint = aws_env.replace("127.0.0.1", "localhost")
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    outputs = open_outputs(f"s3://{bucket}", tmp_path)
    assert outputs.where == f"s3://{bucket}"
    result = finish(outputs, "first", "png bytes", name="grid.png")
    for attachment, disposition in ((False, "inline"), (True, "attachment")):
        url = outputs.locate(JOB, result, filename="gansmania-grid-01234567.png",
                             attachment=attachment)
        assert url.startswith(f"{endpoint}/{bucket}/{JOB}/first/grid.png?")
        with urllib.request.urlopen(url, timeout=30) as response:
            assert response.headers["content-disposition"] == \
                f'{disposition}; filename="gansmania-grid-01234567.png"'
            assert response.headers["content-type"] == "image/png"
    key = outputs.client.list_objects_v2(Bucket=bucket)["Contents"][0]["Key"]
    assert key == f"{JOB}/first/grid.png"  # no prefix: the job's folder at the top


def test_a_job_whose_worker_died_ends_with_one_output_in_the_bucket(bucket, tmp_path):
    """The dead attempt had uploaded its file and left its scratch folder; the next attempt's
    "done" removes both, and the job's file is the winner's."""
    url = f"s3://{bucket}/studio/renders"
    queue = JobQueue.open(tmp_path, kinds={"steps": steps_kind()}, outputs=url, lease_s=0.0)
    job_id = queue.submit("steps", {"steps": 2})
    assert queue.huey.dequeue().args == (job_id,)  # a worker took it, ran, and died
    dead = dataclasses.replace(queue.get(job_id), state="running", worker="gone-host:1",
                               attempt="a" * 12, attempts=1, done=1, total=2)
    queue.huey.storage.put_data(RECORD + job_id, encode_job(dead))
    (queue.outputs.scratch(job_id, dead.attempt) / "out.txt").write_text("half")
    queue.outputs.publish(job_id, dead.attempt, "out.txt")
    queue.outputs.scratch(job_id, dead.attempt)  # and had begun again on this disk
    assert queue.recover() == [job_id]
    assert queue.run_next()
    job = queue.get(job_id)
    assert (job.state, job.attempts, job.result) == ("done", 2, f"{job.attempt}/out.txt")
    assert stored(queue.outputs, job_id) == {job.attempt}
    assert not queue.folder_of(job_id).exists()  # no scratch left on this machine
    assert queue.result_path(job_id) is None  # not a file here...
    assert read(queue.result(job_id)) == b"2"  # ...a URL


def test_a_seed_grid_lands_in_the_bucket_and_the_studio_serves_it(bucket, tmp_path):
    with studio_server(tmp_path, worker=True, outputs=f"s3://{bucket}/studio") as (base, queue):
        status, job = post_json(base + "api/jobs", {"kind": "grid", "seed": 5, "count": 1})
        assert status == 201, job
        wait_for(lambda: queue.get(job["id"]).state in ("done", "failed"), "the grid",
                 timeout_s=90)
        done = queue.get(job["id"])
        assert (done.state, done.error) == ("done", "")
        file_url = f"{base}api/jobs/{done.id}/file"
        redirect = _no_redirects(file_url + "?download=1")
        assert redirect.status == 307
        assert redirect.headers["location"].startswith(queue.outputs.client.meta.endpoint_url)
        status, body = request(file_url)  # urllib follows the redirect to the bucket
    assert status == 200
    grid = np.asarray(Image.open(io.BytesIO(body)))
    assert grid.shape == (256, 256, 3) and grid.std() > 1  # one image of the bundled model
    key = f"studio/{done.id}/{done.attempt}/grid.png"
    assert body == outputs_bytes(queue.outputs, key)
    assert not (tmp_path / "jobs").exists() and not (tmp_path / "scratch" / done.id).exists()


def outputs_bytes(outputs: S3Outputs, key: str) -> bytes:
    return outputs.client.get_object(Bucket=outputs.bucket, Key=key)["Body"].read()


def _no_redirects(url: str):
    """The first response, its redirect not followed."""
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    connection.request("GET", f"{parts.path}?{parts.query}")
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


def test_what_it_cannot_use_is_a_one_line_error(aws_env, bucket, tmp_path, monkeypatch):
    def refused(url: str) -> str:
        with pytest.raises(GansmaniaError) as raised:
            open_outputs(url, tmp_path)
        return str(raised.value)

    assert refused("ftp://host/renders") == ("outputs 'ftp://host/renders': unknown; allowed: "
                                             "s3://BUCKET or s3://BUCKET/PREFIX (default: the "
                                             "--data folder)")
    assert refused("s3://key:secret@renders").startswith(
        "outputs 's3://key:secret@renders': bucket 'key:secret@renders' is not a bucket name")
    assert refused("s3://no-such-bucket/p") == ("outputs s3://no-such-bucket/p: no such bucket "
                                                "(create it first)")
    from moto.core import enable_iam_authentication

    with enable_iam_authentication():  # moto checks keys now: ours are unknown to it
        assert refused(f"s3://{bucket}") == (
            f"outputs s3://{bucket}: access refused: check AWS_ACCESS_KEY_ID, "
            "AWS_SECRET_ACCESS_KEY and the bucket's permissions")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    assert refused(f"s3://{bucket}") == (f"outputs s3://{bucket}: no credentials: set "
                                         "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
                                         "(or AWS_PROFILE)")
    monkeypatch.setitem(sys.modules, "boto3", None)  # as if not installed
    assert refused(f"s3://{bucket}") == ("outputs in a bucket need boto3: "
                                         "pip install 'gansmania[s3]'")


def test_the_commands_say_why_a_bucket_cannot_be_used(aws_env, tmp_path, capsys):
    from visualizer.cli import main

    for command in ("web", "worker"):
        with pytest.raises(SystemExit) as ended:
            main([command, "--data", str(tmp_path), "--outputs", "s3://missing-bucket/x"])
        # (web stops before it listens: the check comes first)
        assert ended.value.code == 2
        assert capsys.readouterr().err == ("gansmania: error: outputs s3://missing-bucket/x: "
                                           "no such bucket (create it first)\n")
