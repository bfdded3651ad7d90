/**
 * A deterministic generator of a realistic multichannel customer dataset, in Segment Tracking API
 * format, with the ground truth of who owns which identifier.
 *
 * Used by `kith demo`, the benchmark and property tests. Everything is derived from one seeded PRNG,
 * so the same options always produce the same dataset. No dependencies beyond the language: the
 * generator is the input to tests of the code that uses the libraries.
 *
 * Memory: to generate a million messages cheaply, nested objects that are identical across messages
 * (a cookie's context, a page's properties, a product) are built once, deep-frozen and shared; a
 * junk variant shares nested objects with its original, and a duplicate is the very same object
 * emitted twice. Treat the messages as immutable (copy before changing them).
 */
import { createRandom, mix32, shuffle, type Random } from '../random.ts';

/** One simulated customer and the identifiers that are really theirs. */
export interface GeneratedPerson {
  readonly personId: string;
  readonly firstName: string;
  readonly lastName: string;
  readonly email: string;
  /**
   * Every identifier this person really owns and that appears in the messages, as 'type:value'
   * strings in normalised form (`user_id:u_12`, `anonymous_id:<value>`, `email:<lowercase>`,
   * `phone:+14155550134`, `device_id:<value>`, `loyalty_id:<value>`). Shared family devices and junk
   * values are never listed.
   */
  readonly identifiers: readonly string[];
}

/** A generated dataset: the people, their messages, and the identifier → person ground truth. */
export interface GeneratedDataset {
  readonly people: readonly GeneratedPerson[];
  /**
   * Segment messages (plain JSON objects ready to POST in a /v1/batch body; each has type,
   * messageId, timestamp ISO string, and userId and/or anonymousId, etc.) in chronological order.
   * The only exceptions to the order are duplicate deliveries, which repeat an earlier message a
   * little later in the array.
   */
  readonly messages: readonly Record<string, unknown>[];
  /**
   * identifier 'type:value' -> personId, for identifiers that belong to exactly one person (shared
   * family devices and junk values are excluded)
   */
  readonly truth: ReadonlyMap<string, string>;
}

/** Options of {@link generateDataset}. */
export interface GenerateDatasetOptions {
  readonly people: number;
  /** PRNG seed, default 1. Also part of every messageId (`m-<seed>-<n>`). */
  readonly seed?: number;
  /** The end of the 90-day window the events fall in, default 2026-01-01T00:00:00Z. */
  readonly start?: Date;
  /** fraction of messages delivered twice (same messageId, same content), default 0.02 */
  readonly duplicateRate?: number;
  /** average number of events per person, default 12 */
  readonly eventsPerPerson?: number;
}

/**
 * Generates `people` simulated customers and their Segment messages over the 90 days before
 * `start`: web sessions on 1–12 cookies with logins and newsletter sign-ups, 0–3 phone-app installs,
 * store purchases identified by a loyalty card, contact-centre calls identified by a loosely
 * formatted phone number, tablets shared by two family members, ~1% junk identifier values and
 * `duplicateRate` duplicate deliveries. The result is fully determined by the options; the number
 * of distinct messages averages `eventsPerPerson` per person.
 */
export function generateDataset(opts: GenerateDatasetOptions): GeneratedDataset {
  const seed = opts.seed ?? 1;
  const end = (opts.start ?? DEFAULT_START).getTime();
  const random = createRandom(seed);
  const world: World = {
    random,
    ids: createIdFactory(seed),
    window: { from: end - WINDOW_MS, span: WINDOW_MS - WINDOW_MARGIN_MS },
    sink: { messages: [], times: [] },
  };
  const eventsPerPerson = opts.eventsPerPerson ?? 12;
  const profiles = createProfiles(world, { count: opts.people, eventsPerPerson });
  const people = profiles.map((profile) => writePerson(world, profile));
  const ordered = chronological(world.sink, seed);
  return {
    people,
    messages: withDuplicates(ordered, { rate: opts.duplicateRate ?? 0.02, random }),
    truth: truthOf(people),
  };
}

/** Fisher–Yates shuffle with the seeded PRNG, returns a new array */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
  return shuffle(items, createRandom(seed));
}

// ---------------------------------------------------------------------------------------------
// Tunables. Rates are per person unless stated otherwise.

const DAY_MS = 86_400_000;
const WINDOW_MS = 90 * DAY_MS;
/** Sessions start at least this long before `start`, so that no session runs past it. */
const WINDOW_MARGIN_MS = DAY_MS / 2;
const DEFAULT_START = new Date(Date.UTC(2026, 0, 1));

const LOGIN_RATE = 0.85;
const PHONE_RATE = 0.75;
const LOYALTY_RATE = 0.35;
const WORK_EMAIL_RATE = 0.2;
/** Chance that a logged-in person joins a family sharing a tablet; ≈ 3% of all people end up sharing. */
const FAMILY_RATE = 0.035;
/** Chance, per message, that a junk variant of it is also sent. */
const JUNK_RATE = 0.01;
/** Average number of browse events (pages, screens, product tracks) per session. */
const EVENTS_PER_SESSION = 4;

// ---------------------------------------------------------------------------------------------
// Reference data: small, diverse, built in.

