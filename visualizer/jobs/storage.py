"""Where job outputs go: a folder every worker and the web process can reach (this machine's
disk, or a mount all machines share), or an S3-compatible bucket (AWS S3, MinIO, Ceph, R2).

Each attempt at a job writes into a folder of its own, ``<job id>/<attempt>/``; the record
that says "done" names the attempt's file, and the other attempts' files (a worker taken for
dead that was only slow) are removed. So a job run twice still ends with one file, and a reader
never sees a half-written one under the finished name.

Both kinds answer the same calls: ``scratch`` (the attempt's empty folder on this machine),
``publish`` (the finished file's result key), ``discard`` / ``discard_attempt`` (remove
attempts' files), ``locate`` (where a reader gets the finished file: a path on this machine, or
a presigned URL of the bucket), ``fetch`` (another job's finished file for a job to read: the
file itself, or a copy downloaded into the job's folder).
"""

from __future__ import annotations

import logging
import mimetypes
import re
import shutil
from pathlib import Path
from urllib.parse import urlsplit

from visualizer.core.errors import GansmaniaError

log = logging.getLogger(__name__)

URL_TTL_S = 3600  # a presigned URL serves the file this long (a long video keeps seeking)
BUCKET = re.compile(r"[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]")  # S3's rule; '_' for older stores
INSTALL = "pip install 'gansmania[s3]'"


class LocalOutputs:
    """Job outputs under ``folder`` (the studio's ``jobs/``)."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)  # this machine's folder of the jobs' files
        self.where = str(self.folder)

    def scratch(self, job_id: str, attempt: str) -> Path:
        """The attempt's own folder, created empty."""
        folder = self.folder / job_id / attempt
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        return folder

    def publish(self, job_id: str, attempt: str, name: str) -> str:
        """The result's key (its path inside the job's folder) once ``name`` is finished."""
        if not (self.folder / job_id / attempt / name).is_file():
            raise GansmaniaError(f"job {job_id}: the job said it wrote {name}, which is not there")
        return f"{attempt}/{name}"

    def discard(self, job_id: str, *, keep: str | None = None) -> None:
        """Remove the job's attempts' files, all but the attempt ``keep``."""
        folder = self.folder / job_id
        if keep is None:
            shutil.rmtree(folder, ignore_errors=True)
            return
        for attempt in folder.iterdir() if folder.is_dir() else ():
            if attempt.name != keep:
                shutil.rmtree(attempt, ignore_errors=True)

    def discard_attempt(self, job_id: str, attempt: str) -> None:
        shutil.rmtree(self.folder / job_id / attempt, ignore_errors=True)

    def path(self, job_id: str, result: str) -> Path | None:
        """The finished output on this machine; None when it is not (any more) there."""
        path = self.folder / job_id / result
        return path if path.is_file() else None

    def locate(self, job_id: str, result: str, *, filename: str = "",
               attachment: bool = False) -> Path | None:
        """The finished output's path (the web server names it ``filename`` itself)."""
        return self.path(job_id, result)

    def fetch(self, job_id: str, result: str, folder: Path) -> Path:
        """The finished output, to read (here, in place: ``folder`` is not used)."""
        path = self.path(job_id, result)
        if path is None:
            raise GansmaniaError(f"job {job_id}: its output {result} is gone")
        return path


