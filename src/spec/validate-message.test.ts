import { createHash } from "node:crypto";
import { describe, it, expect } from "vitest";
import type {
  JsonObject,
  MessageProblem,
  MessageType,
  ValidMessage,
} from "./segment-message.ts";
import {
  MAX_MESSAGE_BYTES,
  deriveMessageId,
  validateBatch,
  validateMessage,
} from "./validate-message.ts";

const NOW = Date.parse("2024-05-01T12:00:00.000Z");
const SECOND = 1000;

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function accept(
  raw: unknown,
  opts: { type?: MessageType; defaults?: JsonObject } = {},
): ValidMessage {
  const check = validateMessage(raw, { receivedAt: NOW, ...opts });
  if (!check.ok)
    throw new Error(
      `expected the message to be accepted, got ${JSON.stringify(check.problem)}`,
    );
  return check.message;
}

function refuse(
  raw: unknown,
  opts: { type?: MessageType } = {},
): MessageProblem {
  const check = validateMessage(raw, { receivedAt: NOW, ...opts });
  if (check.ok)
    throw new Error(
      `expected the message to be refused, got ${JSON.stringify(check.message)}`,
    );
  return check.problem;
}

/** A valid track message carrying a messageId, to be varied by each test. */
function track(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: "track",
    messageId: "m-1",
    userId: "u-1",
    event: "Order Completed",
    ...extra,
  };
}

/** `levels` nested objects: nest(1) is `{}`, nest(2) is `{ a: {} }`. */
function nest(levels: number): JsonObject {
  let value: JsonObject = {};
  for (let level = 1; level < levels; level++) value = { a: value };
  return value;
}

describe("validateMessage: shape and type", () => {
  it.each([null, [], "track", 42, true])(
    "refuses %j as invalid_message",
    (raw) => {
      expect(refuse(raw).code).toBe("invalid_message");
    },
  );

  it("requires a type inside a batch", () => {
    expect(refuse(track({ type: undefined }))).toMatchObject({
      code: "invalid_type",
      field: "type",
    });
  });

  it.each(["purchase", "Track", 5])("refuses type %j", (type) => {
    expect(refuse(track({ type }))).toMatchObject({
      code: "invalid_type",
      field: "type",
    });
  });

  it("lets the endpoint's type win over the message's own type field", () => {
    expect(accept(track({ type: "identify" }), { type: "track" }).type).toBe(
      "track",
    );
    expect(accept(track({ type: "nonsense" }), { type: "track" }).type).toBe(
      "track",
    );
    expect(accept(track({ type: undefined }), { type: "track" }).type).toBe(
      "track",
    );
  });

  it("accepts each message type with its required fields", () => {
    const base = { messageId: "m", userId: "u" };
    expect(
      accept({ ...base, type: "identify", traits: { email: "a@b.c" } }).traits,
    ).toEqual({ email: "a@b.c" });
    expect(
      accept({ ...base, type: "page", name: "Home", category: "Docs" }),
    ).toMatchObject({ name: "Home", category: "Docs" });
    expect(accept({ ...base, type: "screen", name: "Settings" }).name).toBe(
      "Settings",
    );
    expect(accept({ ...base, type: "group", groupId: "g-1" }).groupId).toBe(
      "g-1",
    );
    expect(
      accept({
        messageId: "m",
        type: "alias",
        previousId: "anon-1",
        userId: "u",
      }).previousId,
    ).toBe("anon-1");
  });
});

