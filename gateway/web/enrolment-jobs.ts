import { randomUUID } from 'node:crypto';
import type { TemplateKind } from '../model';
import type { EnrolmentJob } from './pages/workers';
import type { WebDeps } from './port';

const ENROL_TIMEOUT_MS = 120_000;
/** Enough for every enrolment a site manager follows at once; older ones are forgotten. */
const JOBS_KEPT = 50;

/**
 * Enrolments started on the page. Each runs in the background through the gateway's enrolment
 * service (`WebDeps.enrol`) while the page polls its job; jobs live in memory only.
 */
export class EnrolmentJobs {
  private readonly jobs = new Map<string, EnrolmentJob>();

  constructor(private readonly deps: Pick<WebDeps, 'enrol' | 'logger'>) {}

  get(id: string): EnrolmentJob | undefined {
    return this.jobs.get(id);
  }

  latestFor(workerId: string): EnrolmentJob | undefined {
    return [...this.jobs.values()].reverse().find((j) => j.workerId === workerId);
  }

  start(workerId: string, terminalId: string, kind: TemplateKind): EnrolmentJob {
    const job: EnrolmentJob = { id: randomUUID(), workerId, terminalId, kind, state: 'waiting' };
    this.jobs.set(job.id, job);
    while (this.jobs.size > JOBS_KEPT) this.jobs.delete(this.jobs.keys().next().value!);
    void this.run(job).then(
      () => {
        job.state = 'done';
      },
      (error: unknown) => {
        job.state = 'failed';
        job.message = (error as Error).message;
        this.deps.logger.warn({ workerId, terminalId, error: job.message }, 'web: enrolment failed');
      },
    );
    return job;
  }

  /** Async, so even a port that throws at once ends as a failed job, not an unhandled error. */
  private async run(job: EnrolmentJob): Promise<void> {
    await this.deps.enrol(job.workerId, job.kind, job.terminalId, AbortSignal.timeout(ENROL_TIMEOUT_MS));
  }
}
