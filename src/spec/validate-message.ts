/**
 * Validation of Segment Tracking API messages and batch bodies.
 *
 * Reference: https://segment.com/docs/connections/sources/catalog/libraries/server/http-api/ and
 * https://segment.com/docs/connections/spec/ (common fields, identify, track, page, screen, group,
 * alias). Pure: no I/O, no clock — the caller passes `receivedAt`.
 *
 * Outcomes are values (`MessageCheck`), never exceptions: a refused message is an expected result that
 * the HTTP layer turns into a 400 naming `problem.field`.
 */
import { createHash } from "node:crypto";
import { MESSAGE_TYPES } from "./segment-message.ts";
import type {
  JsonObject,
  JsonValue,
  MessageCheck,
  MessageProblem,
  MessageType,
  ValidMessage,
} from "./segment-message.ts";

/** Segment refuses a single message over 32 KB, serialised. */
export const MAX_MESSAGE_BYTES = 32 * 1024;
/** Segment refuses a request body over 500 KB; enforced by the HTTP layer, exported for it. */
export const MAX_BATCH_BYTES = 500 * 1024;
/**
 * Most messages in one batch. 500 KB holds about 12,000 of the smallest valid messages but 250,000
 * bare `1`s, each of which would cost a rejected-log row and a line of the answer; real clients send
 * batches of 15 to 500.
 */
export const MAX_BATCH_MESSAGES = 10_000;
/** The last instant of the year 9999, the latest event time kith keeps. */
const MAX_EVENT_TIME = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** Longest accepted id or name, in UTF-16 code units. */
const MAX_TEXT_LENGTH = 1024;
/** Deepest accepted nesting; the message object itself is level 1. Also bounds recursion on cycles. */
const MAX_DEPTH = 32;
/** Keys that could reach Object.prototype if copied naively by a consumer; dropped everywhere. */
const FORBIDDEN_KEYS: ReadonlySet<string> = new Set([
  "__proto__",
  "constructor",
  "prototype",
]);
/** Transport and server fields that must not change a derived message id (a retry re-sends them). */
const NOT_HASHED: ReadonlySet<string> = new Set([
  "sentAt",
  "writeKey",
  "receivedAt",
]);

const ID_FIELDS = ["userId", "anonymousId", "previousId", "groupId"] as const;
const TEXT_FIELDS = ["event", "name", "category"] as const;
const OBJECT_FIELDS = [
  "traits",
  "properties",
  "context",
  "integrations",
] as const;
const DATE_FIELDS = ["timestamp", "originalTimestamp", "sentAt"] as const;

type IdField = (typeof ID_FIELDS)[number];
type TextField = (typeof TEXT_FIELDS)[number];
type ObjectField = (typeof OBJECT_FIELDS)[number];
type DateField = (typeof DATE_FIELDS)[number];

type Refused = { ok: false; problem: MessageProblem };
type Parsed<T> = { ok: true; value: T } | Refused;

/** A client time: the string as sent (echoed back unchanged) and its instant. */
interface Instant {
  readonly text: string;
  readonly ms: number;
}

/** Spec fields read from one message, each already type-checked; absent fields are missing keys. */
interface Fields {
  readonly messageId: string | undefined;
  readonly ids: Partial<Record<IdField, string>>;
  readonly texts: Partial<Record<TextField, string>>;
  readonly objects: Partial<Record<ObjectField, JsonObject>>;
  readonly dates: Partial<Record<DateField, Instant>>;
}

export interface MessageDefaults {
  readonly context?: JsonObject;
  readonly integrations?: JsonObject;
  readonly sentAt?: string;
}

export interface ValidateMessageOptions {
  /** Forced by a typed endpoint (POST /v1/track…); the message's own `type` field is then ignored. */
  readonly type?: MessageType;
  /** When kith received the request, epoch ms. */
  readonly receivedAt: number;
  /** Batch-level fields, merged under the message's own. Expected to be sanitised JSON already. */
  readonly defaults?: MessageDefaults;
}

