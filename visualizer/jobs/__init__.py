"""Renders and seed grids as jobs, outside the web process's request handlers.

    jobs = JobQueue.open(folder)              # SQLite store in folder/jobs.db
    jobs = JobQueue.open(folder, broker="redis://host:6379/0")   # many workers, many machines
    jobs = JobQueue.open(folder, outputs="s3://bucket/prefix")  # outputs in a bucket (storage.py)
    job_id = jobs.submit("render", {...})     # params checked now: a bad one is a GansmaniaError
    jobs.get(job_id).progress                 # 0..1, written by the worker as it goes
    jobs.cancel(job_id)                       # checked between frames
    worker = ThreadWorker(jobs).start()       # or `gansmania worker` in its own process
"""

from visualizer.jobs.queue import JobContext, JobQueue
from visualizer.jobs.records import Job, JobCancelled, JobLost
from visualizer.jobs.worker import ThreadWorker, Worker

__all__ = ["Job", "JobCancelled", "JobContext", "JobLost", "JobQueue", "ThreadWorker", "Worker"]
