import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { guessAttribute, parseAttribute, type Attribute, type MatchInput } from '../match/attributes.ts';
import { isMissing } from '../match/normalise.ts';
import { CliError } from './cli-error.ts';

/** A CSV file's header and rows, every field trimmed. */
export interface CsvTable {
  readonly path: string;
  readonly header: readonly string[];
  readonly rows: readonly (readonly string[])[];
}

/** The delimiter of a file: tab, semicolon or comma, whichever the header line has most of. */
function sniffDelimiter(text: string): string {
  const firstLine = text.slice(0, Math.max(text.indexOf('\n'), 0) || text.length);
  const count = (c: string): number => firstLine.split(c).length - 1;
  const candidates: [string, number][] = [
    [',', count(',')],
    ['\t', count('\t')],
    [';', count(';')],
    ['|', count('|')],
  ];
  candidates.sort((a, b) => b[1] - a[1]);
  return candidates[0]![1] > 0 ? candidates[0]![0] : ',';
}

/**
 * Reads a delimited text file with a header row (comma, tab, semicolon or pipe, sniffed from the
 * header), trimming every field. Parse errors become one line naming the file and line.
 */
export function readCsv(path: string): CsvTable {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CliError(code === 'ENOENT' ? `${path}: no such file` : `${path}: cannot read (${code ?? String(err)})`);
  }
  let rows: string[][];
  try {
    rows = parse(text, { delimiter: sniffDelimiter(text), trim: true, bom: true, skip_empty_lines: true, relax_quotes: true });
  } catch (err) {
    throw new CliError(`${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const [header, ...body] = rows;
  if (header === undefined || header.length === 0) throw new CliError(`${path}: the file is empty (a header row is required)`);
  return { path, header, rows: body };
}

/** `--map` values as the user wrote them: `COLUMN=ATTRIBUTE`. */
export interface ColumnMapping {
  /** Column index → attribute. */
  readonly columns: ReadonlyMap<number, Attribute>;
  /** For the summary: "given_name→firstName, …". */
  readonly description: string;
}

/**
 * The column → attribute mapping of a table: columns whose header names a known attribute
 * (`first_name`, `surname`, `dob`, `zip`, …) are used unless `--map COLUMN=skip` drops them, and
 * every `--map COLUMN=ATTRIBUTE` adds or overrides one. Several columns may feed one attribute;
 * their values are joined with a space.
 */
export function columnMapping(table: CsvTable, idColumn: string, maps: readonly string[]): ColumnMapping {
  const index = (name: string): number => {
    const i = table.header.indexOf(name);
    if (i < 0) throw new CliError(`${table.path}: no column "${name}" (columns: ${table.header.join(', ')})`);
    return i;
  };
  const idIndex = index(idColumn);
  const columns = new Map<number, Attribute>();
  table.header.forEach((h, i) => {
    const guess = i === idIndex ? undefined : guessAttribute(h);
    if (guess !== undefined) columns.set(i, guess);
  });
  for (const m of maps) {
    const eq = m.lastIndexOf('=');
    if (eq <= 0) throw new CliError(`--map takes COLUMN=ATTRIBUTE, got "${m}"`);
    const column = m.slice(0, eq).trim();
    const target = m.slice(eq + 1).trim();
    const i = index(column);
    if (i === idIndex) throw new CliError(`--map ${m}: "${column}" is the id column`);
    if (target === 'skip') {
      columns.delete(i);
      continue;
    }
    const attribute = parseAttribute(target);
    if (attribute === undefined) {
      throw new CliError(`--map ${m}: unknown attribute "${target}" (use firstName, middleName, lastName, fullName, birthday, birthYear, birthMonth, birthDay, streetNumber, street, address, city, postalCode, state, country, email, phone, gender, nationalId, id:NAME, text:NAME or skip)`);
    }
    columns.set(i, attribute);
  }
  if (columns.size === 0) throw new CliError(`${table.path}: no column maps to a matcher attribute; name them with --map COLUMN=ATTRIBUTE`);
  const description = [...columns].map(([i, a]) => `${table.header[i]}→${a}`).join(', ');
  return { columns, description };
}

/** The table's rows as matcher inputs; ids must be present and unique within the file. */
export function toMatchInputs(table: CsvTable, idColumn: string, mapping: ColumnMapping): MatchInput[] {
  const idIndex = table.header.indexOf(idColumn);
  const firstRow = new Map<string, number>();
  return table.rows.map((row, r) => {
    const line = r + 2;
    const id = row[idIndex];
    if (id === undefined || id === '') throw new CliError(`${table.path}: row ${line} has no ${idColumn}`);
    const seen = firstRow.get(id);
    if (seen !== undefined) throw new CliError(`${table.path}: id "${id}" appears twice (rows ${seen} and ${line})`);
    firstRow.set(id, line);
    const values: Partial<Record<Attribute, string>> = {};
    for (const [i, attribute] of mapping.columns) {
      const v = row[i];
      if (v === undefined || isMissing(v)) continue;
      const prev = values[attribute];
      values[attribute] = prev === undefined ? v : `${prev} ${v}`;
    }
    return { id, values };
  });
}

/** One CSV field, quoted when it needs to be. */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) || value !== value.trim() ? `"${value.replace(/"/g, '""')}"` : value;
}
