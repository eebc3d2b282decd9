/** A sleep that something else can cut short (new punches, "retry now", shutdown). */
export class WakeTimer {
  private wake: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;

  sleep(ms: number): Promise<void> {
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
    this.wake?.();
  }
}