const FIRST_NAMES = [
  'Olivia', 'Liam', 'Emma', 'Noah', 'Ava', 'Elijah', 'Sophia', 'James', 'Isabella', 'Lucas',
  'Mia', 'Ethan', 'Harper', 'Benjamin', 'Evelyn', 'Henry', 'Abigail', 'Alexander', 'Grace', 'Samuel',
  'Sofía', 'Santiago', 'Valentina', 'Diego', 'Camila', 'Alejandro', 'Lucía', 'José', 'María', 'Carlos',
  'Wei', 'Mei', 'Jun', 'Xiu', 'Hao', 'Li', 'Yuki', 'Haruto', 'Sakura', 'Ren',
  'Min-jun', 'Ji-woo', 'Seo-yeon', 'Priya', 'Arjun', 'Ananya', 'Rohan', 'Aarav', 'Diya', 'Vikram',
  'Fatima', 'Omar', 'Aisha', 'Yusuf', 'Layla', 'Karim', 'Noor', 'Hassan', 'Amara', 'Chinedu',
  'Ngozi', 'Kwame', 'Abena', 'Tunde', 'Zainab', 'Kofi', 'Thandiwe', 'Sipho', 'Oluwaseun', 'Imani',
  'Linh', 'Minh', 'Thảo', 'Quang', 'Anh', 'Olga', 'Dmitri', 'Katarzyna', 'Łukasz', 'Agnieszka',
  'Piotr', 'Zoë', 'Chloé', 'François', 'Søren', 'Björn', 'Ingrid', 'Astrid', 'João', 'Giulia',
  'Luca', 'Francesca', 'Niamh', 'Siobhán', 'Seán', 'Aroha', 'Tane', 'Leilani', 'Kai', 'Malia',
] as const;

const LAST_NAMES = [
  'Smith', 'Johnson', 'Williams', 'Brown', 'Jones', 'Miller', 'Davis', 'Wilson', 'Anderson', 'Taylor',
  'Thomas', 'Moore', 'Jackson', 'Martin', 'Lee', 'Thompson', 'White', 'Harris', 'Clark', 'Lewis',
  'García', 'Rodríguez', 'Martínez', 'Hernández', 'López', 'González', 'Pérez', 'Sánchez', 'Ramírez', 'Torres',
  'Núñez', 'De la Cruz', 'Wang', 'Zhang', 'Liu', 'Chen', 'Yang', 'Huang', 'Zhao', 'Wu',
  'Zhou', 'Xu', 'Sato', 'Suzuki', 'Takahashi', 'Tanaka', 'Watanabe', 'Kim', 'Park', 'Choi',
  'Jung', 'Patel', 'Sharma', 'Singh', 'Kumar', 'Gupta', 'Reddy', 'Iyer', 'Khan', 'Ahmed',
  'Ali', 'Hussain', 'Rahman', 'Haddad', 'Nasser', 'Okafor', 'Okonkwo', 'Adeyemi', 'Mensah', 'Boateng',
  'Mwangi', 'Dlamini', 'Nkosi', 'Nguyễn', 'Trần', 'Lê', 'Phạm', 'Kowalski', 'Nowak', 'Wiśniewski',
  'Ivanov', 'Petrov', 'Müller', 'Schmidt', 'Fischer', 'Rossi', 'Russo', 'Silva', 'Santos', 'Oliveira',
  'Dubois', 'Lefèvre', "O'Brien", 'Murphy', 'Kelly', 'Andersen', 'Johansson', 'Papadopoulos', 'Cohen', 'Kealoha',
] as const;

interface Name {
  readonly display: string;
  /** ASCII lower-case letters only, for email addresses. */
  readonly slug: string;
}

const FIRST = FIRST_NAMES.map(toName);
const LAST = LAST_NAMES.map(toName);

const WORK_DOMAINS = ['acme', 'globex', 'initech', 'umbrella', 'hooli', 'stark', 'wonka', 'tyrell', 'cyberdyne', 'soylent'];

type Country = 'US' | 'CA' | 'GB';

/** Area codes whose every exchange 200–999 libphonenumber accepts as valid. */
const AREA_CODES: Readonly<Record<'US' | 'CA', readonly number[]>> = {
  US: [212, 646, 718, 415, 617, 312, 773, 206, 303, 512, 404, 305, 702, 213, 503, 612, 202, 215, 713],
  CA: [416, 604, 514, 403],
};
/** 07xx UK prefixes that are not mobile (or not valid) for libphonenumber. */
const UK_NON_MOBILE = new Set([7509, 7524, 7700, 7781, 7797, 7829, 7839, 7911, 7937]);
const UK_MOBILE_SECOND_DIGITS = [4, 5, 7, 8, 9];

const CURRENCY: Readonly<Record<Country, string>> = { US: 'USD', CA: 'CAD', GB: 'GBP' };
const STORES: Readonly<Record<Country, readonly string[]>> = {
  US: ['NYC-05', 'SFO-02', 'BOS-01', 'CHI-03', 'SEA-01', 'AUS-01'],
  CA: ['TOR-01', 'VAN-02'],
  GB: ['LON-01', 'LON-04', 'MAN-02'],
};

interface Product {
  readonly product_id: string;
  readonly sku: string;
  readonly name: string;
  readonly price: number;
  readonly category: string;
  readonly slug: string;
}