describe("validateMessage: identity and required fields", () => {
  it("refuses a message with neither userId nor anonymousId", () => {
    expect(refuse(track({ userId: undefined })).code).toBe("missing_identity");
  });

  it("treats blank and null ids as absent", () => {
    expect(refuse(track({ userId: "   ", anonymousId: null })).code).toBe(
      "missing_identity",
    );
    const message = accept(track({ userId: "", anonymousId: "anon-1" }));
    expect(message.userId).toBeUndefined();
    expect(message.anonymousId).toBe("anon-1");
  });

  it("accepts anonymousId alone", () => {
    expect(
      accept(track({ userId: undefined, anonymousId: "anon-1" })).anonymousId,
    ).toBe("anon-1");
  });

  it("requires a non-empty event for track", () => {
    expect(refuse(track({ event: undefined }))).toMatchObject({
      code: "missing_field",
      field: "event",
    });
    expect(refuse(track({ event: "  " }))).toMatchObject({
      code: "missing_field",
      field: "event",
    });
  });

  it("requires groupId for group", () => {
    expect(refuse({ type: "group", userId: "u" })).toMatchObject({
      code: "missing_field",
      field: "groupId",
    });
  });

  it("requires previousId and userId for alias, but not anonymousId", () => {
    expect(refuse({ type: "alias", userId: "u" })).toMatchObject({
      code: "missing_field",
      field: "previousId",
    });
    expect(
      refuse({ type: "alias", previousId: "p", anonymousId: "a" }),
    ).toMatchObject({
      code: "missing_field",
      field: "userId",
    });
    expect(
      accept({ type: "alias", previousId: "p", userId: "u" }).anonymousId,
    ).toBeUndefined();
  });
});

describe("validateMessage: field types", () => {
  it("converts numeric ids to strings and trims string ids", () => {
    const message = accept({
      type: "group",
      messageId: 7,
      userId: 123,
      anonymousId: " a-1 ",
      groupId: 4.5,
    });
    expect(message).toMatchObject({
      messageId: "7",
      userId: "123",
      anonymousId: "a-1",
      groupId: "4.5",
    });
  });

  it.each([true, {}, ["u"], "x".repeat(1025)])(
    "refuses userId %j",
    (userId) => {
      expect(refuse(track({ userId }))).toMatchObject({
        code: "invalid_field",
        field: "userId",
      });
    },
  );

  it("accepts an id of exactly 1024 characters", () => {
    expect(accept(track({ userId: "x".repeat(1024) })).userId).toHaveLength(
      1024,
    );
  });

  it.each(["previousId", "groupId", "anonymousId"])(
    "refuses a boolean %s",
    (field) => {
      expect(refuse(track({ [field]: false }))).toMatchObject({
        code: "invalid_field",
        field,
      });
    },
  );

  it("refuses non-string or overlong event, name and category", () => {
    expect(refuse(track({ event: 12 }))).toMatchObject({
      code: "invalid_field",
      field: "event",
    });
    expect(refuse(track({ name: "n".repeat(1025) }))).toMatchObject({
      code: "invalid_field",
      field: "name",
    });
    expect(refuse(track({ category: ["c"] }))).toMatchObject({
      code: "invalid_field",
      field: "category",
    });
  });

  it.each(["traits", "properties", "context", "integrations"])(
    "refuses %s that is not an object",
    (field) => {
      expect(refuse(track({ [field]: [] }))).toMatchObject({
        code: "invalid_field",
        field,
      });
      expect(refuse(track({ [field]: "x" }))).toMatchObject({
        code: "invalid_field",
        field,
      });
    },
  );

  it("treats null objects as absent and defaults context to {}", () => {
    const message = accept(
      track({ properties: null, context: null, integrations: null }),
    );
    expect(message.properties).toBeUndefined();
    expect(message.integrations).toBeUndefined();
    expect(message.context).toEqual({});
  });

  it.each(["", "  "])("refuses a blank messageId %j", (messageId) => {
    expect(refuse(track({ messageId }))).toMatchObject({
      code: "invalid_field",
      field: "messageId",
    });
  });

  it.each([
    ["a number", NOW],
    ["free text", "yesterday"],
    ["a date without time", "2024-05-01"],
    ["an impossible day", "2024-02-30T10:00:00Z"],
    ["an impossible hour", "2024-05-01T24:00:00Z"],
    ["a year before 1970", "1969-12-31T23:59:59Z"],
  ])("refuses a timestamp that is %s", (_label, timestamp) => {
    expect(refuse(track({ timestamp }))).toMatchObject({
      code: "invalid_field",
      field: "timestamp",
    });
  });

  it.each(["sentAt", "originalTimestamp"])(
    "refuses a malformed %s",
    (field) => {
      expect(refuse(track({ [field]: "soon" }))).toMatchObject({
        code: "invalid_field",
        field,
      });
    },
  );

  it("reads offsets, fractions and zone-less times (as UTC, per the spec)", () => {
    expect(
      accept(track({ timestamp: "2024-05-01T14:00:00+02:00" })).timestamp,
    ).toBe(NOW);
    expect(
      accept(track({ timestamp: "2024-05-01T11:30:00.250-0030" })).timestamp,
    ).toBe(NOW + 250);
    expect(
      accept(track({ timestamp: "2024-05-01T12:00:00.123456Z" })).timestamp,
    ).toBe(NOW + 123);
    expect(accept(track({ timestamp: "2024-05-01T12:00:00" })).timestamp).toBe(
      NOW,
    );
    expect(accept(track({ timestamp: "2024-02-29T00:00:00Z" })).timestamp).toBe(
      Date.UTC(2024, 1, 29),
    );
  });

  it("keeps only spec fields, dropping unknown top-level fields and writeKey", () => {
    const message = accept(
      track({ writeKey: "secret", favouriteColour: "blue" }),
    );
    expect(message).not.toHaveProperty("writeKey");
    expect(message).not.toHaveProperty("favouriteColour");
  });

  it("keeps identify's traits and context.traits side by side, unmerged", () => {
    const message = accept({
      type: "identify",
      userId: "u",
      traits: { email: "a@b.c" },
      context: { traits: { plan: "pro" } },
    });
    expect(message.traits).toEqual({ email: "a@b.c" });
    expect(message.context).toEqual({ traits: { plan: "pro" } });
  });
});

