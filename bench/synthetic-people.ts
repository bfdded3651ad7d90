/**
 * A seeded generator of person records with realistic duplication and typos, for the matcher's
 * speed-and-scale benchmark (`bench/match.ts`). People get a name, birth date, address, email and
 * phone from small embedded lists (first names and surnames weighted so some are common, as real
 * ones are); each person has one record or a few, and every extra record carries the errors of
 * a clerk or a form: typos, nicknames, swapped day and month, missing fields, a move to a new
 * address, another email. The same `seed` gives the same records.
 */
import { createRandom } from '../src/random.ts';

const FIRST = (
  'james john robert michael william david richard joseph thomas charles christopher daniel matthew anthony mark donald steven paul ' +
  'andrew joshua kenneth kevin brian george timothy ronald edward jason jeffrey ryan jacob gary nicholas eric jonathan stephen larry ' +
  'justin scott brandon benjamin samuel gregory alexander frank patrick raymond jack dennis jerry tyler aaron jose adam nathan henry ' +
  'douglas zachary peter kyle noah ethan jeremy walter christian keith roger terry austin sean gerald carl harold dylan arthur lawrence ' +
  'mary patricia jennifer linda elizabeth barbara susan jessica sarah karen lisa nancy betty margaret sandra ashley kimberly emily donna ' +
  'michelle carol amanda dorothy melissa deborah stephanie rebecca sharon laura cynthia kathleen amy angela shirley anna brenda pamela ' +
  'emma nicole helen samantha katherine christine debra rachel carolyn janet catherine maria heather diane ruth julie olivia joyce ' +
  'virginia victoria kelly lauren christina joan evelyn judith megan andrea cheryl hannah jacqueline martha gloria teresa ann sara ' +
  'madison frances kathryn janice jean abigail alice judy sophia grace denise amber doris marilyn danielle beverly isabella theresa'
).split(' ');

const LAST = (
  'smith johnson williams brown jones garcia miller davis rodriguez martinez hernandez lopez gonzalez wilson anderson thomas taylor ' +
  'moore jackson martin lee perez thompson white harris sanchez clark ramirez lewis robinson walker young allen king wright scott ' +
  'torres nguyen hill flores green adams nelson baker hall rivera campbell mitchell carter roberts gomez phillips evans turner diaz ' +
  'parker cruz edwards collins reyes stewart morris morales murphy cook rogers gutierrez ortiz morgan cooper peterson bailey reed kelly ' +
  'howard ramos kim cox ward richardson watson brooks chavez wood james bennett gray mendoza ruiz hughes price alvarez castillo sanders ' +
  'patel myers long ross foster jimenez powell jenkins perry russell sullivan bell coleman butler henderson barnes gonzales fisher ' +
  'vasquez simmons romero jordan patterson alexander hamilton graham reynolds griffin wallace moreno west cole hayes bryant herrera ' +
  'gibson ellis tran medina aguilar stevens murray ford castro marshall owens harrison fernandez mcdonald woods washington kennedy ' +
  'wells vargas henry chen freeman webb tucker guzman burns crawford olson simpson porter hunter gordon mendez silva shaw snyder mason ' +
  'dixon munoz hunt hicks holmes palmer wagner black robertson boyd rose stone salazar fox warren mills meyer rice schmidt garza daniels ' +
  'ferguson nichols stephens soto weaver ryan gardner payne grant dunn kelley spencer hawkins arnold pierce vazquez hansen peters santos ' +
  'hart bradley knight elliott cunningham duncan armstrong hudson carroll lane riley andrews alvarado ray delgado berry perkins hoffman ' +
  'johnston matthews pena richards contreras willis carpenter lawrence sandoval guerrero george chapman rios estrada ortega watkins ' +
  'greene nunez wheeler valdez harper burke larson santiago maldonado morrison franklin carlson austin dominguez carr lawson jacobs ' +
  "obrien lynch singh vega bishop montgomery oliver jensen harvey williamson gilbert dean sims espinoza howell li wong reid hanson le " +
  'mccoy garrett burton fuller wang weber welch rojas lucas marquez fields park yang little banks padilla day walsh bowman schultz luna'
).split(' ');