/**
 * Validate one Tracking API message and return it in kith's accepted shape, or the first problem found.
 * The message is copied (never mutated) with prototype-polluting keys dropped, limited to 32 KB and 32
 * levels of nesting; only spec fields are kept; ids are trimmed and numeric ids become strings; a
 * missing `messageId` is derived from the content so that retries dedupe; batch `defaults` are merged
 * under the message's own fields; and `timestamp` is corrected for the client's clock skew.
 */
export function validateMessage(
  raw: unknown,
  opts: ValidateMessageOptions,
): MessageCheck {
  const received = receive(raw, opts.type);
  if (!received.ok) return received;
  const { message, type } = received.value;

  const fields = readFields(message, opts.defaults);
  if (!fields.ok) return fields;

  const problem =
    identityProblem(type, fields.value) ??
    requiredFieldProblem(type, fields.value) ??
    skewProblem(fields.value, opts.receivedAt);
  if (problem !== undefined) return { ok: false, problem };

  return {
    ok: true,
    message: buildMessage({ type, message, fields: fields.value, opts }),
  };
}

/**
 * Validate a batch body `{ batch: [...], context?, integrations?, sentAt?, writeKey? }`. A malformed
 * body refuses the whole request (`invalid_batch`); otherwise every element is validated on its own
 * (its own `type` required) with the batch-level `context`, `integrations` and `sentAt` as defaults,
 * and the results come back in batch order so the caller can accept the good and report the bad.
 */
export function validateBatch(
  raw: unknown,
  opts: { receivedAt: number },
):
  | { ok: false; problem: MessageProblem }
  | { ok: true; results: MessageCheck[] } {
  if (!isPlainObject(raw))
    return refuseBatch("request body must be a JSON object");
  const batch = raw["batch"];
  if (!Array.isArray(batch))
    return refuseBatch("batch must be an array", "batch");
  if (batch.length === 0) return refuseBatch("batch is empty", "batch");
  if (batch.length > MAX_BATCH_MESSAGES)
    return refuseBatch(
      `batch has ${batch.length} messages, over the limit of ${MAX_BATCH_MESSAGES} per request`,
      "batch",
    );

  const defaults = readBatchDefaults(raw);
  if (!defaults.ok) return defaults;

  const results = batch.map((element: unknown) =>
    validateMessage(element, {
      receivedAt: opts.receivedAt,
      defaults: defaults.value,
    }),
  );
  return { ok: true, results };
}

/**
 * The id kith gives a message that arrived without `messageId`: `gen-` and the first 32 hex digits of
 * the SHA-256 of its canonical JSON (object keys sorted at every level), leaving out `sentAt`,
 * `writeKey` and `receivedAt`. Those change between a send and its retry while the event does not, so
 * a retried message derives the same id and is deduplicated.
 */
export function deriveMessageId(raw: JsonObject): string {
  const hashed: JsonObject = {};
  for (const key of Object.keys(raw)) {
    const value = raw[key];
    if (!NOT_HASHED.has(key) && value !== undefined) hashed[key] = value;
  }
  const digest = createHash("sha256")
    .update(canonicalJson(hashed))
    .digest("hex");
  return `gen-${digest.slice(0, 32)}`;
}

// ---------------------------------------------------------------------------------------------------
// Receiving: shape, sanitising copy, size, type

/**
 * First checks, in the order a client can act on: is it an object, is it sane JSON, does it fit, what
 * type is it. Returns the sanitised copy with the effective `type` set, which is also what a derived
 * `messageId` hashes (so /v1/track and a batch element of type track derive the same id).
 */
function receive(
  raw: unknown,
  forcedType: MessageType | undefined,
): Parsed<{ message: JsonObject; type: MessageType }> {
  if (!isPlainObject(raw))
    return refuse("invalid_message", "message must be a JSON object");

  const copy = sanitise(raw, "", 1);
  if (!copy.ok) return copy;
  const message = copy.value as JsonObject; // a plain object sanitises to a plain object

  const bytes = Buffer.byteLength(JSON.stringify(message));
  if (bytes > MAX_MESSAGE_BYTES) {
    return refuse(
      "message_too_large",
      `message is ${bytes} bytes, over the ${MAX_MESSAGE_BYTES}-byte limit`,
    );
  }

  const type = forcedType ?? message["type"];
  if (type === undefined || type === null)
    return refuse("invalid_type", "type is required", "type");
  if (!isMessageType(type)) {
    return refuse(
      "invalid_type",
      `type must be one of ${MESSAGE_TYPES.join(", ")}`,
      "type",
    );
  }
  return { ok: true, value: { message: { ...message, type }, type } };
}

