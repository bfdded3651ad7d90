/**
 * The personal attributes the matcher understands. A record is an id and a value per attribute;
 * where the values come from (CSV columns, profile traits) is the caller's mapping.
 *
 * `fullName` and `birthYear`/`birthMonth`/`birthDay` are input forms only: a full name is split into
 * first, middle and last names when those are not given, and date parts are joined into `birthday`.
 * `text:NAME` is any other column, compared as free text; `id:NAME` is any other identifier
 * (passport, driving licence, customer number), compared as a code: exact, one typo, different.
 */
export const ATTRIBUTE_NAMES = [
  'firstName',
  'middleName',
  'lastName',
  'fullName',
  'birthday',
  'birthYear',
  'birthMonth',
  'birthDay',
  'streetNumber',
  'street',
  'address',
  'city',
  'postalCode',
  'state',
  'country',
  'email',
  'phone',
  'gender',
  'nationalId',
] as const;

export type KnownAttribute = (typeof ATTRIBUTE_NAMES)[number];
/** A known attribute, `text:NAME` for a free-text column or `id:NAME` for another identifier. */
export type Attribute = KnownAttribute | `text:${string}` | `id:${string}`;

/** The attributes that are compared (input-only forms are folded into these). */
export type ComparedAttribute = Exclude<Attribute, 'fullName' | 'birthYear' | 'birthMonth' | 'birthDay'>;

/** One input record: an id unique within its file, and raw values by attribute. */
export interface MatchInput {
  readonly id: string;
  readonly values: Readonly<Partial<Record<Attribute, string>>>;
}

const KNOWN = new Set<string>(ATTRIBUTE_NAMES);

/** Parses an attribute name as a user writes it (`--map col=ATTRIBUTE`); undefined when unknown. */
export function parseAttribute(raw: string): Attribute | undefined {
  const s = raw.trim();
  if (KNOWN.has(s)) return s as KnownAttribute;
  if (s.startsWith('text:') && /^text:[A-Za-z0-9_.\- ]{1,64}$/.test(s)) return s as `text:${string}`;
  if (s.startsWith('id:') && /^id:[A-Za-z0-9_.\- ]{1,64}$/.test(s)) return s as `id:${string}`;
  return undefined;
}

/**
 * Column-name synonyms recognised without `--map`, keyed by the header lower-cased with everything
 * but letters and digits removed. National ids (SSN and the like) are deliberately not guessed:
 * a near-unique id makes matching trivial and hides how well the personal attributes match, so it
 * is used only when mapped explicitly.
 */
const HEADER_SYNONYMS: Readonly<Record<string, KnownAttribute>> = {
  firstname: 'firstName',
  givenname: 'firstName',
  forename: 'firstName',
  fname: 'firstName',
  first: 'firstName',
  primarynamefirst: 'firstName',
  middlename: 'middleName',
  middle: 'middleName',
  primarynamemiddle: 'middleName',
  lastname: 'lastName',
  surname: 'lastName',
  familyname: 'lastName',
  lname: 'lastName',
  last: 'lastName',
  primarynamelast: 'lastName',
  fullname: 'fullName',
  name: 'fullName',
  primarynamefull: 'fullName',
  birthday: 'birthday',
  birthdate: 'birthday',
  dateofbirth: 'birthday',
  dob: 'birthday',
  birthyear: 'birthYear',
  birthmonth: 'birthMonth',
  streetnumber: 'streetNumber',
  housenumber: 'streetNumber',
  street: 'street',
  streetname: 'street',
  address: 'address',
  address1: 'address',
  addressline1: 'address',
  addrline1: 'address',
  addrfull: 'address',
  city: 'city',
  town: 'city',
  suburb: 'city',
  addrcity: 'city',
  postcode: 'postalCode',
  postalcode: 'postalCode',
  zip: 'postalCode',
  zipcode: 'postalCode',
  addrpostalcode: 'postalCode',
  state: 'state',
  province: 'state',
  region: 'state',
  addrstate: 'state',
  country: 'country',
  addrcountry: 'country',
  email: 'email',
  emailaddress: 'email',
  phone: 'phone',
  phonenumber: 'phone',
  telephone: 'phone',
  mobile: 'phone',
  gender: 'gender',
  sex: 'gender',
};

/** The attribute a column header suggests, if any (`given_name` → firstName, `zip` → postalCode). */
export function guessAttribute(header: string): KnownAttribute | undefined {
  const key = header.toLowerCase().replace(/[^a-z0-9]/g, '');
  return Object.hasOwn(HEADER_SYNONYMS, key) ? HEADER_SYNONYMS[key] : undefined;
}

/**
 * Attributes that the members of one household, or the users of one shared mailbox, have in
 * common: a surname, an address and its parts, a phone, an email. Training does not learn what
 * a person looks like from blocking rules made of them alone (see `sharedByHouseholds`).
 */
export const HOUSEHOLD_ATTRIBUTES: ReadonlySet<ComparedAttribute> = new Set<ComparedAttribute>(['lastName', 'streetNumber', 'street', 'address', 'city', 'postalCode', 'state', 'country', 'email', 'phone']);