/** Surnames beyond the list are made of two parts (Ashford, Brookman, …), as many real ones are. */
const SURNAME_HEADS = 'ash black brook bur cal car clay craw dal dun el fair fen glad green hal har hart hay kings lang lin mar mel mid mor new north ox pem ran red rid rock ros shel south stan stock thorn wal west whit win wood'.split(' ');
const SURNAME_TAILS = 'berg bourne bridge brook burn by combe croft dale den don field ford gate ham hill holm hurst land ley ling low man mere mont more ridge sby shaw stead ston thorpe ton wick well win worth wood'.split(' ');

/** Towns beyond the list: a base name and a part (Springfield Heights, North Salem). */
const TOWN_PARTS = ['', ' heights', ' park', ' springs', ' falls', ' junction', ' beach', ' hills', ' valley', ' center', ' village', ' crossing'];

const NICK: Readonly<Record<string, string>> = {
  william: 'bill', robert: 'bob', richard: 'dick', james: 'jim', michael: 'mike', thomas: 'tom', joseph: 'joe', charles: 'charlie',
  christopher: 'chris', daniel: 'dan', matthew: 'matt', anthony: 'tony', steven: 'steve', andrew: 'andy', kenneth: 'ken',
  edward: 'ed', jeffrey: 'jeff', nicholas: 'nick', jonathan: 'jon', samuel: 'sam', alexander: 'alex', benjamin: 'ben',
  elizabeth: 'liz', margaret: 'peggy', patricia: 'pat', jennifer: 'jen', katherine: 'kate', deborah: 'debbie', rebecca: 'becky',
  susan: 'sue', kimberly: 'kim', christine: 'chris', judith: 'judy', victoria: 'vicky', abigail: 'abby', dorothy: 'dot',
};

const STREETS = (
  'main oak pine maple cedar elm washington lake hill park view sunset river church spring north south high mill school forest ' +
  'meadow ridge valley highland lincoln jackson franklin madison jefferson adams walnut chestnut willow birch cherry laurel dogwood ' +
  'magnolia holly juniper aspen spruce sycamore hickory poplar locust mulberry cypress hawthorn heather ivy orchard prairie canyon ' +
  'harbor bay shore ocean beach island bridge mountain summit glen brook creek falls pond fairview pleasant grove'
).split(' ');
const STREET_TYPES = ['street', 'avenue', 'road', 'drive', 'lane', 'court', 'place', 'boulevard', 'way', 'circle', 'terrace', 'trail'];
const STREET_ABBREV: Readonly<Record<string, string>> = { street: 'st', avenue: 'ave', road: 'rd', drive: 'dr', lane: 'ln', court: 'ct', place: 'pl', boulevard: 'blvd', terrace: 'ter' };
const CITIES = (
  'springfield riverside franklin greenville bristol clinton fairview salem madison georgetown arlington ashland burlington ' +
  'manchester milton newport oxford clayton dayton hudson jackson kingston lebanon marion mount-vernon oakland centerville ' +
  'winchester auburn dover lexington princeton richmond shelby troy union watertown columbia chester dalton easton florence ' +
  'glendale hamilton jamestown lancaster monroe norwood plymouth quincy rochester stratford trenton vernon warren york'
)
  .split(' ')
  .map((c) => c.replace('-', ' '));
const DOMAINS = ['gmail.com', 'yahoo.com', 'hotmail.com', 'outlook.com', 'aol.com', 'icloud.com', 'mail.com', 'proton.me'];
const LETTERS = 'abcdefghijklmnopqrstuvwxyz';

export interface SyntheticPerson {
  readonly id: string;
  readonly entity: number;
  readonly firstName?: string;
  readonly lastName?: string;
  readonly birthday?: string;
  readonly address?: string;
  readonly city?: string;
  readonly postalCode?: string;
  readonly email?: string;
  readonly phone?: string;
}

