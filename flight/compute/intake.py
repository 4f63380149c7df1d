"""Where jobs come in: the checks at acceptance, and the onboard schedule.

A SUBMIT_JOB or SCHEDULE_JOB is checked before it is accepted — the description (every field:
type, range, kind, deadline against the work), the job id (new), room in the queue, and for
SCHEDULE_JOB a release time in the future — so that a bad one is refused with TM[1,2]
INVALID_JOB, its :class:`~common.dictionary.apps.compute.JobReason` as failure data, and a
JOB_REFUSED event naming the reason and the field; it never reaches start.

The onboard schedule holds SCHEDULED jobs (kept on disk with every other job) and queues each
at its release time on a simulated-time timer, in contact or not; the timers are armed again
when the app restarts, and a release that came due meanwhile happens at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from common.dictionary import FailureCode
from common.dictionary.apps.compute import MAX_OPEN_JOBS, JobReason
from flight.compute.jobs import FINISHED, Job, JobError, parse_job
from flight.framework.app import CommandFailed

if TYPE_CHECKING:
    from flight.compute.app import ComputeManager

#: Commands whose job description is checked at acceptance.
JOB_VERBS = ("SUBMIT_JOB", "SCHEDULE_JOB")


class Intake:
    """Acceptance checks and the onboard schedule of one compute manager."""

    def __init__(self, app: ComputeManager) -> None:
        self.app = app
        self.refused = 0
        self.timers: dict[int, Any] = {}
        self._accepted: Job | None = None

    # --- acceptance -------------------------------------------------------------------------------

    def accept(self, verb: str, args: dict[str, Any]) -> None:
        """Check the job a command brings; refuse it (JOB_REFUSED, and the framework's TM[1,2]
        with the reason as failure data) by raising :class:`CommandFailed`."""
        self._accepted = None
        if verb not in JOB_VERBS:
            return
        try:
            self._accepted = self.check(verb, args)
        except JobError as exc:
            self._refused(exc, args.get("job"))
            raise CommandFailed(FailureCode.INVALID_JOB, str(exc), int(exc.code)) from None

    def check(self, verb: str, args: dict[str, Any]) -> Job:
        """The job a SUBMIT_JOB or SCHEDULE_JOB brings; raises :class:`JobError` if refused."""
        app = self.app
        now = app.clock.now()
        release = None
        if verb == "SCHEDULE_JOB":
            release = args["release"].to_unix()
            if release <= now:
                raise JobError(JobReason.RELEASE_PASSED, "the release time is not in the future")
        job = parse_job(args["job"], now, start=release)
        if job.job_id in app.jobs:
            raise JobError(JobReason.DUPLICATE_ID, f"job {job.job_id} exists", "id")
        if sum(1 for j in app.jobs.values() if j.state not in FINISHED) >= MAX_OPEN_JOBS:
            raise JobError(JobReason.QUEUE_FULL, f"{MAX_OPEN_JOBS} jobs are waiting already")
        if release is not None:
            job.state, job.release = "SCHEDULED", release
        return job

    def _refused(self, exc: JobError, description: Any) -> None:
        self.refused += 1
        job_id = description.get("id") if isinstance(description, dict) else None
        if isinstance(job_id, bool) or not isinstance(job_id, int) \
                or not 0 <= job_id <= 0xFFFFFFFF:
            job_id = 0
        self.app.event("JOB_REFUSED", job_id=job_id, reason=exc.code.name,
                       field=exc.field.upper() or "NONE")

    def take(self, verb: str, args: dict[str, Any]) -> Job:
        """The job accepted for the command being executed (checked now if it came another
        way than through acceptance, as when a handler is called directly)."""
        job, self._accepted = self._accepted, None
        if job is not None:
            return job
        try:
            return self.check(verb, args)
        except JobError as exc:
            raise CommandFailed(FailureCode.INVALID_JOB, str(exc), int(exc.code),
                                "start") from None

    # --- the onboard schedule ---------------------------------------------------------------------

    def arm(self, job: Job) -> None:
        """Queue ``job`` at its release time (at once if that has passed)."""
        assert job.release is not None
        job_id = job.job_id

        def release(_due: float) -> None:
            self._release(job_id)

        self.timers[job_id] = self.app.clock.call_at(job.release, release)

    def disarm(self, job_id: int) -> None:
        """Forget a scheduled job's release (it was cancelled)."""
        timer = self.timers.pop(job_id, None)
        if timer is not None:
            timer.cancel()

    def stop(self) -> None:
        """Cancel every release timer (the app stops; they are armed again at its start)."""
        for timer in self.timers.values():
            timer.cancel()
        self.timers.clear()

    def _release(self, job_id: int) -> None:
        self.timers.pop(job_id, None)
        job = self.app.jobs.get(job_id)
        if job is not None and job.state == "SCHEDULED":
            self.app.queue(job)
