import type { Command } from 'commander';
import { addMatchFileOptions, loadRecords, runMatch, type MatchFileOptions } from './match-files.ts';

/**
 * `kith dedupe FILE`: finds the records of one CSV file that belong to the same person, with a
 * Fellegi–Sunter model trained on the file itself, and writes `id,cluster`.
 */
export function registerDedupe(program: Command): void {
  addMatchFileOptions(
    program
      .command('dedupe')
      .description('find records of one CSV file that are the same person (probabilistic matching); writes id,cluster')
      .argument('<file>', 'CSV (or tab/semicolon separated) file with a header row'),
  ).action((file: string, opts: MatchFileOptions) => {
    // The file is read when matching starts and not kept here: the matcher lets the raw rows
    // go once they are prepared (see MatchSource).
    const mappings: string[] = [];
    runMatch(
      'dedupe',
      () => {
        const { inputs, mapping } = loadRecords(file, opts);
        mappings.push(mapping);
        return inputs;
      },
      [file],
      mappings,
      opts,
    );
  });
}
