import type { ClockSource, Logger } from '../../gateway/model';
import type { CommandResult, QueuedLine } from './commands';

interface PendingCommand {
  readonly id: string;
  readonly text: string;
  sentAt: number | undefined;
  readonly resolve: (result: CommandResult) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/**
 * Failure `Return` codes the PUSH protocol documents (docs/protocols/adms.md#results), for readable errors.
 */
const RETURN_CODES: Readonly<Record<number, string>> = {
  [-1]: 'parameter error',
  [-2]: 'transmitted data does not match its size',
  [-3]: 'read/write error',
  [-9]: 'data too large',
  [-10]: 'user does not exist',
  [-11]: 'invalid data format',
  [-12]: 'enrolment failed or timed out',
  [-1002]: 'command not supported',
};

export class CommandFailedError extends Error {
  constructor(
    readonly returnCode: number,
    command: string,
  ) {
    super(
      `device refused "${command.split('\t')[0]}": Return=${returnCode} (${RETURN_CODES[returnCode] ?? 'device error'})`,
    );
    this.name = 'CommandFailedError';
  }
}

/**
 * One terminal's commands: queued until the device polls, then out until it reports the result.
 * A command with no result within `timeoutMs` fails and is forgotten, never re-sent: once handed out,
 * the device may have run it, and re-running an enrolment or a delete by accident is worse than
 * letting the caller (the reconciler) decide. A result arriving after that is logged and ignored.
 */
export class CommandQueue {
  private readonly pending = new Map<string, PendingCommand>();
  private readonly forgotten = new Set<string>();

  constructor(
    private readonly deps: {
      readonly clock: ClockSource;
      readonly logger: Logger;
      readonly timeoutMs: number;
      readonly nextId: () => string;
    },
  ) {}

  get size(): number {
    return this.pending.size;
  }

  enqueue(text: string): Promise<CommandResult> {
    const id = this.deps.nextId();
    return new Promise<CommandResult>((resolve, reject) => {
      const timer = setTimeout(() => this.expire(id), this.deps.timeoutMs);
      timer.unref();
      this.pending.set(id, { id, text, sentAt: undefined, resolve, reject, timer });
    });
  }

  /** Hands out queued commands in order, up to `maxBytes` of command text (at least one). */
  handOut(maxBytes: number): QueuedLine[] {
    const out: QueuedLine[] = [];
    let bytes = 0;
    for (const command of this.pending.values()) {
      if (command.sentAt !== undefined) continue;
      const size = command.text.length + command.id.length + 3;
      if (out.length > 0 && bytes + size > maxBytes) break;
      command.sentAt = this.deps.clock.now();
      out.push({ id: command.id, text: command.text });
      bytes += size;
    }
    return out;
  }

  /** Returns false when the id is not ours (or timed out already). */
  settle(result: CommandResult): boolean {
    const command = this.pending.get(result.id);
    if (!command) {
      if (this.forgotten.delete(result.id))
        this.deps.logger.warn(
          { commandId: result.id, returnCode: result.returnCode },
          'ADMS result arrived after its command had timed out; ignored',
        );
      return false;
    }
    this.pending.delete(result.id);
    clearTimeout(command.timer);
    if (result.returnCode < 0) command.reject(new CommandFailedError(result.returnCode, command.text));
    else command.resolve(result);
    return true;
  }

  failAll(reason: string): void {
    for (const command of this.pending.values()) {
      clearTimeout(command.timer);
      command.reject(new Error(reason));
    }
    this.pending.clear();
  }

  private expire(id: string): void {
    const command = this.pending.get(id);
    if (!command) return;
    this.pending.delete(id);
    const seconds = Math.round(this.deps.timeoutMs / 1000);
    if (command.sentAt === undefined) {
      command.reject(
        new Error(`the device did not poll for commands within ${seconds} s (command never sent)`),
      );
      return;
    }
    this.forgotten.add(id);
    if (this.forgotten.size > 1000) this.forgotten.delete(this.forgotten.values().next().value as string);
    command.reject(new Error(`no result within ${seconds} s; not re-sent, since the device may have run it`));
  }
}
