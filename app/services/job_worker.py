"""`python -m app worker`: takes simulation jobs off the queue and runs them on Dask.

One process holds a Procrastinate worker (heartbeats every JOB_HEARTBEAT_SECONDS) and a Dask
client. Every worker also looks for runs whose worker went silent for JOB_STALLED_SECONDS (a
killed or frozen process) and puts them back on the queue, so another worker retries them; a
retried run starts again from its first path and gives the same numbers.
"""

import asyncio
import contextlib
import json
import logging
import threading

import anyio
from procrastinate import JobContext, RetryStrategy
from procrastinate.exceptions import ConnectorException
from sqlalchemy.ext.asyncio import async_sessionmaker

from app.config import Settings
from app.database import Database
from app.schemas.simulation import SimulationRequest
from app.services import datasets, jobs, monte_carlo, saved_simulations
from app.services.errors import InvalidInput
from app.services.job_compute import (
    RunCancelled,
    ShardedRun,
    connect,
    shard_paths_for,
    warm_up,
)
from app.services.job_queue import QUEUE, RUN_JOB, build_app

logger = logging.getLogger(__name__)

PROGRESS_SECONDS = 0.25
CANCEL_GRACE_SECONDS = 5.0


class JobRunner:
    """Runs one job: marks it running, computes it on the cluster, saves its simulation."""

    def __init__(self, settings: Settings, sessionmaker: async_sessionmaker, client) -> None:
        self.settings = settings
        self.sessionmaker = sessionmaker
        self.client = client

    async def run(self, job_id: str, attempts_before: int) -> None:
        async with self.sessionmaker() as db:
            job = await jobs.start_run(db, job_id=job_id)
        if job is None:  # cancelled (or finished) before it started
            return
        if job.attempts > self.settings.JOB_MAX_ATTEMPTS:  # its workers kept dying under it
            await self._fail(job_id, f"The run stopped {job.attempts - 1} times; not retried")
            return
        try:
            request = SimulationRequest.model_validate_json(json.dumps(job.request))
            async with self.sessionmaker() as db:
                dataset = await datasets.history_for_request(
                    db, user_id=job.user_id, request=request
                )
            market = await monte_carlo.resolve_market(request, dataset)
            inputs = monte_carlo.engine_inputs(request, market, job.paths_total)
            run = ShardedRun(
                self.client,
                inputs,
                request.parameters.inflation_rate,
                shard_paths_for(inputs, self.settings.JOB_SHARD_STEPS),
                name=f"{job_id}-{job.attempts}",
            )
            result, histogram, seconds = await self._compute(job_id, run)
        except (InvalidInput, ValueError) as error:  # the request's numbers: a retry cannot help
            await self._fail(job_id, str(error))
            return
        except RunCancelled:
            return
        except Exception:
            if attempts_before + 1 >= self.settings.JOB_MAX_ATTEMPTS:
                await self._fail(job_id, "The simulation failed; try again later")
            raise  # the queue retries it
        simulation_id = saved_simulations.new_simulation_id()
        finished = monte_carlo.finished_run(
            result, histogram, seconds, request, market, simulation_id
        )
        simulation = monte_carlo.saved_row(
            finished, simulation_id, finished.body, job.user_id, job.api_key_id
        )
        async with self.sessionmaker() as db:
            await jobs.succeed(db, settings=self.settings, job_id=job_id, simulation=simulation)

    async def _compute(self, job_id: str, run: ShardedRun):
        """Run in a thread; record progress, and stop it when the job is cancelled."""
        cancelled = threading.Event()
        latest: list[tuple[int, float]] = []  # the last report only

        def report(paths_done: int, progress: float) -> None:
            latest[:] = [(paths_done, progress)]

        computing = asyncio.ensure_future(anyio.to_thread.run_sync(run.execute, report, cancelled))
        recorded = None
        try:
            while not computing.done():
                await asyncio.wait({computing}, timeout=PROGRESS_SECONDS)
                if latest and latest[-1] != recorded:
                    recorded = latest[-1]
                    async with self.sessionmaker() as db:
                        still_running = await jobs.record_progress(
                            db, job_id=job_id, paths_done=recorded[0], progress=recorded[1]
                        )
                    if not still_running:  # cancelled through the API
                        cancelled.set()
                elif not computing.done():
                    async with self.sessionmaker() as db:
                        if not await jobs.is_running(db, job_id=job_id):
                            cancelled.set()
            return computing.result()
        except asyncio.CancelledError:  # the queue aborted the run (a cancellation)
            cancelled.set()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(computing), CANCEL_GRACE_SECONDS)
            raise

    async def _fail(self, job_id: str, error: str) -> None:
        async with self.sessionmaker() as db:
            await jobs.fail(db, job_id=job_id, error=error)


async def recover_stalled_runs(queue_app, settings: Settings) -> None:
    """Put back on the queue the runs of workers that stopped sending heartbeats."""
    while True:
        await asyncio.sleep(settings.JOB_HEARTBEAT_SECONDS)
        try:
            stalled = await queue_app.job_manager.get_stalled_jobs(
                queue=QUEUE, seconds_since_heartbeat=settings.JOB_STALLED_SECONDS
            )
            for job in stalled:
                logger.warning("job %s: its worker went silent; retrying it", job.id)
                await queue_app.job_manager.retry_job(job)
        except (ConnectorException, OSError):
            logger.warning("stalled-run check failed; trying again later", exc_info=True)
        except Exception:  # another worker retried it first, or the database blinked
            logger.warning("stalled-run check failed", exc_info=True)


async def run_worker(settings: Settings) -> None:
    """Serve jobs until SIGINT / SIGTERM."""
    database = await asyncio.to_thread(Database.from_settings, settings)
    client = await asyncio.to_thread(connect, settings)
    await asyncio.to_thread(warm_up, client)
    queue_app = build_app(settings, max_connections=4)
    runner = JobRunner(settings, database.sessionmaker, client)

    @queue_app.task(
        name=RUN_JOB,
        queue=QUEUE,
        pass_context=True,
        retry=RetryStrategy(max_attempts=settings.JOB_MAX_ATTEMPTS - 1, wait=1),
    )
    async def run_simulation_job(context: JobContext, job_id: str) -> None:
        await runner.run(job_id, context.job.attempts)

    recovery = None
    try:
        async with queue_app.open_async():
            recovery = asyncio.create_task(recover_stalled_runs(queue_app, settings))
            logger.info("job worker ready", extra={"dask": str(client.scheduler_info()["address"])})
            await queue_app.run_worker_async(
                queues=[QUEUE],
                concurrency=2,
                update_heartbeat_interval=settings.JOB_HEARTBEAT_SECONDS,
                stalled_worker_timeout=settings.JOB_STALLED_SECONDS,
                abort_job_polling_interval=0.5,
                install_signal_handlers=True,
            )
    finally:
        if recovery is not None:
            recovery.cancel()
        cluster = client.cluster  # the LocalCluster this worker started, if any
        await asyncio.to_thread(client.close)
        if cluster is not None:
            await asyncio.to_thread(cluster.close)
        await database.dispose()
