import type { BiometricPayload, EnrolmentPort, Logger, TemplateKind, WorkerIdentity } from '../model';
import type { TerminalSupervisor } from '../terminals/supervisor';
import type { TemplateUploadCapability } from '../upstreams/capabilities';
import { toTerminalUser } from './reconciler';
import type { Roster } from './roster';

/**
 * Routes an enrolment (Deli `feature_input`, or the page) to a terminal that can capture the
 * feature, makes sure the worker is on it, waits for the capture, and stores the template in the
 * roster, from where the reconcilers copy it to every compatible terminal.
 */
export class EnrolmentService implements EnrolmentPort {
  constructor(
    private readonly deps: {
      readonly roster: Roster;
      readonly terminals: () => readonly TerminalSupervisor[];
      readonly logger: Logger;
      readonly timeoutMs: number;
      /** The platform that takes enrolled templates (Deli), when one is enabled. */
      readonly templateUpload: () => TemplateUploadCapability | undefined;
    },
  ) {}

  /**
   * An enrolment started on the page: captured on the chosen terminal, stored in the roster (the
   * reconcilers copy it to compatible terminals) and uploaded to the platform that knows the worker.
   * A failed upload leaves the template stored: the page's enrolment succeeded.
   */
  async enrolFromPage(
    workerId: string,
    kind: TemplateKind,
    terminalId: string,
    signal?: AbortSignal,
  ): Promise<void> {
    const payload = await this.enrol({ gatewayId: workerId }, kind, terminalId, signal);
    const worker = this.deps.roster.get(workerId);
    const upload = this.deps.templateUpload();
    if (!worker || !upload) return;
    await upload.uploadTemplate(worker.identities, kind, payload.data).catch((error: Error) => {
      this.deps.logger.warn(
        { workerId, kind, error: error.message },
        'enrolled template stored, but not uploaded to the platform',
      );
    });
  }

  /** Terminals that can capture `kind` now. */
  candidates(kind: TemplateKind): TerminalSupervisor[] {
    return this.deps
      .terminals()
      .filter((t) => t.status().online && t.driver.capabilities().enrolment.includes(kind));
  }

  async enrol(
    identity: WorkerIdentity,
    kind: TemplateKind,
    terminalId?: string,
    signal?: AbortSignal,
  ): Promise<BiometricPayload> {
    const worker = this.deps.roster.findByIdentity(identity);
    if (!worker) throw new Error(`enrolment: no worker with ${JSON.stringify(identity)} on the roster`);
    if (worker.status !== 'active') throw new Error(`enrolment: worker ${worker.id} is removed`);
    const terminal = terminalId
      ? this.deps.terminals().find((t) => t.id === terminalId)
      : this.candidates(kind)[0];
    if (!terminal)
      throw new Error(
        `enrolment: no online terminal can capture ${kind === 'fp' ? 'fingerprints' : 'faces'}`,
      );
    if (!terminal.driver.capabilities().enrolment.includes(kind)) {
      throw new Error(`enrolment: terminal ${terminal.id} cannot capture ${kind}`);
    }
    this.deps.logger.info({ workerId: worker.id, terminalId: terminal.id, kind }, 'enrolment started');
    await terminal.driver.upsertUser(toTerminalUser(worker));
    const timeout = AbortSignal.timeout(this.deps.timeoutMs);
    const result = await terminal.driver.startEnrolment(
      worker.pin,
      kind,
      signal ? AbortSignal.any([signal, timeout]) : timeout,
    );
    const captured = result.templates.find((t) => t.kind === kind);
    if (!captured) throw new Error(`enrolment on ${terminal.id} finished without a ${kind} template`);
    const payload: BiometricPayload = {
      kind,
      index: captured.index,
      format: captured.format,
      data: captured.data,
    };
    await this.deps.roster.apply([
      { source: 'local', op: 'upsert', identity: { gatewayId: worker.id }, biometrics: [payload] },
    ]);
    this.deps.logger.info(
      { workerId: worker.id, terminalId: terminal.id, kind, bytes: captured.data.byteLength },
      'enrolment stored',
    );
    return payload;
  }
}
