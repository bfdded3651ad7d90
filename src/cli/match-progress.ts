import type { RescoreProgress } from '../identity/match-workspace.ts';

/**
 * Feedback for workspace-wide matching on stderr: on a terminal one bar per phase redrawn in place;
 * otherwise a plain line when a phase starts and ends, which logs keep readable.
 */
export function matchProgress(out: NodeJS.WritableStream & { isTTY?: boolean; columns?: number }): { report: RescoreProgress; finish(): void } {
  const tty = out.isTTY === true;
  let phase = '';
  let drawn = false;
  let last = 0;
  return {
    report(next, done, total) {
      if (!tty) {
        if (next !== phase) out.write(`match: ${next}…\n`);
        else if (done === total) out.write(`match: ${next}: ${done.toLocaleString('en-US')} of ${total.toLocaleString('en-US')}\n`);
        phase = next;
        return;
      }
      phase = next;
      const now = performance.now();
      if (done !== total && now - last < 100) return;
      last = now;
      const fraction = total > 0 ? done / total : 1;
      const width = 24;
      const filled = Math.round(fraction * width);
      const text = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}% ${next} ${done.toLocaleString('en-US')}/${total.toLocaleString('en-US')}`;
      out.write(`\r\x1b[2K${text.slice(0, Math.max(20, (out.columns ?? 120) - 1))}`);
      drawn = true;
    },
    finish() {
      if (tty && drawn) out.write('\r\x1b[2K');
    },
  };
}