const CATALOG: readonly (readonly [name: string, price: number, category: string])[] = [
  ['Organic Cotton Tee', 24, 'Tops'],
  ['Merino Crew Sweater', 89, 'Tops'],
  ['Linen Shirt', 59, 'Tops'],
  ['Slim Selvedge Jeans', 98, 'Bottoms'],
  ['Everyday Chinos', 68, 'Bottoms'],
  ['Trail Runner Sneakers', 120, 'Shoes'],
  ['Leather Chelsea Boots', 185, 'Shoes'],
  ['Canvas Tote', 32, 'Accessories'],
  ['Wool Beanie', 28, 'Accessories'],
  ['Recycled Down Jacket', 229, 'Outerwear'],
  ['Rain Shell', 149, 'Outerwear'],
  ['Kids Fleece Hoodie', 39, 'Kids'],
  ['Yoga Leggings', 64, 'Active'],
  ['Running Shorts', 36, 'Active'],
  ['Silk Scarf', 75, 'Accessories'],
  ['Gift Card', 50, 'Gifts'],
];

const PRODUCTS: readonly Product[] = CATALOG.map(([name, price, category], i) => ({
  product_id: `P${1001 + i}`,
  sku: `KT-${category.slice(0, 3).toUpperCase()}-${1001 + i}`,
  name,
  price,
  category,
  slug: name.toLowerCase().replace(/[^a-z]+/g, '-'),
}));

const SITE = 'https://shop.example.com';
/** A page view's `name` and `properties`, precomputed for every page including product pages. */
interface PageView {
  readonly name: string;
  readonly properties: Readonly<Message>;
}
const SITE_PAGES: readonly PageView[] = [
  ['/', 'Home'],
  ['/new', 'New arrivals'],
  ['/sale', 'Sale'],
  ['/women', 'Women'],
  ['/men', 'Men'],
  ['/kids', 'Kids'],
  ['/stores', 'Find a store'],
  ['/help/returns', 'Returns'],
  ['/loyalty', 'Kith Rewards'],
  ['/cart', 'Your cart'],
].map(([path = '/', name = 'Home']) => pageView({ path, name, title: `${name} – Kith Shop` }));
const PRODUCT_PAGES: readonly PageView[] = PRODUCTS.map((p) =>
  pageView({ path: `/products/${p.slug}`, name: 'Product', title: `${p.name} – Kith Shop` }),
);
/** Product fields as the e-commerce spec puts them in `Product Viewed` / `Product Added`. */
const PRODUCT_PROPERTIES: readonly Readonly<Message>[] = PRODUCTS.map((p) =>
  deepFreeze({ product_id: p.product_id, sku: p.sku, name: p.name, price: p.price, category: p.category }),
);

function pageView(page: { path: string; name: string; title: string }): PageView {
  return deepFreeze({ name: page.name, properties: { path: page.path, url: SITE + page.path, title: page.title } });
}

const APP_SCREENS = ['Home', 'Search', 'Product', 'Cart', 'Account', 'Rewards', 'Store Locator'];
const USER_AGENTS = [
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:127.0) Gecko/20100101 Firefox/127.0',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36',
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36',
];
const CALL_REASONS = ['order status', 'return', 'billing', 'product question', 'delivery issue', 'loyalty points'];
const PLANS = ['free', 'free', 'free', 'plus', 'plus', 'pro'];

/** Freezes `value` and everything reachable from it, so that a shared fragment cannot be changed. */
function deepFreeze<T extends object>(value: T): T {
  for (const child of Object.values(value)) {
    if (typeof child === 'object' && child !== null) deepFreeze(child);
  }
  return Object.freeze(value);
}

// Shared, frozen context fragments: identical in every message, so one copy serves them all.
const WEB_LIBRARY = Object.freeze({ name: 'analytics.js', version: '2.11.1' });
const APP_LIBRARY: Readonly<Record<DeviceType, Readonly<Record<string, string>>>> = {
  ios: Object.freeze({ name: 'analytics-ios', version: '4.1.8' }),
  android: Object.freeze({ name: 'analytics-android', version: '4.11.3' }),
};
const APP = Object.freeze({ name: 'Kith Shop', version: '3.14.0', build: '3140' });
const POS_LIBRARY = Object.freeze({ name: 'kith-pos', version: '1.4.2' });
const CALL_LIBRARY = Object.freeze({ name: 'analytics-node', version: '2.1.0' });
const CALL_CONTEXT = deepFreeze({ library: CALL_LIBRARY });

// ---------------------------------------------------------------------------------------------
// The generation state shared by all people.

type Message = Record<string, unknown>;

interface World {
  readonly random: Random;
  readonly ids: IdFactory;
  readonly window: TimeWindow;
  readonly sink: Sink;
}

/** Session starts are drawn uniformly in [from, from + span). */
interface TimeWindow {
  readonly from: number;
  readonly span: number;
}

/** Messages in generation order with their event times, sorted at the end. */
interface Sink {
  readonly messages: Message[];
  readonly times: number[];
}

/** Who a message is about, as Segment sends it. */
interface Who {
  readonly anonymousId: string;
  readonly userId?: string;
}

type DeviceType = 'ios' | 'android';

interface Device {
  readonly id: string;
  readonly type: DeviceType;
}

interface Phone {
  readonly e164: string;
  /** The national significant number, e.g. 4155550134 or 7911123456. */
  readonly national: string;
}