/**
 * Deep copy of a JSON value into fresh objects and arrays, dropping `__proto__`, `constructor` and
 * `prototype` keys so no consumer can be tricked into writing Object.prototype. Refuses nesting deeper
 * than MAX_DEPTH (which also stops cycles and stack exhaustion) and anything JSON cannot carry.
 */
function sanitise(
  value: unknown,
  path: string,
  depth: number,
): Parsed<JsonValue> {
  if (value === null || typeof value === "string" || typeof value === "boolean")
    return { ok: true, value };
  if (typeof value === "number") {
    return Number.isFinite(value)
      ? { ok: true, value }
      : invalid(path, `${label(path)} must be a finite number`);
  }
  if (Array.isArray(value) || isPlainObject(value)) {
    if (depth > MAX_DEPTH)
      return invalid(
        path,
        `${label(path)} is nested too deeply (over ${MAX_DEPTH} levels)`,
      );
    return Array.isArray(value)
      ? sanitiseArray(value, path, depth)
      : sanitiseObject(value, path, depth);
  }
  return invalid(path, `${label(path)} is not a JSON value`);
}

function sanitiseArray(
  value: readonly unknown[],
  path: string,
  depth: number,
): Parsed<JsonValue> {
  const copy: JsonValue[] = [];
  for (const [index, item] of value.entries()) {
    const child = sanitise(item, joinPath(path, String(index)), depth + 1);
    if (!child.ok) return child;
    copy.push(child.value);
  }
  return { ok: true, value: copy };
}

function sanitiseObject(
  value: Record<string, unknown>,
  path: string,
  depth: number,
): Parsed<JsonValue> {
  const copy: JsonObject = {};
  for (const key of Object.keys(value)) {
    const item = value[key];
    // `undefined` is how a JS caller says "absent"; JSON.stringify drops it too.
    if (FORBIDDEN_KEYS.has(key) || item === undefined) continue;
    const child = sanitise(item, joinPath(path, key), depth + 1);
    if (!child.ok) return child;
    copy[key] = child.value;
  }
  return { ok: true, value: copy };
}

// ---------------------------------------------------------------------------------------------------
// Reading spec fields

/**
 * Type-check every spec field the message carries; unknown top-level fields (and `writeKey`) are simply
 * never read, which is how they are dropped. A batch-level `sentAt` stands in when the message has none.
 */
function readFields(
  message: JsonObject,
  defaults: MessageDefaults | undefined,
): Parsed<Fields> {
  const messageId = readMessageId(message);
  if (!messageId.ok) return messageId;
  const ids = collect(message, ID_FIELDS, readId);
  if (!ids.ok) return ids;
  const texts = collect(message, TEXT_FIELDS, readText);
  if (!texts.ok) return texts;
  const objects = collect(message, OBJECT_FIELDS, readObject);
  if (!objects.ok) return objects;
  const withSentAt =
    isAbsent(message["sentAt"]) && defaults?.sentAt !== undefined
      ? { ...message, sentAt: defaults.sentAt }
      : message;
  const dates = collect(withSentAt, DATE_FIELDS, readDate);
  if (!dates.ok) return dates;
  return {
    ok: true,
    value: {
      messageId: messageId.value,
      ids: ids.value,
      texts: texts.value,
      objects: objects.value,
      dates: dates.value,
    },
  };
}

/** Run one reader over several fields, keeping the present ones and stopping at the first problem. */
function collect<K extends string, T>(
  message: JsonObject,
  keys: readonly K[],
  read: (message: JsonObject, key: K) => Parsed<T | undefined>,
): Parsed<Partial<Record<K, T>>> {
  const found: Partial<Record<K, T>> = {};
  for (const key of keys) {
    const result = read(message, key);
    if (!result.ok) return result;
    if (result.value !== undefined) found[key] = result.value;
  }
  return { ok: true, value: found };
}