/** The CSV columns of `syntheticPeopleCsv`, in order. */
export const SYNTHETIC_COLUMNS = ['id', 'first_name', 'last_name', 'dob', 'address', 'city', 'zip', 'email', 'phone'] as const;

interface Person {
  first: string;
  last: string;
  y: number;
  m: number;
  d: number;
  number: number;
  street: string;
  type: string;
  city: number;
  zip: string;
  email: string;
  phone: string;
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

/**
 * `n` records of about `n / 1.3` people, in shuffled order. Each record's `entity` is its
 * person's number (the truth for pairwise scores).
 */
export function syntheticPeople(n: number, seed = 1): SyntheticPerson[] {
  const rand = createRandom(seed).next;
  const int = (k: number): number => Math.floor(rand() * k);
  // Zipf-like weights: the k-th most common value is drawn with weight 1/(k + offset).
  const zipf = (size: number, offset: number): (() => number) => {
    const cumulative = new Float64Array(size);
    let total = 0;
    for (let k = 0; k < size; k++) cumulative[k] = total += 1 / (k + offset);
    return () => {
      const x = rand() * total;
      let lo = 0;
      let hi = size - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (cumulative[mid]! > x) hi = mid;
        else lo = mid + 1;
      }
      return lo;
    };
  };
  const firstOf = zipf(FIRST.length, 20);
  const lastOf = zipf(LAST.length, 30);
  const towns = CITIES.length * TOWN_PARTS.length;
  const townOf = zipf(towns, 20);
  const townName = (t: number): string => `${CITIES[t % CITIES.length]}${TOWN_PARTS[Math.floor(t / CITIES.length)]}`;
  const newAddress = (p: Pick<Person, 'number' | 'street' | 'type' | 'city' | 'zip'>): void => {
    p.number = 1 + int(rand() < 0.7 ? 999 : 9999);
    p.street = STREETS[int(STREETS.length)]!;
    p.type = STREET_TYPES[int(STREET_TYPES.length)]!;
    // Town numbers are shuffled into postcodes, so codes of neighbouring towns look unrelated.
    p.city = townOf();
    p.zip = `${pad((p.city * 7919) % 1000, 3)}${pad(int(100), 2)}`;
  };
  const person = (): Person => {
    const first = FIRST[firstOf()]!;
    const last = rand() < 0.6 ? LAST[lastOf()]! : `${SURNAME_HEADS[int(SURNAME_HEADS.length)]}${SURNAME_TAILS[int(SURNAME_TAILS.length)]}`;
    const p: Person = {
      first,
      last,
      y: 1930 + int(76),
      m: 1 + int(12),
      d: 1 + int(28),
      number: 0,
      street: '',
      type: '',
      city: 0,
      zip: '',
      email: '',
      phone: `${2 + int(8)}${pad(int(100), 2)}${pad(int(10_000_000), 7)}`,
    };
    const handle = [`${first}.${last}`, `${first[0]}${last}`, `${first}${last}${int(100)}`, `${last}.${first}${int(10)}`][int(4)]!;
    p.email = `${handle}@${DOMAINS[int(DOMAINS.length)]}`;
    newAddress(p);
    return p;
  };
  const typo = (s: string): string => {
    if (s.length < 2) return s;
    const i = int(s.length);
    switch (int(4)) {
      case 0:
        return s.slice(0, i) + LETTERS[int(26)] + s.slice(i + 1);
      case 1:
        return s.slice(0, i) + s.slice(i + 1);
      case 2:
        return s.slice(0, i) + LETTERS[int(26)] + s.slice(i);
      default:
        return i < s.length - 1 ? s.slice(0, i) + s[i + 1] + s[i] + s.slice(i + 2) : s.slice(0, i - 1) + s[i] + s[i - 1];
    }
  };
  const digitTypo = (s: string): string => {
    const i = int(s.length);
    return s.slice(0, i) + String(int(10)) + s.slice(i + 1);
  };
  const title = (s: string): string => s.replace(/\b[a-z]/g, (c) => c.toUpperCase());
  const out: SyntheticPerson[] = [];
  let entity = 0;
  while (out.length < n) {
    const p = person();
    // 75% have one record; the rest two to four (about 1.3 records per person).
    const x = rand();
    const copies = x < 0.75 ? 1 : x < 0.9 ? 2 : x < 0.97 ? 3 : 4;
    for (let c = 0; c < copies && out.length < n; c++) {
      const dirty = c > 0;
      const chance = (q: number): boolean => dirty && rand() < q;
      const q: Person = { ...p };
      if (chance(0.1)) newAddress(q);
      let first: string | undefined = q.first;
      if (chance(0.12) && NICK[first] !== undefined) first = NICK[first];
      else if (chance(0.15)) first = typo(first);
      let last: string | undefined = chance(0.15) ? typo(q.last) : q.last;
      if (chance(0.02)) [first, last] = [last, first];
      let { y, m, d } = q;
      if (chance(0.05) && d <= 12) [m, d] = [d, m];
      else if (chance(0.06)) d = 1 + int(28);
      else if (chance(0.04)) y += rand() < 0.5 ? 1 : -1;
      let birthday: string | undefined = rand() < 0.5 ? `${y}-${pad(m)}-${pad(d)}` : `${pad(m)}/${pad(d)}/${y}`;
      const type = rand() < 0.4 ? (STREET_ABBREV[q.type] ?? q.type) : q.type;
      let address: string | undefined = `${q.number} ${chance(0.1) ? typo(q.street) : q.street} ${type}`;
      let city: string | undefined = townName(q.city);
      if (chance(0.05)) city = typo(city);
      let zip: string | undefined = chance(0.04) ? digitTypo(q.zip) : q.zip;
      let email: string | undefined = chance(0.05) ? typo(q.email) : q.email;
      if (chance(0.15)) email = `${q.first}${int(1000)}@${DOMAINS[int(DOMAINS.length)]}`;
      let phone: string | undefined = chance(0.05) ? digitTypo(q.phone) : q.phone;
      // Missing values: clean records miss little, copies (forms, clerks) more.
      const miss = (base: number): boolean => rand() < (dirty ? base * 2 : base);
      if (miss(0.02)) first = undefined;
      if (miss(0.01)) last = undefined;
      if (miss(0.05)) birthday = undefined;
      if (miss(0.05)) address = undefined;
      if (miss(0.03)) city = undefined;
      if (miss(0.05)) zip = undefined;
      if (miss(0.25)) email = undefined;
      if (miss(0.3)) phone = undefined;
      const shown = rand() < 0.5;
      out.push({
        id: '',
        entity,
        ...(first === undefined ? {} : { firstName: shown ? title(first) : first }),
        ...(last === undefined ? {} : { lastName: shown ? title(last) : last.toUpperCase() }),
        ...(birthday === undefined ? {} : { birthday }),
        ...(address === undefined ? {} : { address: shown ? title(address) : address }),
        ...(city === undefined ? {} : { city: title(city) }),
        ...(zip === undefined ? {} : { postalCode: zip }),
        ...(email === undefined ? {} : { email }),
        ...(phone === undefined ? {} : { phone: rand() < 0.5 ? `(${phone.slice(0, 3)}) ${phone.slice(3, 6)}-${phone.slice(6)}` : phone }),
      });
    }
    entity++;
  }
  // Shuffle (Fisher–Yates) so a person's records are not next to each other, then number them.
  for (let i = out.length - 1; i > 0; i--) {
    const j = int(i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out.map((r, i) => ({ ...r, id: `p${i + 1}` }));
}

/** One CSV field, quoted when needed. */
function field(v: string | undefined): string {
  if (v === undefined) return '';
  return /[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/** The records as CSV text with the header `SYNTHETIC_COLUMNS` (what `kith dedupe` reads). */
export function syntheticPeopleCsv(people: readonly SyntheticPerson[]): string {
  const lines = [SYNTHETIC_COLUMNS.join(',')];
  for (const p of people) {
    lines.push([p.id, p.firstName, p.lastName, p.birthday, p.address, p.city, p.postalCode, p.email, p.phone].map(field).join(','));
  }
  return `${lines.join('\n')}\n`;
}