interface Profile {
  readonly index: number;
  readonly personId: string;
  readonly first: Name;
  readonly last: Name;
  readonly country: Country;
  readonly email: string;
  readonly workEmail: string | undefined;
  readonly userId: string | undefined;
  readonly plan: string | undefined;
  readonly phone: Phone | undefined;
  readonly loyaltyId: string | undefined;
  /** How many messages this person should produce, before junk and duplicates. */
  readonly budget: number;
  /** The tablet this person shares with a family member, if any. */
  tablet: Device | undefined;
}

// ---------------------------------------------------------------------------------------------
// Unique ids.

/**
 * Mints identifier values that look random but never collide: random-looking ids start with a
 * bijective mix of a counter, the rest comes from the PRNG.
 */
interface IdFactory {
  uuid(random: Random): string;
  androidId(random: Random): string;
  serial(): number;
  phone(random: Random, country: Country): Phone;
  loyaltyId(random: Random): string;
}

function createIdFactory(seed: number): IdFactory {
  const salt = mix32(seed ^ 0x9e3779b9);
  let counter = 0;
  let serial = 100_000;
  const phones = new Set<string>();
  const loyaltyIds = new Set<string>();
  const unique = (): string => hex(mix32((counter++ ^ salt) >>> 0), 8);
  return {
    uuid: (random) => {
      const a = random.uint32();
      const b = random.uint32();
      const c = random.uint32();
      const variant = (8 + ((b >>> 16) & 3)).toString(16);
      return `${unique()}-${hex(a >>> 16, 4)}-4${hex(a, 3)}-${variant}${hex(b >>> 20, 3)}-${hex(b, 4)}${hex(c, 8)}`;
    },
    androidId: (random) => unique() + hex(random.uint32(), 8),
    serial: () => serial++,
    phone: (random, country) => {
      for (;;) {
        const phone = country === 'GB' ? ukMobile(random) : nanpNumber(random, country);
        if (!phones.has(phone.e164)) {
          phones.add(phone.e164);
          return phone;
        }
      }
    },
    loyaltyId: (random) => {
      for (;;) {
        const id = `L-${random.int(1_000_000, 9_999_999)}`;
        if (!loyaltyIds.has(id)) {
          loyaltyIds.add(id);
          return id;
        }
      }
    },
  };
}

function hex(value: number, digits: number): string {
  return (value >>> 0).toString(16).padStart(digits, '0').slice(-digits);
}

/** A North American number: real area code, exchange 200–999 but not N11, any subscriber number. */
function nanpNumber(random: Random, country: 'US' | 'CA'): Phone {
  const area = random.pick(AREA_CODES[country]);
  let exchange = random.int(200, 999);
  if (exchange % 100 === 11) exchange += 1;
  const national = `${area}${exchange}${String(random.int(0, 9999)).padStart(4, '0')}`;
  return { e164: `+1${national}`, national };
}

/** A UK mobile: 07xxx xxxxxx in the ranges libphonenumber knows as mobile. */
function ukMobile(random: Random): Phone {
  for (;;) {
    const prefix = 7000 + random.pick(UK_MOBILE_SECOND_DIGITS) * 100 + random.int(0, 99);
    if (UK_NON_MOBILE.has(prefix)) continue;
    const national = `${prefix}${String(random.int(0, 999_999)).padStart(6, '0')}`;
    return { e164: `+44${national}`, national };
  }
}

/** How a contact-centre agent or telephony system might have written the number down. */
function loosePhone(random: Random, phone: Phone): string {
  const n = phone.national;
  if (phone.e164.startsWith('+44')) {
    // National UK formats (07911 …) are left out: they cannot be normalised without knowing the
    // caller's country, and the contact centre's default region is the US.
    const formats = [`+44 ${n.slice(0, 4)} ${n.slice(4)}`, `+44 (0)${n.slice(0, 4)} ${n.slice(4)}`, phone.e164];
    return random.pick(formats);
  }
  const [a, e, s] = [n.slice(0, 3), n.slice(3, 6), n.slice(6)];
  const formats = [`(${a}) ${e}-${s}`, `+1 ${a} ${e} ${s}`, `${a}-${e}-${s}`, `${a}.${e}.${s}`, `1-${a}-${e}-${s}`, phone.e164];
  return random.pick(formats);
}

// ---------------------------------------------------------------------------------------------
// Profiles: who the people are, before any message is written.

function toName(display: string): Name {
  const slug = display
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/ø/g, 'o')
    .replace(/ł/g, 'l')
    .replace(/[^a-z]/g, '');
  return { display, slug };
}

/**
 * Draws every person's attributes. Family pairs are formed here, in order: a person who joins a
 * family while another one is waiting shares that one's tablet and last name.
 */