/**
 * An identifier: string (trimmed) or finite number (stringified, so 123 and "123" are one user). An
 * empty or blank id counts as absent — analytics.js sends `userId: null`/`""` for anonymous visitors.
 */
function readId(
  message: JsonObject,
  field: string,
): Parsed<string | undefined> {
  const value = message[field];
  if (isAbsent(value)) return { ok: true, value: undefined };
  let text: string;
  if (typeof value === "string") text = value.trim();
  else if (typeof value === "number" && Number.isFinite(value))
    text = String(value);
  else return invalid(field, `${field} must be a string or a finite number`);
  if (text.length > MAX_TEXT_LENGTH)
    return invalid(
      field,
      `${field} is longer than ${MAX_TEXT_LENGTH} characters`,
    );
  // Ids are keys in every store; control characters (NUL above all) and lone surrogates have no
  // place in them and some databases cannot store them at all.
  if (/[\u0000-\u001f\u007f]/.test(text) || !text.isWellFormed())
    return invalid(field, `${field} contains control characters or invalid Unicode`);
  return { ok: true, value: text === "" ? undefined : text };
}

/** Like an id, except that a blank `messageId` is refused rather than replaced: it was sent, and wrong. */
function readMessageId(message: JsonObject): Parsed<string | undefined> {
  const id = readId(message, "messageId");
  if (id.ok && id.value === undefined && !isAbsent(message["messageId"])) {
    return invalid("messageId", "messageId must be a non-empty string");
  }
  return id;
}

function readText(
  message: JsonObject,
  field: string,
): Parsed<string | undefined> {
  const value = message[field];
  if (isAbsent(value)) return { ok: true, value: undefined };
  if (typeof value !== "string")
    return invalid(field, `${field} must be a string`);
  if (value.length > MAX_TEXT_LENGTH)
    return invalid(
      field,
      `${field} is longer than ${MAX_TEXT_LENGTH} characters`,
    );
  return { ok: true, value };
}

function readObject(
  message: JsonObject,
  field: string,
): Parsed<JsonObject | undefined> {
  const value = message[field];
  if (isAbsent(value)) return { ok: true, value: undefined };
  if (!isPlainObject(value))
    return invalid(field, `${field} must be an object`);
  return { ok: true, value: value as JsonObject };
}

function readDate(
  message: JsonObject,
  field: string,
): Parsed<Instant | undefined> {
  return parseDateField(message[field], field);
}

function parseDateField(
  value: unknown,
  field: string,
): Parsed<Instant | undefined> {
  if (isAbsent(value)) return { ok: true, value: undefined };
  if (typeof value !== "string")
    return invalid(field, `${field} must be an ISO-8601 date-time string`);
  const parsed = parseIsoDateTime(value);
  if (parsed === "malformed")
    return invalid(field, `${field} must be an ISO-8601 date-time string`);
  if (parsed === "out-of-range")
    return invalid(field, `${field} must have a year between 1970 and 9999`);
  return { ok: true, value: { text: value, ms: parsed } };
}

/** YYYY-MM-DDThh:mm[:ss[.fraction]][Z|±hh[:]mm]. */
const ISO_DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|[+-]\d{2}:?\d{2})?$/i;

/**
 * Parse an ISO-8601 date-time to epoch ms. Hand-written rather than Date.parse because V8 rolls
 * impossible dates over (2024-02-30 becomes 1 March) and reads a zone-less time in the server's local
 * zone; the Segment spec says timestamps are UTC, so a zone-less time is read as UTC here.
 */
function parseIsoDateTime(text: string): number | "malformed" | "out-of-range" {
  const match = ISO_DATE_TIME.exec(text);
  if (match === null) return "malformed";
  const part = (group: number): number => Number(match[group] ?? "0");
  const [year, month, day, hour, minute, second] = [
    part(1),
    part(2),
    part(3),
    part(4),
    part(5),
    part(6),
  ];
  const millis = Number((match[7] ?? "").padEnd(3, "0").slice(0, 3));
  const offsetMinutes = parseOffset(match[8]);
  if (year < 1970 || year > 9999) return "out-of-range";
  const validClock = hour <= 23 && minute <= 59 && second <= 59;
  const validDate =
    month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month);
  if (!validClock || !validDate || offsetMinutes === undefined)
    return "malformed";
  return (
    Date.UTC(year, month - 1, day, hour, minute, second, millis) -
    offsetMinutes * 60_000
  );
}

