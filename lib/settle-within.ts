/**
 * Waits for `work` to settle, but no longer than `ms`: true when it settled (either way), false when
 * the bound ran out. For clean-up steps (closing a link) that must never hold up what comes after.
 */
export function settlesWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    const done = () => {
      clearTimeout(timer);
      resolve(true);
    };
    work.then(done, done);
  });
}
