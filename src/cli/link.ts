import type { Command } from 'commander';
import { CliError } from './cli-error.ts';
import { addMatchFileOptions, loadRecords, runMatch, type MatchFileOptions } from './match-files.ts';

/**
 * `kith link FILE_A FILE_B`: finds the records of two CSV files that are the same person (pairs
 * across the files only), with a model trained on the two files, and writes `id,cluster` for the
 * records of both; matched records share a cluster.
 */
export function registerLink(program: Command): void {
  addMatchFileOptions(
    program
      .command('link')
      .description('link the records of two CSV files that are the same person (probabilistic matching); writes id,cluster')
      .argument('<fileA>', 'first CSV file (header row)')
      .argument('<fileB>', 'second CSV file (header row, same id column)')
      .option('--one-to-one', 'each record joins at most one record of the other file, strongest pairs first (the default)')
      .option('--no-one-to-one', 'let a record join several records of the other file (when a file holds duplicates)'),
  ).action((fileA: string, fileB: string, opts: MatchFileOptions) => {
    // The files are read when matching starts and not kept here (see MatchSource).
    const mappings: string[] = [];
    runMatch(
      'link',
      () => {
        const a = loadRecords(fileA, opts);
        const b = loadRecords(fileB, opts);
        const inA = new Set(a.inputs.map((r) => r.id));
        const shared = b.inputs.find((r) => inA.has(r.id));
        if (shared !== undefined) throw new CliError(`id "${shared.id}" is in both files; the output names records by id, so ids must differ across the files`);
        mappings.push(a.mapping, b.mapping);
        return { left: a.inputs, right: b.inputs };
      },
      [fileA, fileB],
      mappings,
      opts,
    );
  });
}
