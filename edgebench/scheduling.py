"""Keep Snakemake's own scheduler from disturbing the measured runs it starts."""

import logging

log = logging.getLogger("edgebench.scheduling")


def drop_local_rate_limit(workflow) -> bool:
    """Remove Snakemake's job rate limiter from a local run; return whether one was removed.

    Snakemake 9's default limit (--max-jobs-per-timespan 100/1s) arms a one-second timer for
    another scheduling round after every round, and each finished job starts one more such
    chain of timers. Hours into a matrix the scheduler re-plans dozens of times a second (with
    the ILP solver, as long as a measured run holds the `measure` resource and others wait),
    using a fifth of a core beside the run being measured: 6 CPU-minutes in a 30-minute demo
    here. (Upstream: snakemake pull request #3744.) A local run starts a few jobs at a time and
    needs no rate limit; cluster runs keep theirs, the scheduler runs on a login node there.
    Called from the workflow's onstart handler, after the scheduler exists, before it runs.
    """
    scheduler = getattr(workflow, "scheduler", None)
    if not workflow.local_exec or scheduler is None:
        return False
    if not hasattr(scheduler, "job_rate_limiter"):
        # A Snakemake release that moved it: the test of this behaviour will say so.
        log.warning("Snakemake's scheduler has no job_rate_limiter; left as it is")
        return False
    removed = scheduler.job_rate_limiter is not None
    scheduler.job_rate_limiter = None
    return removed
