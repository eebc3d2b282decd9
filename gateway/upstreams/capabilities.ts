import type { SichuanRegistration } from '../../cloud/sichuan/registration';
import type { TemplateKind, Upstream, WorkerIdentity } from '../model';

/** RegistData: a worker registered on the page becomes known to the platform (Sichuan). */
export interface RegistrationCapability {
  register(form: SichuanRegistration): Promise<{ userId: string }>;
}

/** A template enrolled locally is sent to the platform the worker is known to (Deli fp_input/fa_input). */
export interface TemplateUploadCapability {
  /** Resolves without sending when the platform does not know the worker. */
  uploadTemplate(worker: WorkerIdentity, kind: TemplateKind, data: Uint8Array): Promise<void>;
}

/** Asks the platform whether a newer build exists (Deli 102); an offer arrives as `upgrade.offered`. */
export interface UpgradeCheckCapability {
  checkForUpgrade(): Promise<void>;
}

/**
 * What an upstream factory returns: the upstream every outbox needs, and the optional abilities
 * that only some platforms have, typed so that nobody has to probe an upstream with casts.
 */
export interface UpstreamPart {
  readonly upstream: Upstream;
  readonly registration?: RegistrationCapability;
  readonly templateUpload?: TemplateUploadCapability;
  readonly upgradeCheck?: UpgradeCheckCapability;
}