function createProfiles(world: World, opts: { count: number; eventsPerPerson: number }): Profile[] {
  const { random, ids } = world;
  const profiles: Profile[] = [];
  let waiting: Profile | undefined;
  let users = 0;
  for (let index = 1; index <= opts.count; index++) {
    const isUser = random.chance(LOGIN_RATE);
    const joinsFamily = isUser && random.chance(FAMILY_RATE);
    const family = joinsFamily ? waiting : undefined;
    const first = random.pick(FIRST);
    const last = family?.last ?? random.pick(LAST);
    const country = pickCountry(random);
    const profile: Profile = {
      index,
      personId: `p-${index}`,
      first,
      last,
      country,
      email: `${first.slug}.${last.slug}${index}@example.com`,
      workEmail: random.chance(WORK_EMAIL_RATE)
        ? `${first.slug.charAt(0)}${last.slug}${index}@${random.pick(WORK_DOMAINS)}.example`
        : undefined,
      userId: isUser ? `u_${++users}` : undefined,
      plan: isUser ? random.pick(PLANS) : undefined,
      phone: random.chance(PHONE_RATE) ? ids.phone(random, country) : undefined,
      loyaltyId: random.chance(LOYALTY_RATE) ? ids.loyaltyId(random) : undefined,
      budget: drawBudget(random, opts.eventsPerPerson),
      tablet: undefined,
    };
    if (family !== undefined) {
      const tablet = newDevice(world);
      family.tablet = tablet;
      profile.tablet = tablet;
      waiting = undefined;
    } else if (joinsFamily) {
      waiting = profile;
    }
    profiles.push(profile);
  }
  return profiles;
}

function pickCountry(random: Random): Country {
  const r = random.next();
  return r < 0.82 ? 'US' : r < 0.88 ? 'CA' : 'GB';
}

/**
 * A skewed message count (gamma with shape 2): many light customers, a few heavy ones. The mean is
 * slightly below `eventsPerPerson` because junk variants are added on top.
 */
function drawBudget(random: Random, eventsPerPerson: number): number {
  const mean = eventsPerPerson / (1 + JUNK_RATE);
  const gamma2 = -Math.log(1 - random.next()) - Math.log(1 - random.next());
  return Math.min(Math.max(2, Math.round((mean * gamma2) / 2)), Math.ceil(eventsPerPerson * 20));
}

function newDevice(world: World): Device {
  const { random, ids } = world;
  return random.chance(0.55)
    ? { id: ids.uuid(random).toUpperCase(), type: 'ios' }
    : { id: ids.androidId(random), type: 'android' };
}

// ---------------------------------------------------------------------------------------------
// One person's messages, channel by channel.

/** What is being written for one person: the world plus the identifiers they have shown so far. */
interface Scope extends World {
  readonly profile: Profile;
  readonly owned: Set<string>;
}

/** A browsing channel (cookie or app install) and how many browse events it gets. */
interface Channel {
  readonly kind: 'web' | 'app';
  readonly anonymousId: string;
  readonly login: boolean;
  browse: number;
}

interface WebChannel extends Channel {
  readonly kind: 'web';
  /** Shared by all of the cookie's messages. */
  readonly context: Readonly<Message>;
  /** Emails given in newsletter sign-ups on this cookie, before any login. */
  readonly signups: string[];
}

interface AppChannel extends Channel {
  readonly kind: 'app';
  readonly device: Device;
  /** Shared by all of the install's messages. */
  readonly context: Readonly<Message>;
  /** A tablet shared with a family member: its device id belongs to no single person. */
  readonly shared: boolean;
}

/**
 * Writes all messages of one person into the sink and returns the person with the identifiers
 * that their messages actually revealed.
 */
function writePerson(world: World, profile: Profile): GeneratedPerson {
  const scope: Scope = { ...world, profile, owned: new Set() };
  const written = writeStoreVisits(scope) + writeCalls(scope);
  const web = planWeb(scope);
  const apps = planApps(scope);
  const channels: Channel[] = [...web, ...apps];
  const identifies = web.reduce((n, c) => n + c.signups.length + (c.login ? 1 : 0), 0) + apps.length;
  distribute(world.random, channels, Math.max(channels.length, profile.budget - written - identifies));
  for (const channel of web) writeWeb(scope, channel);
  for (const channel of apps) writeApp(scope, channel);
  return {
    personId: profile.personId,
    firstName: profile.first.display,
    lastName: profile.last.display,
    email: profile.email,
    identifiers: [...scope.owned],
  };
}

/** 1–12 cookies, more for heavier users; logins on most cookies of people who have an account. */
function planWeb(scope: Scope): WebChannel[] {
  const { random, profile } = scope;
  const count = 1 + Math.floor(random.next() ** 2 * Math.min(11, profile.budget / 3));
  const channels: WebChannel[] = [];
  for (let i = 0; i < count; i++) {
    const login = profile.userId !== undefined && (i === 0 || random.chance(0.6));
    const signsUp = profile.userId === undefined && (i === 0 || random.chance(0.25));
    channels.push({
      kind: 'web',
      anonymousId: scope.ids.uuid(random),
      login,
      browse: 0,
      context: deepFreeze({ library: WEB_LIBRARY, userAgent: random.pick(USER_AGENTS) }),
      signups: signsUp ? [profile.email] : [],
    });
  }
  if (profile.workEmail !== undefined) random.pick(channels).signups.push(profile.workEmail);
  return channels;
}

/** 0–3 app installs for people with an account, plus the family tablet if they share one. */
function planApps(scope: Scope): AppChannel[] {
  const { random, profile } = scope;
  if (profile.userId === undefined) return [];
  const r = random.next();
  const count = Math.min(r < 0.5 ? 0 : r < 0.82 ? 1 : r < 0.95 ? 2 : 3, Math.floor(profile.budget / 4));
  const channels: AppChannel[] = [];
  for (let i = 0; i < count; i++) {
    channels.push(appChannel(scope, { device: newDevice(scope), shared: false }));
  }
  if (profile.tablet !== undefined) {
    // Each family member has their own anonymousId on the tablet (the app resets it on logout);
    // only the device id is shared.
    channels.push(appChannel(scope, { device: profile.tablet, shared: true }));
  }
  return channels;
}