/** Minutes east of UTC; `undefined` for an impossible offset. */
function parseOffset(zone: string | undefined): number | undefined {
  if (zone === undefined || zone.toUpperCase() === "Z") return 0;
  const digits = zone.slice(1).replace(":", "");
  const hours = Number(digits.slice(0, 2));
  const minutes = Number(digits.slice(2));
  if (hours > 23 || minutes > 59) return undefined;
  return (zone.startsWith("-") ? -1 : 1) * (hours * 60 + minutes);
}

function daysInMonth(year: number, month: number): number {
  // Day 0 of the next month is the last day of this one.
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

// ---------------------------------------------------------------------------------------------------
// Required fields

/** Every type but alias needs someone to attribute the event to (HTTP API: "userId and/or anonymousId"). */
function identityProblem(
  type: MessageType,
  fields: Fields,
): MessageProblem | undefined {
  if (type === "alias") return undefined; // alias names its two ids itself; see requiredFieldProblem
  if (fields.ids.userId !== undefined || fields.ids.anonymousId !== undefined)
    return undefined;
  return {
    code: "missing_identity",
    message: `${type} needs a userId or an anonymousId`,
    field: "userId",
  };
}

function requiredFieldProblem(
  type: MessageType,
  fields: Fields,
): MessageProblem | undefined {
  switch (type) {
    case "identify":
    case "page":
    case "screen":
      return undefined;
    case "track":
      return (fields.texts.event ?? "").trim() === ""
        ? missing(type, "event")
        : undefined;
    case "group":
      return fields.ids.groupId === undefined
        ? missing(type, "groupId")
        : undefined;
    case "alias":
      if (fields.ids.previousId === undefined)
        return missing(type, "previousId");
      return fields.ids.userId === undefined
        ? missing(type, "userId")
        : undefined;
    default:
      return assertNever(type);
  }
}

/**
 * Each date is within 1970-9999 on its own, but the clock-skew correction can still carry the event
 * outside (a `sentAt` in 1970 next to a `timestamp` in 9999): such a pair is refused rather than
 * stored with an event time no date format can show.
 */
function skewProblem(
  fields: Fields,
  receivedAt: number,
): MessageProblem | undefined {
  const { timestamp, originalTimestamp, sentAt } = fields.dates;
  const t = correctedTimestamp(timestamp ?? originalTimestamp, sentAt, receivedAt);
  if (t >= 0 && t <= MAX_EVENT_TIME) return undefined;
  return {
    code: "invalid_field",
    message:
      "sentAt and timestamp put the event outside the years 1970 to 9999 once corrected for clock skew (receivedAt - (sentAt - timestamp))",
    field: "sentAt",
  };
}

function missing(type: MessageType, field: string): MessageProblem {
  return {
    code: "missing_field",
    message: `${field} is required for ${type}`,
    field,
  };
}

// ---------------------------------------------------------------------------------------------------
// Building the accepted message

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

function buildMessage(input: {
  type: MessageType;
  message: JsonObject;
  fields: Fields;
  opts: ValidateMessageOptions;
}): ValidMessage {
  const { type, message, fields, opts } = input;
  const { ids, texts, dates } = fields;
  // traits (identify, group) and properties (track, page, screen) pass through as sent; identify's
  // context.traits stays inside context, side by side with traits, never merged into them.
  const { context, integrations, ...payload } = fields.objects;
  const client = dates.timestamp ?? dates.originalTimestamp;
  const built: Mutable<ValidMessage> = {
    type,
    // Hash the message as received, before batch defaults: the same event must derive the same id
    // whichever batch carried it.
    messageId: fields.messageId ?? deriveMessageId(message),
    ...ids,
    ...texts,
    ...payload,
    context: mergeUnder(opts.defaults?.context, context) ?? {},
    timestamp: correctedTimestamp(client, dates.sentAt, opts.receivedAt),
    receivedAt: opts.receivedAt,
  };
  const mergedIntegrations = mergeUnder(
    opts.defaults?.integrations,
    integrations,
  );
  if (mergedIntegrations !== undefined) built.integrations = mergedIntegrations;
  if (client !== undefined) built.originalTimestamp = client.text;
  if (dates.sentAt !== undefined) built.sentAt = dates.sentAt.text;
  return built;
}

/**
 * Segment's clock-skew correction (spec "Timestamps"): the device clock may be wrong, but the gap
 * between the event and the send is measured on that one clock, so
 * `timestamp = receivedAt - (sentAt - originalTimestamp)`. Without sentAt the client time is taken as
 * is; without a client time the event happened when it arrived.
 */
function correctedTimestamp(
  client: Instant | undefined,
  sentAt: Instant | undefined,
  receivedAt: number,
): number {
  if (client === undefined) return receivedAt;
  if (sentAt === undefined) return client.ms;
  return receivedAt - (sentAt.ms - client.ms);
}

/** One-level merge: the message's keys win over the batch's; absent on both sides stays absent. */
function mergeUnder(
  base: JsonObject | undefined,
  top: JsonObject | undefined,
): JsonObject | undefined {
  if (base === undefined && top === undefined) return undefined;
  const merged: JsonObject = {};
  for (const source of [base, top]) {
    for (const [key, value] of Object.entries(source ?? {})) {
      // Defaults come from callers, not only from our sanitiser; never let a forbidden key through.
      if (!FORBIDDEN_KEYS.has(key)) merged[key] = value;
    }
  }
  return merged;
}

// ---------------------------------------------------------------------------------------------------
// Batch-level fields

/** Batch `context`/`integrations` are sanitised once here (at the depth they take inside a message). */
function readBatchDefaults(
  body: Record<string, unknown>,
): Parsed<MessageDefaults> {
  const defaults: Mutable<MessageDefaults> = {};
  for (const field of ["context", "integrations"] as const) {
    const value = body[field];
    if (isAbsent(value)) continue;
    if (!isPlainObject(value))
      return refuseBatch(`${field} must be an object`, field);
    const copy = sanitise(value, field, 2);
    if (!copy.ok) return refuseBatch(copy.problem.message, copy.problem.field);
    defaults[field] = copy.value as JsonObject;
  }
  const sentAt = parseDateField(body["sentAt"], "sentAt");
  if (!sentAt.ok) return refuseBatch(sentAt.problem.message, "sentAt");
  if (sentAt.value !== undefined) defaults.sentAt = sentAt.value.text;
  return { ok: true, value: defaults };
}

// ---------------------------------------------------------------------------------------------------
// Small helpers

/** JSON with object keys sorted at every level, so key order cannot change a derived id. */
function canonicalJson(value: JsonValue): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.keys(value)
      .sort()
      .flatMap((key) => {
        const item = value[key];
        return item === undefined
          ? []
          : [`${JSON.stringify(key)}:${canonicalJson(item)}`];
      });
    return `{${entries.join(",")}}`;
  }
  return JSON.stringify(value);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function isMessageType(value: unknown): value is MessageType {
  return (
    typeof value === "string" &&
    (MESSAGE_TYPES as readonly string[]).includes(value)
  );
}

/** Clients send `null` for "not set" (analytics.js does for userId); the spec treats it as absent. */
function isAbsent(value: unknown): value is null | undefined {
  return value === undefined || value === null;
}

function joinPath(path: string, key: string): string {
  return path === "" ? key : `${path}.${key}`;
}

function label(path: string): string {
  return path === "" ? "message" : path;
}

function refuse(code: string, message: string, field?: string): Refused {
  return {
    ok: false,
    problem: field === undefined ? { code, message } : { code, message, field },
  };
}

function invalid(field: string, message: string): Refused {
  return refuse("invalid_field", message, field === "" ? undefined : field);
}

function refuseBatch(message: string, field?: string): Refused {
  return refuse("invalid_batch", message, field);
}

function assertNever(value: never): never {
  throw new Error(`unexpected message type: ${String(value)}`);
}
