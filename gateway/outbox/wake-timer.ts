/**
 * A sleep that something else can cut short (new punches, "retry now", shutdown).
 * A wake-up that arrives while nobody sleeps is remembered, so a "retry now" clicked during a
 * delivery is not lost.
 */
export class WakeTimer {
  private wake: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private pending = false;

  sleep(ms: number): Promise<void> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.wake = () => {
        clearTimeout(this.timer);
        this.wake = undefined;
        resolve();
      };
      this.timer = setTimeout(() => this.wake?.(), ms);
    });
  }

  interrupt(): void {
    if (this.wake) this.wake();
    else this.pending = true;
  }
}