function appChannel(scope: Scope, install: { device: Device; shared: boolean }): AppChannel {
  const { device, shared } = install;
  return { kind: 'app', anonymousId: scope.ids.uuid(scope.random), login: true, browse: 0, device, shared, context: appContext(device) };
}

/** Spreads `total` browse events over the channels: at least one each, the rest by random weight. */
function distribute(random: Random, channels: readonly Channel[], total: number): void {
  const weights = channels.map(() => 0.2 + random.next());
  const sum = weights.reduce((a, b) => a + b, 0);
  for (const channel of channels) channel.browse = 1;
  for (let left = total - channels.length; left > 0; left--) {
    let r = random.next() * sum;
    let i = 0;
    while (i < channels.length - 1 && (r -= weights[i] ?? 0) >= 0) i++;
    (channels[i] as Channel).browse++;
  }
}

/**
 * A cookie's story: pages and product views, newsletter sign-ups before the login, the login
 * identify after at least one page, and from then on every event carries the userId too.
 */
function writeWeb(scope: Scope, channel: WebChannel): void {
  const { random, profile } = scope;
  own(scope, 'anonymous_id', channel.anonymousId);
  const loginAt = channel.login ? random.int(1, channel.browse) : channel.browse + 1;
  const signupAt = channel.signups.map(() => random.int(1, Math.min(loginAt, channel.browse)));
  let who: Who = { anonymousId: channel.anonymousId };
  const messages: Message[] = [];
  for (let i = 0; i <= channel.browse; i++) {
    channel.signups.forEach((email, k) => {
      if (signupAt[k] !== i) return;
      own(scope, 'email', email);
      messages.push(identify(who, { email }, channel.context));
    });
    if (i === loginAt && profile.userId !== undefined) {
      who = { anonymousId: channel.anonymousId, userId: profile.userId };
      own(scope, 'user_id', profile.userId);
      messages.push(identify(who, loginTraits(scope), channel.context));
    }
    if (i < channel.browse) messages.push(webBrowse(scope, who, channel));
  }
  emitChannel(scope, messages, sessionsFor(random, channel.browse));
}

/** One browse event on the web: mostly pages, some product views and cart adds, rare web orders. */
function webBrowse(scope: Scope, who: Who, channel: WebChannel): Message {
  const { random } = scope;
  const r = random.next();
  if (r < 0.62) {
    const view = random.chance(0.4) ? random.pick(PRODUCT_PAGES) : random.pick(SITE_PAGES);
    const m = base('page', who);
    m.name = view.name;
    m.properties = view.properties;
    m.context = channel.context;
    return m;
  }
  if (r < 0.97 || who.userId === undefined) {
    return track(who, r < 0.85 ? 'Product Viewed' : 'Product Added', random.pick(PRODUCT_PROPERTIES), channel.context);
  }
  return track(who, 'Order Completed', orderProperties(scope, 'W'), channel.context);
}

/**
 * An app install's story: a few screens, the login identify early on, then screens and product
 * tracks as the logged-in user. Every message carries the device in `context.device`.
 */
function writeApp(scope: Scope, channel: AppChannel): void {
  const { random, profile } = scope;
  own(scope, 'anonymous_id', channel.anonymousId);
  if (!channel.shared) own(scope, 'device_id', channel.device.id);
  const loginAt = random.int(0, Math.min(2, channel.browse - 1));
  let who: Who = { anonymousId: channel.anonymousId };
  const messages: Message[] = [];
  for (let i = 0; i < channel.browse; i++) {
    if (i === loginAt && profile.userId !== undefined) {
      who = { anonymousId: channel.anonymousId, userId: profile.userId };
      own(scope, 'user_id', profile.userId);
      messages.push(identify(who, loginTraits(scope), channel.context));
    }
    messages.push(appBrowse(random, who, channel.context));
  }
  emitChannel(scope, messages, sessionsFor(random, channel.browse));
}

function appContext(device: Device): Readonly<Message> {
  return deepFreeze({
    library: APP_LIBRARY[device.type],
    app: APP,
    device: { id: device.id, type: device.type },
    os: { name: device.type === 'ios' ? 'iOS' : 'Android' },
  });
}

function appBrowse(random: Random, who: Who, context: Readonly<Message>): Message {
  if (random.chance(0.7)) {
    const m = base('screen', who);
    const name = random.pick(APP_SCREENS);
    m.name = name;
    m.properties = { name };
    m.context = context;
    return m;
  }
  return track(who, random.chance(0.7) ? 'Product Viewed' : 'Product Added', random.pick(PRODUCT_PROPERTIES), context);
}

/**
 * Store purchases with the loyalty card scanned: one `Order Completed` per visit from the POS,
 * whose anonymousId is the transaction; usually (75%) the cashier also captures an email for the
 * e-receipt or the member's enrolment, sent as an identify carrying the loyalty id and the email as typed.
 */