describe("validateMessage: hostile input", () => {
  it("drops prototype-polluting keys anywhere in the tree", () => {
    const raw: unknown = JSON.parse(
      '{"__proto__":{"polluted":1},"type":"identify","userId":"u",' +
        '"traits":{"name":"Ada","__proto__":{"polluted":2},"constructor":{"prototype":{"polluted":3}}},' +
        '"context":{"device":{"id":"d","prototype":{"polluted":4}}}}',
    );
    const message = accept(raw);
    expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
    expect(Object.getPrototypeOf(message.traits)).toBe(Object.prototype);
    expect(Object.keys(message.traits ?? {})).toEqual(["name"]);
    expect(message.context).toEqual({ device: { id: "d" } });
    expect(Object.hasOwn(message, "__proto__")).toBe(false);
  });

  it("does not let a forbidden key in batch defaults through", () => {
    const body = JSON.parse(
      '{"context":{"__proto__":{"polluted":5},"ip":"1.2.3.4"},"batch":[{"type":"page","userId":"u"}]}',
    );
    const result = validateBatch(body, { receivedAt: NOW });
    expect(result.ok && result.results[0]).toMatchObject({
      ok: true,
      message: { context: { ip: "1.2.3.4" } },
    });
    expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
  });

  it("accepts 32 levels of nesting and refuses 33", () => {
    // The message is level 1, so properties holding nest(31) makes 32 levels in all.
    expect(accept(track({ properties: nest(31) })).properties).toEqual(
      nest(31),
    );
    const problem = refuse(track({ properties: nest(32) }));
    expect(problem.code).toBe("invalid_field");
    expect(problem.message).toMatch(/nested too deeply/);
    expect(problem.field).toMatch(/^properties(\.a)+$/);
  });

  it("counts arrays as nesting levels", () => {
    let deep: unknown = [];
    for (let level = 1; level < 32; level++) deep = [deep];
    expect(refuse(track({ properties: { list: deep } })).message).toMatch(
      /nested too deeply/,
    );
  });

  it("survives a cyclic object by refusing it", () => {
    const cyclic: Record<string, unknown> = {
      type: "track",
      userId: "u",
      event: "e",
    };
    cyclic["properties"] = cyclic;
    expect(refuse(cyclic).message).toMatch(/nested too deeply/);
  });

  it("accepts a message of exactly 32 KB and refuses one byte more", () => {
    const empty = track({ properties: { pad: "" } });
    const room = MAX_MESSAGE_BYTES - Buffer.byteLength(JSON.stringify(empty));
    expect(
      accept(track({ properties: { pad: "x".repeat(room) } })).properties?.[
        "pad"
      ],
    ).toHaveLength(room);
    expect(
      refuse(track({ properties: { pad: "x".repeat(room + 1) } })).code,
    ).toBe("message_too_large");
  });

  it("measures the size in UTF-8 bytes, not characters", () => {
    const pad = "é".repeat(MAX_MESSAGE_BYTES / 2); // 16 K characters, 32 KB of UTF-8
    expect(refuse(track({ properties: { pad } })).code).toBe(
      "message_too_large",
    );
  });
});