class S3Outputs:
    """Job outputs in a bucket: ``s3://bucket/prefix/<job id>/<attempt>/<name>``. A job writes
    into its scratch folder under ``scratch`` on this machine (the studio folder, not /tmp:
    renders can be larger than a RAM-backed /tmp), ``publish`` uploads the file (boto3's managed
    transfer: multipart for large ones) and removes the scratch folder; readers get a presigned
    URL. ``client``: a boto3 S3 client (``s3_client()``: the standard AWS environment)."""

    def __init__(self, bucket: str, prefix: str, scratch: Path, client) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.local = LocalOutputs(scratch)
        self.folder = self.local.folder
        self.where = f"s3://{bucket}/{self.prefix}".rstrip("/")
        self.client = client

    def check(self) -> None:
        """GansmaniaError (one line) when the bucket is missing, the credentials are refused or
        the endpoint cannot be reached."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.head_bucket(Bucket=self.bucket)
        except (BotoCoreError, ClientError) as exc:
            raise GansmaniaError(f"outputs {self.where}: {_explain(exc, self.client)}") from None

    def scratch(self, job_id: str, attempt: str) -> Path:
        """The attempt's own folder on this machine, created empty."""
        return self.local.scratch(job_id, attempt)

    def publish(self, job_id: str, attempt: str, name: str) -> str:
        """Upload the finished ``name``; its result key (``attempt/name``, as in a folder)."""
        from botocore.exceptions import BotoCoreError, ClientError

        result = self.local.publish(job_id, attempt, name)  # the same check: the file is there
        kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
        try:
            self.client.upload_file(str(self.folder / job_id / result), self.bucket,
                                    self._key(job_id, result), ExtraArgs={"ContentType": kind})
        except (BotoCoreError, ClientError) as exc:
            raise GansmaniaError(f"outputs {self.where}: uploading {name} failed: "
                                 f"{_explain(exc, self.client)}") from None
        self._drop_scratch(job_id, attempt)
        return result

    def discard(self, job_id: str, *, keep: str | None = None) -> None:
        """Remove the job's attempts' objects (and scratch folders), all but the attempt
        ``keep``. A bucket that cannot be reached now leaves them, with a warning: as with a
        folder, cleaning up never fails a job."""
        self.local.discard(job_id, keep=keep)
        self._drop_scratch(job_id, keep)  # the kept attempt's file is in the bucket
        kept = None if keep is None else self._key(job_id, keep, "")
        self._delete(self._key(job_id, ""), lambda key: kept is None or not key.startswith(kept))

    def discard_attempt(self, job_id: str, attempt: str) -> None:
        self._drop_scratch(job_id, attempt)
        self._delete(self._key(job_id, attempt, ""), lambda key: True)

    def locate(self, job_id: str, result: str, *, filename: str,
               attachment: bool = False) -> str | None:
        """A presigned GET of the finished output that names it ``filename`` (inline, or as an
        attachment); None when it is not (any more) in the bucket."""
        from botocore.exceptions import BotoCoreError, ClientError

        key = self._key(job_id, result)
        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise GansmaniaError(f"outputs {self.where}: {_explain(exc, self.client)}") from None
        except BotoCoreError as exc:
            raise GansmaniaError(f"outputs {self.where}: {_explain(exc, self.client)}") from None
        disposition = f'{"attachment" if attachment else "inline"}; filename="{filename}"'
        return self.client.generate_presigned_url(
            "get_object", ExpiresIn=URL_TTL_S,
            Params={"Bucket": self.bucket, "Key": key, "ResponseContentDisposition": disposition})

    def fetch(self, job_id: str, result: str, folder: Path) -> Path:
        """A copy of the finished output, downloaded into ``folder`` (a job's own)."""
        from botocore.exceptions import BotoCoreError, ClientError

        path = Path(folder) / f"{job_id}-{result.rpartition('/')[2]}"
        try:
            self.client.download_file(self.bucket, self._key(job_id, result), str(path))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                raise GansmaniaError(f"job {job_id}: its output {result} is gone") from None
            raise GansmaniaError(f"outputs {self.where}: downloading job {job_id}'s {result} "
                                 f"failed: {_explain(exc, self.client)}") from None
        except BotoCoreError as exc:
            raise GansmaniaError(f"outputs {self.where}: downloading job {job_id}'s {result} "
                                 f"failed: {_explain(exc, self.client)}") from None
        return path

    def _key(self, job_id: str, *parts: str) -> str:
        return "/".join(part for part in (self.prefix, job_id) if part) + "/" + "/".join(parts)

    def _drop_scratch(self, job_id: str, attempt: str | None) -> None:
        if attempt is not None:
            self.local.discard_attempt(job_id, attempt)
        try:
            (self.folder / job_id).rmdir()  # the job's folder, once no attempt runs here
        except OSError:
            pass

    def _delete(self, prefix: str, wanted) -> None:
        """Delete the objects under ``prefix`` that ``wanted(key)`` picks."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=prefix)
            for page in pages:  # at most 1000 keys a page: one delete call each
                keys = [{"Key": item["Key"]} for item in page.get("Contents", ())
                        if wanted(item["Key"])]
                if keys:
                    self.client.delete_objects(Bucket=self.bucket,
                                               Delete={"Objects": keys, "Quiet": True})
        except (BotoCoreError, ClientError) as exc:
            log.warning("outputs %s: could not remove %s* (%s); they stay", self.where, prefix,
                        _explain(exc, self.client))


def s3_client():
    """A boto3 S3 client from the standard AWS settings: AWS_ENDPOINT_URL (or
    AWS_ENDPOINT_URL_S3) for a store that is not AWS, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
    AWS_DEFAULT_REGION, AWS_PROFILE and ~/.aws. GansmaniaError when boto3 is missing."""
    try:
        import boto3
        from botocore.config import Config
    except ImportError:
        raise GansmaniaError(f"outputs in a bucket need boto3: {INSTALL}") from None
    # Signature v4 and checksums only where the API requires them: what MinIO, Ceph and R2
    # accept (boto3's newer default checksum trailers are refused by some of them).
    settings = dict(signature_version="s3v4", retries={"mode": "standard"},
                    request_checksum_calculation="when_required",
                    response_checksum_validation="when_required")
    # (botocore puts the bucket in the path for an AWS_ENDPOINT_URL: no wildcard DNS needed.)
    return boto3.session.Session().client("s3", config=Config(**settings))


def open_outputs(url: str | None, folder: Path) -> LocalOutputs | S3Outputs:
    """The outputs of the studio in ``folder``: its ``jobs/`` folder when ``url`` is None or
    empty, else the bucket at ``s3://BUCKET[/PREFIX]``, checked now (GansmaniaError, one line:
    a bad URL, boto3 missing, no such bucket, credentials refused, endpoint away)."""
    folder = Path(folder)
    if not url:
        return LocalOutputs(folder / "jobs")
    parts = urlsplit(url)
    if parts.scheme != "s3" or parts.query or parts.fragment:
        raise GansmaniaError(f"outputs {url!r}: unknown; allowed: s3://BUCKET or "
                             "s3://BUCKET/PREFIX (default: the --data folder)")
    if not BUCKET.fullmatch(parts.netloc):
        raise GansmaniaError(f"outputs {url!r}: bucket {parts.netloc!r} is not a bucket name "
                             "(3-63 lowercase letters, digits, '.', '-'; credentials go in "
                             "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)")
    outputs = S3Outputs(parts.netloc, parts.path, folder / "scratch", s3_client())
    outputs.check()
    return outputs


def _explain(exc: Exception, client) -> str:
    """A boto3 error as the one line a user acts on."""
    from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

    if isinstance(exc, NoCredentialsError):
        return "no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE)"
    if isinstance(exc, EndpointConnectionError):
        return f"cannot reach {client.meta.endpoint_url} (AWS_ENDPOINT_URL)"
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        if code in ("404", "NoSuchBucket"):
            return "no such bucket (create it first)"
        if code in ("403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
            return ("access refused: check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and the "
                    "bucket's permissions")
        return f"{code}: {error.get('Message') or exc}"
    return str(exc)