function writeStoreVisits(scope: Scope): number {
  const { random, profile, ids } = scope;
  if (profile.loyaltyId === undefined) return 0;
  const loyalty = { id: profile.loyaltyId, type: 'loyalty_id', collection: 'users', encoding: 'none' };
  const visits = 1 + Math.floor(random.next() * Math.min(4, profile.budget / 8));
  const receiptAt = random.chance(0.75) ? random.int(0, visits - 1) : -1;
  let written = 0;
  own(scope, 'loyalty_id', profile.loyaltyId);
  for (let v = 0; v < visits; v++) {
    const store = random.pick(STORES[profile.country]);
    const who: Who = { anonymousId: `pos-${store}-${ids.serial()}` };
    own(scope, 'anonymous_id', who.anonymousId);
    const context = deepFreeze({ library: POS_LIBRARY, externalIds: [loyalty] });
    const messages: Message[] = [];
    if (v === receiptAt) {
      own(scope, 'email', profile.email);
      messages.push(identify(who, { email: asTyped(random, profile.email) }, context));
    }
    const properties = orderProperties(scope, 'S');
    properties.store_id = store;
    messages.push(track(who, 'Order Completed', properties, context));
    emitChannel(scope, messages, 1);
    written += messages.length;
  }
  return written;
}

/** Emails as a person typed them at a till: occasionally capitalised. */
function asTyped(random: Random, email: string): string {
  if (!random.chance(0.3)) return email;
  return email.replace(/(^|[.@])([a-z])/g, (_, sep: string, letter: string) => sep + letter.toUpperCase());
}

/**
 * Contact-centre calls: a `Call Completed` track identified only by the caller's number, written
 * loosely, with an anonymousId derived from the call id; sometimes the agent also sends an identify
 * with the phone and the email the caller gave.
 */
function writeCalls(scope: Scope): number {
  const { random, profile, ids } = scope;
  if (profile.phone === undefined || !random.chance(0.3)) return 0;
  const calls = 1 + Math.floor(random.next() ** 2 * 3);
  let written = 0;
  own(scope, 'phone', profile.phone.e164);
  for (let c = 0; c < calls; c++) {
    const callId = `CA${hex(mix32(ids.serial()), 8)}`;
    const who: Who = { anonymousId: `call-${callId}` };
    own(scope, 'anonymous_id', who.anonymousId);
    const phone = loosePhone(random, profile.phone);
    const messages: Message[] = [];
    if (random.chance(0.6)) {
      own(scope, 'email', profile.email);
      messages.push(identify(who, { phone, email: profile.email }, CALL_CONTEXT));
    }
    const properties = { call_id: callId, duration_s: random.int(30, 1800), reason: random.pick(CALL_REASONS) };
    messages.push(track(who, 'Call Completed', properties, { library: CALL_LIBRARY, traits: { phone } }));
    emitChannel(scope, messages, 1);
    written += messages.length;
  }
  return written;
}

/** The traits a login identify carries: always the primary email and name, sometimes phone and plan. */
function loginTraits(scope: Scope): Message {
  const { random, profile } = scope;
  own(scope, 'email', profile.email);
  const traits: Message = { email: profile.email, firstName: profile.first.display, lastName: profile.last.display };
  if (profile.phone !== undefined && random.chance(0.5)) {
    own(scope, 'phone', profile.phone.e164);
    traits.phone = profile.phone.e164;
  }
  if (profile.plan !== undefined) traits.plan = profile.plan;
  return traits;
}

function orderProperties(scope: Scope, channelCode: string): Message {
  const { random, profile, ids } = scope;
  const products: Message[] = [];
  let revenue = 0;
  for (let n = random.int(1, 3); n > 0; n--) {
    const p = random.pick(PRODUCTS);
    const quantity = random.chance(0.8) ? 1 : 2;
    revenue += p.price * quantity;
    products.push({ product_id: p.product_id, sku: p.sku, name: p.name, price: p.price, quantity });
  }
  return { order_id: `${channelCode}${ids.serial()}`, revenue, currency: CURRENCY[profile.country], products };
}

function own(scope: Scope, type: string, value: string): void {
  scope.owned.add(`${type}:${value}`);
}

// ---------------------------------------------------------------------------------------------
// Message construction. messageId and timestamp are filled in once the global order is known;
// they are created empty so that every message has the same leading keys.

function base(type: string, who: Who): Message {
  const m: Message = { type, messageId: '', timestamp: '' };
  if (who.userId !== undefined) m.userId = who.userId;
  m.anonymousId = who.anonymousId;
  return m;
}

function identify(who: Who, traits: Readonly<Message>, context: Readonly<Message>): Message {
  const m = base('identify', who);
  m.traits = traits;
  m.context = context;
  return m;
}

function track(who: Who, event: string, properties: Readonly<Message>, context: Readonly<Message>): Message {
  const m = base('track', who);
  m.event = event;
  m.properties = properties;
  m.context = context;
  return m;
}

// ---------------------------------------------------------------------------------------------
// Time, junk and delivery.

function sessionsFor(random: Random, browse: number): number {
  return Math.max(1, Math.round((browse / EVENTS_PER_SESSION) * (0.5 + random.next())));
}

/**
 * Gives a channel's messages increasing times, split into `sessions` visits that start at sorted
 * random points of the window, 5–120 s apart within a visit; then sends each to the sink, with an
 * occasional junk variant right after it.
 */