describe("validateMessage: clock-skew correction", () => {
  it("shifts the event back when the device clock runs ahead", () => {
    // The device clock is 10 s ahead: it stamped the event 60 s before sending, by its own clock.
    const sentAt = NOW + 10 * SECOND;
    const clientTime = sentAt - 60 * SECOND;
    const message = accept(
      track({ timestamp: iso(clientTime), sentAt: iso(sentAt) }),
    );
    expect(message.timestamp).toBe(NOW - 60 * SECOND);
    expect(message.timestamp).toBe(clientTime - 10 * SECOND);
    expect(message.originalTimestamp).toBe(iso(clientTime));
    expect(message.sentAt).toBe(iso(sentAt));
    expect(message.receivedAt).toBe(NOW);
  });

  it("uses originalTimestamp as the client time when timestamp is absent", () => {
    const message = accept(
      track({
        originalTimestamp: iso(NOW - 5 * SECOND),
        sentAt: iso(NOW - 3 * SECOND),
      }),
    );
    expect(message.timestamp).toBe(NOW - 2 * SECOND);
    expect(message.originalTimestamp).toBe(iso(NOW - 5 * SECOND));
  });

  it("takes the client time as is when there is no sentAt", () => {
    const message = accept(track({ timestamp: "2020-01-01T00:00:00Z" }));
    expect(message.timestamp).toBe(Date.UTC(2020, 0, 1));
    expect(message.sentAt).toBeUndefined();
  });

  it("uses receivedAt when the client sent no time of its own", () => {
    const message = accept(track({ sentAt: iso(NOW + 3600 * SECOND) }));
    expect(message.timestamp).toBe(NOW);
    expect(message.originalTimestamp).toBeUndefined();
  });
});

