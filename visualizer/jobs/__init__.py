"""Renders and seed grids as jobs, outside the web process's request handlers.

    jobs = JobQueue.open(folder)              # SQLite store in folder/jobs.db
    job_id = jobs.submit("render", {...})     # params checked now: a bad one is a GansmaniaError
    jobs.get(job_id).progress                 # 0..1, written by the worker as it goes
    jobs.cancel(job_id)                       # checked between frames
    worker = ThreadWorker(jobs).start()       # or `gansmania worker` in its own process
"""

from visualizer.jobs.queue import Job, JobCancelled, JobContext, JobQueue, ThreadWorker

__all__ = ["Job", "JobCancelled", "JobContext", "JobQueue", "ThreadWorker"]
