/**
 * A sleep that something else can cut short. Two kinds of wake-up:
 * - `interrupt()` ("retry now", shutdown, a lost connection) ends any sleep, and one that arrives
 *   while nobody sleeps is remembered, so a "retry now" clicked during a delivery is not lost;
 * - `nudge()` (new punches) ends only a sleep that waits for news. A back-off sleep (`firm`) ignores
 *   it, including a nudge remembered from before the back-off began: a punch that arrived during the
 *   failing request must not make the retry come early.
 */
export class WakeTimer {
  private wake: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private sleepingFirm = false;
  private pendingInterrupt = false;
  private pendingNudge = false;

  sleep(ms: number, firm = false): Promise<void> {
    const nudged = this.pendingNudge;
    this.pendingNudge = false;
    if (this.pendingInterrupt || (nudged && !firm)) {
      this.pendingInterrupt = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.sleepingFirm = firm;
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
    else this.pendingInterrupt = true;
  }

  nudge(): void {
    if (!this.wake) this.pendingNudge = true;
    else if (!this.sleepingFirm) this.wake();
  }
}