describe("validateMessage: defaults and derived ids", () => {
  it("merges defaults under the message, context one level deep", () => {
    const message = accept(
      track({
        context: { ip: "10.0.0.2", library: { name: "mine" } },
        integrations: { Mixpanel: false },
      }),
      {
        defaults: {
          context: {
            ip: "10.0.0.1",
            locale: "fr-FR",
            library: { name: "lib", version: "1" },
          },
          integrations: { All: true },
        },
      },
    );
    expect(message.context).toEqual({
      ip: "10.0.0.2",
      locale: "fr-FR",
      library: { name: "mine" },
    });
    expect(message.integrations).toEqual({ All: true, Mixpanel: false });
  });

  it("applies a default sentAt only when the message has none", () => {
    const defaults = { sentAt: iso(NOW + 10 * SECOND) };
    expect(accept(track({ timestamp: iso(NOW) }), { defaults }).timestamp).toBe(
      NOW - 10 * SECOND,
    );
    expect(
      accept(track({ timestamp: iso(NOW), sentAt: iso(NOW) }), { defaults })
        .timestamp,
    ).toBe(NOW);
  });

  it("derives a messageId when none was sent", () => {
    const message = accept(track({ messageId: undefined }));
    expect(message.messageId).toMatch(/^gen-[0-9a-f]{32}$/);
  });

  it("derives the same id for a retry with a new sentAt and for the same message sent differently", () => {
    const first = accept({
      type: "track",
      userId: "u",
      event: "e",
      timestamp: iso(NOW),
      sentAt: iso(NOW),
    });
    const retry = accept({
      sentAt: iso(NOW + 60 * SECOND),
      timestamp: iso(NOW),
      event: "e",
      userId: "u",
      type: "track",
    });
    const typed = accept(
      { userId: "u", event: "e", timestamp: iso(NOW), writeKey: "k" },
      { type: "track" },
    );
    const withDefaults = accept(
      { type: "track", userId: "u", event: "e", timestamp: iso(NOW) },
      { defaults: { context: { ip: "10.0.0.1" } } },
    );
    expect(retry.messageId).toBe(first.messageId);
    expect(typed.messageId).toBe(first.messageId);
    expect(withDefaults.messageId).toBe(first.messageId);
  });

  it("derives a different id for different content", () => {
    const one = accept({
      type: "track",
      userId: "u",
      event: "e",
      timestamp: iso(NOW),
    });
    const other = accept({
      type: "track",
      userId: "u",
      event: "e",
      timestamp: iso(NOW + 1),
    });
    expect(other.messageId).not.toBe(one.messageId);
  });
});

describe("deriveMessageId", () => {
  it("hashes canonical JSON with keys sorted at every level", () => {
    const expected = createHash("sha256")
      .update('{"a":{"x":1,"y":[2,{"m":3,"n":4}]},"b":"t"}')
      .digest("hex");
    const id = deriveMessageId({ b: "t", a: { y: [2, { n: 4, m: 3 }], x: 1 } });
    expect(id).toBe(`gen-${expected.slice(0, 32)}`);
  });

  it("ignores sentAt, writeKey and receivedAt", () => {
    const base = { type: "identify", userId: "u", traits: { plan: "pro" } };
    const id = deriveMessageId(base);
    expect(
      deriveMessageId({
        ...base,
        sentAt: iso(NOW),
        writeKey: "k",
        receivedAt: NOW,
      }),
    ).toBe(id);
    expect(deriveMessageId({ ...base, traits: { plan: "free" } })).not.toBe(id);
  });
});

