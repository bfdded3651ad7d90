import type { ImportProgress } from './import-records.ts';

export interface ProgressReporter {
  update(progress: ImportProgress): void;
  /** Clears the bar (terminal) so the summary starts on a clean line. */
  finish(): void;
}

/**
 * Import feedback on stderr: on a terminal, one bar redrawn in place (percent, rows, rows/s,
 * ETA); otherwise a plain line every `intervalMs`, which log collectors and CI keep readable.
 * Percent and ETA come from the bytes read of the file (compressed bytes for gzip), when its size
 * is known.
 */
export function progressReporter(options: {
  readonly out: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  readonly totalBytes: number | undefined;
  readonly bytesRead: () => number;
  readonly intervalMs?: number;
}): ProgressReporter {
  const tty = options.out.isTTY === true;
  const interval = options.intervalMs ?? (tty ? 100 : 5000);
  let last = 0;
  let drawn = false;
  const line = (p: ImportProgress): string => {
    const seconds = p.elapsedMs / 1000;
    const rate = seconds > 0 ? p.rowsRead / seconds : 0;
    const total = options.totalBytes;
    const fraction = total !== undefined && total > 0 ? Math.min(1, options.bytesRead() / total) : undefined;
    const eta = fraction !== undefined && fraction > 0 ? (seconds / fraction) * (1 - fraction) : undefined;
    const parts = [
      `${fmt(p.rowsRead)} rows`,
      `${fmt(Math.round(rate))} rows/s`,
      `${fmt(p.accepted)} accepted`,
      ...(p.duplicates > 0 ? [`${fmt(p.duplicates)} already imported`] : []),
      `${fmt(p.rejected)} rejected`,
      ...(eta === undefined ? [] : [`ETA ${duration(eta)}`]),
    ];
    if (!tty) return `import: ${fraction === undefined ? '' : `${(fraction * 100).toFixed(1)}% `}${parts.join(', ')}`;
    const width = 24;
    const filled = fraction === undefined ? 0 : Math.round(fraction * width);
    const bar = fraction === undefined ? '' : `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}% `;
    return `${bar}${parts.join('  ')}`;
  };
  return {
    update(p) {
      const now = performance.now();
      if (now - last < interval) return;
      last = now;
      if (tty) {
        const text = line(p).slice(0, Math.max(20, (options.out.columns ?? 120) - 1));
        options.out.write(`\r\x1b[2K${text}`);
        drawn = true;
      } else {
        options.out.write(`${line(p)}\n`);
      }
    },
    finish() {
      if (tty && drawn) options.out.write('\r\x1b[2K');
    },
  };
}

function fmt(n: number): string {
  return n.toLocaleString('en-US');
}

function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(r).padStart(2, '0')}s` : `${r}s`;
}