function emitChannel(scope: Scope, messages: readonly Message[], sessions: number): void {
  const { random, window, sink } = scope;
  const starts: number[] = [];
  for (let s = 0; s < sessions; s++) starts.push(window.from + Math.floor(random.next() * window.span));
  starts.sort((a, b) => a - b);
  let time = -Infinity;
  let session = -1;
  messages.forEach((message, i) => {
    const s = Math.floor((i * sessions) / messages.length);
    if (s !== session) {
      session = s;
      time = Math.max(starts[s] ?? time, time + 60_000);
    } else {
      time += random.int(5_000, 120_000);
    }
    sink.messages.push(message);
    sink.times.push(time);
    if (random.chance(JUNK_RATE)) {
      sink.messages.push(junkVariant(random, message));
      sink.times.push(time + random.int(1_000, 30_000));
    }
  });
}

const JUNK_USER_IDS = ['null', 'undefined', '0'];

/**
 * A copy of `message` with one identity field replaced by a junk value of the kind real SDK bugs
 * and test sign-ups produce. The copy still carries the person's other identifiers, which is what
 * makes junk dangerous: a resolver that trusts it would merge everyone who sent the same junk.
 */
function junkVariant(random: Random, message: Message): Message {
  const copy: Message = { ...message };
  const traits = message.traits as Message | undefined;
  const context = message.context as Message;
  const contextTraits = context.traits as Message | undefined;
  const r = random.next();
  if (traits !== undefined && r < 0.34) {
    copy.traits = { ...traits, email: 'test@test.com' };
  } else if (traits !== undefined && r < 0.67) {
    copy.traits = { ...traits, phone: '0000000000' };
  } else if (contextTraits !== undefined && r < 0.5) {
    copy.context = { ...context, traits: { ...contextTraits, phone: '0000000000' } };
  } else if (message.userId !== undefined && random.chance(0.5)) {
    copy.anonymousId = 'anonymous';
  } else {
    copy.userId = random.pick(JUNK_USER_IDS);
  }
  return copy;
}

/**
 * Sorts the sink by time (ties keep generation order, so a channel's causal order survives) and
 * stamps each message with its timestamp and a messageId numbered in that order.
 */
function chronological(sink: Sink, seed: number): Message[] {
  const { messages, times } = sink;
  const order = sortedByTime(times);
  const result: Message[] = new Array(order.length);
  for (let n = 0; n < order.length; n++) {
    const i = order[n] as number;
    const message = messages[i] as Message;
    message.messageId = `m-${seed}-${n + 1}`;
    message.timestamp = new Date(times[i] as number).toISOString();
    result[n] = message;
  }
  return result;
}

/**
 * The indices of `times` in (time, index) order. A stable counting sort by minute followed by an
 * insertion sort inside each minute: linear time, several times faster than a comparator sort on
 * a million entries, because a minute holds only a handful of events.
 */
function sortedByTime(times: readonly number[]): Uint32Array {
  const n = times.length;
  let min = Infinity;
  for (const t of times) min = Math.min(min, t);
  const minute = new Uint32Array(n);
  let buckets = 0;
  times.forEach((t, i) => {
    const b = Math.floor((t - min) / 60_000);
    minute[i] = b;
    buckets = Math.max(buckets, b + 1);
  });
  // starts[b] is where minute b begins in `order`; starts[buckets] === n.
  const starts = new Uint32Array(buckets + 1);
  for (const b of minute) starts[b + 1] = (starts[b + 1] ?? 0) + 1;
  for (let b = 1; b <= buckets; b++) starts[b] = (starts[b] ?? 0) + (starts[b - 1] ?? 0);
  const order = new Uint32Array(n);
  const next = starts.slice(0, buckets);
  minute.forEach((b, i) => {
    const slot = next[b] ?? 0;
    order[slot] = i;
    next[b] = slot + 1;
  });
  for (let b = 0; b < buckets; b++) {
    insertionSort(order, { from: starts[b] ?? 0, to: starts[b + 1] ?? 0, times });
  }
  return order;
}

/** Sorts order[from, to) by time, stably; the input is already in index order. */
function insertionSort(order: Uint32Array, range: { from: number; to: number; times: readonly number[] }): void {
  const { from, to, times } = range;
  for (let k = from + 1; k < to; k++) {
    const i = order[k] as number;
    const t = times[i] as number;
    let j = k - 1;
    while (j >= from && (times[order[j] as number] as number) > t) {
      order[j + 1] = order[j] as number;
      j--;
    }
    order[j + 1] = i;
  }
}

/**
 * Re-delivers a `rate` fraction of the messages, as a retrying client would: the same object
 * again, 1–200 positions after the original.
 */
function withDuplicates(messages: readonly Message[], opts: { rate: number; random: Random }): Message[] {
  const { rate, random } = opts;
  if (rate <= 0) return messages.slice();
  const result: Message[] = [];
  const due = new Map<number, Message[]>();
  messages.forEach((message, n) => {
    result.push(message);
    if (random.chance(rate)) {
      const at = n + random.int(1, 200);
      const list = due.get(at);
      if (list === undefined) due.set(at, [message]);
      else list.push(message);
    }
    const now = due.get(n);
    if (now !== undefined) {
      result.push(...now);
      due.delete(n);
    }
  });
  for (const at of [...due.keys()].sort((a, b) => a - b)) result.push(...(due.get(at) ?? []));
  return result;
}

function truthOf(people: readonly GeneratedPerson[]): Map<string, string> {
  const truth = new Map<string, string>();
  for (const person of people) {
    for (const id of person.identifiers) truth.set(id, person.personId);
  }
  return truth;
}