describe("validateBatch", () => {
  it.each([null, [], "batch", 1])("refuses a body of %j", (body) => {
    expect(validateBatch(body, { receivedAt: NOW })).toMatchObject({
      ok: false,
      problem: { code: "invalid_batch" },
    });
  });

  it.each([
    ["missing", {}, "batch must be an array"],
    ["an object", { batch: { 0: {} } }, "batch must be an array"],
    ["empty", { batch: [] }, "batch is empty"],
  ])("refuses a batch that is %s", (_label, body, message) => {
    expect(validateBatch(body, { receivedAt: NOW })).toEqual({
      ok: false,
      problem: { code: "invalid_batch", message, field: "batch" },
    });
  });

  it("refuses the whole request when the batch sentAt is not a date", () => {
    const result = validateBatch(
      { sentAt: "now", batch: [track()] },
      { receivedAt: NOW },
    );
    expect(result).toMatchObject({
      ok: false,
      problem: { code: "invalid_batch", field: "sentAt" },
    });
  });

  it("refuses the whole request when the batch context is not an object", () => {
    const result = validateBatch(
      { context: [], batch: [track()] },
      { receivedAt: NOW },
    );
    expect(result).toMatchObject({
      ok: false,
      problem: { code: "invalid_batch", field: "context" },
    });
  });

  it("returns per-message results in batch order", () => {
    const result = validateBatch(
      {
        writeKey: "k",
        batch: [
          track({ messageId: "a" }),
          "not a message",
          { type: "track", userId: "u" },
          { userId: "u", event: "e" },
          { type: "identify", messageId: "b", anonymousId: "anon" },
        ],
      },
      { receivedAt: NOW },
    );
    if (!result.ok) throw new Error("expected per-message results");
    expect(
      result.results.map((check) =>
        check.ok ? check.message.messageId : check.problem.code,
      ),
    ).toEqual(["a", "invalid_message", "missing_field", "invalid_type", "b"]);
  });

  it("merges batch-level context, integrations and sentAt into each message", () => {
    const result = validateBatch(
      {
        context: { library: { name: "analytics-node" }, ip: "10.0.0.1" },
        integrations: { All: false },
        sentAt: iso(NOW + 10 * SECOND),
        batch: [
          track({ timestamp: iso(NOW), context: { ip: "10.0.0.2" } }),
          track({
            timestamp: iso(NOW),
            sentAt: iso(NOW),
            integrations: { All: true },
          }),
        ],
      },
      { receivedAt: NOW },
    );
    if (!result.ok) throw new Error("expected per-message results");
    const [first, second] = result.results.map((check) =>
      check.ok ? check.message : undefined,
    );
    expect(first).toMatchObject({
      context: { library: { name: "analytics-node" }, ip: "10.0.0.2" },
      integrations: { All: false },
      sentAt: iso(NOW + 10 * SECOND),
      timestamp: NOW - 10 * SECOND,
    });
    expect(second).toMatchObject({
      context: { library: { name: "analytics-node" }, ip: "10.0.0.1" },
      integrations: { All: true },
      sentAt: iso(NOW),
      timestamp: NOW,
    });
  });
});

describe('ids with control characters or broken Unicode', () => {
  it('are refused, naming the field', () => {
    for (const bad of ['u\u0000ser', 'line\nbreak', 'half\ud800']) {
      const r = validateMessage({ type: 'track', event: 'E', userId: bad }, { receivedAt: 0 });
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.problem.field).toBe('userId');
      const m = validateMessage({ type: 'track', event: 'E', userId: 'fine', messageId: bad }, { receivedAt: 0 });
      expect(m.ok).toBe(false);
    }
  });
});

describe('limits found by the fuzz test', () => {
  it('refuses a sentAt and timestamp whose skew correction leaves the years 1970 to 9999', () => {
    const future = refuse({ type: 'track', userId: 'u', event: 'E', timestamp: '9999-12-31T23:59:59.999Z', sentAt: '1970-01-01T00:00:00Z' });
    expect(future).toMatchObject({ code: 'invalid_field', field: 'sentAt' });
    const past = refuse({ type: 'track', userId: 'u', event: 'E', timestamp: '1970-01-01T00:00:00Z', sentAt: '9999-01-01T00:00:00Z' });
    expect(past).toMatchObject({ code: 'invalid_field', field: 'sentAt' });
    // Each alone, and a pair whose correction stays in range, are still accepted.
    expect(accept({ type: 'track', userId: 'u', event: 'E', timestamp: '9999-12-31T23:59:59.999Z' }).timestamp).toBe(Date.UTC(9999, 11, 31, 23, 59, 59, 999));
    expect(accept({ type: 'track', userId: 'u', event: 'E', timestamp: '2024-05-01T11:00:00Z', sentAt: '2024-05-01T11:00:01Z' }).timestamp).toBe(NOW - SECOND);
  });

  it('refuses a batch of more than 10,000 messages as a whole', () => {
    const batch = Array.from({ length: 10_001 }, () => 1);
    const checked = validateBatch({ batch }, { receivedAt: NOW });
    expect(checked).toMatchObject({ ok: false, problem: { code: 'invalid_batch', field: 'batch' } });
    expect(validateBatch({ batch: batch.slice(1) }, { receivedAt: NOW }).ok).toBe(true);
  });
});
