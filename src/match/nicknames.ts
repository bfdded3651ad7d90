/**
 * Given-name equivalences: nicknames, diminutives and common spelling variants (Bob/Robert,
 * Liz/Elizabeth, Hans/Johannes). No well-kept npm package carries such a table, so this is a small
 * curated one covering the most frequent English, German, French, Italian and Spanish given names.
 * A name may belong to several groups ("al" is Albert, Alfred and Alan); two names are equivalent
 * when they share a group. Names are the matcher's normalised form: lower case, no diacritics.
 */
const GROUPS: readonly string[] = [
  'abigail abby abbie gail',
  'abraham abe bram',
  'albert al bert bertie',
  'alfred al alf alfie fred freddie',
  'alan al allan allen alain',
  'alexander alex alec sandy xander sasha alexandre alessandro alejandro alexandr',
  'alexandra alex sandra sandy lexie sasha alexandria',
  'andrew andy drew andreas andre andrea andres',
  'anne ann anna annie nancy nan anita hannah',
  'anthony tony antony anton antonio antoine',
  'arthur art artie',
  'barbara barb barbie babs',
  'benjamin ben benny benji',
  'bernard bernie barney bernhard',
  'catherine katherine kathryn cathy kathy kate katie kat kitty cate cathryn kathleen katharina katrin katarina caterina',
  'charles charlie chuck chas carl karl carlos carlo',
  'charlotte lottie charlie lotte',
  'christine christina chris chrissy tina kristin kristina christiane',
  'christopher chris kit topher christoph cristobal',
  'cynthia cindy',
  'daniel dan danny dani',
  'david dave davey davy',
  'deborah debra deb debbie',
  'donald don donnie',
  'dorothy dot dottie dorothea',
  'douglas doug',
  'edward ed eddie ted teddy ned edouard eduardo',
  'edwin ed eddie',
  'eleanor ellie nell nellie elinor leonora',
  'elizabeth beth betty betsy liz lizzie eliza elisabeth lisa libby bess bessie isabel elise ilse',
  'emily em emmy emilie emilia',
  'eugene gene',
  'frances fran frannie francine franziska',
  'francis frank frankie franz francois francesco francisco paco',
  'frederick fred freddie fritz friedrich frederic federico',
  'gabriel gabe gabi gabriele',
  'geoffrey jeffrey geoff jeff',
  'gerald gerry jerry gerard gerhard',
  'gregory greg',
  'harold hal harry',
  'howard howie',
  'helen helena ellen nell elena elaine',
  'henry harry hank hal heinrich heinz henri enrique enrico',
  'herbert herb bert',
  'jacob jake jakob jacques',
  'james jim jimmy jamie jacques diego jaime',
  'jane jan janet jenny jean jeanne',
  'jennifer jen jenny jenn',
  'jessica jess jessie',
  'john jack johnny jon jonathan hans johann johannes jean juan giovanni ivan sean',
  'jonathan jon jonny nathan',
  'joseph joe joey jose josef giuseppe pepe',
  'josephine jo josie',
  'joshua josh',
  'judith judy jude',
  'julia julie juliet julian juliane',
  'kenneth ken kenny',
  'lawrence laurence larry lorenz lorenzo laurent',
  'leonard leo len lenny leon',
  'louis lou louie luis ludwig luigi lewis',
  'lucy lucille lucia',
  'margaret maggie meg peggy peggie marge margie madge greta gretchen margarete margarethe marguerite margherita rita',
  'martha marty mattie',
  'martin marty martino',
  'mary maria marie molly polly mae mamie miriam marion mia',
  'matthew matt matthias mathias matteo mateo',
  'muhammad mohammad mohammed muhammed mohamed mohamad mohammod mohd mhd',
  'michael mike mikey mick mickey michel miguel michele mikhail',
  'nathaniel nathan nate nat',
  'nicholas nick nicky nico nicolas klaus claus nikolaus niccolo',
  'nicole nikki nicki',
  'patricia pat patty trish tricia',
  'patrick pat paddy',
  'peter pete pierre pedro pietro piotr',
  'philip phil pip philipp phillip felipe',
  'rachel rae shelly',
  'raymond ray ramon',
  'rebecca becky becca',
  'richard rick ricky dick rich richie rico ricardo',
  'robert rob bob bobby robbie bert robin roberto',
  'ronald ron ronnie',
  'rosalind rose rosie rosa',
  'samuel sam sammy',
  'samantha sam sammy',
  'sarah sara sally sadie',
  'stephen steven steve stevie stefan stephan esteban stefano',
  'anastasia anastassia nastassia nastasia nastya stacy stacey',
  'susan sue susie suzanne susanne susanna',
  'teresa theresa terry tess tessa therese',
  'theodore ted teddy theo',
  'thomas tom tommy thom tomas tommaso',
  'timothy tim timmy',
  'victoria vicky vickie tori',
  'vincent vince vinny',
  'walter walt wally',
  'william will bill billy willy liam wilhelm guillaume guillermo',
  'zachary zach zack',
];

const groupsByName: ReadonlyMap<string, readonly number[]> = (() => {
  const map = new Map<string, number[]>();
  GROUPS.forEach((group, index) => {
    for (const name of group.split(' ')) {
      const list = map.get(name);
      if (list === undefined) map.set(name, [index]);
      else if (!list.includes(index)) list.push(index);
    }
  });
  return map;
})();

/** The nickname groups a normalised given name belongs to (empty when it is in none). */
export function nicknameGroups(name: string): readonly number[] {
  return groupsByName.get(name) ?? [];
}

/** True when two different normalised given names are known equivalents (Bob and Robert). */
export function areNicknames(a: string, b: string): boolean {
  const ga = groupsByName.get(a);
  if (ga === undefined) return false;
  const gb = groupsByName.get(b);
  if (gb === undefined) return false;
  for (const g of ga) if (gb.includes(g)) return true;
  return false;
}

/**
 * The name that stands for `name`'s nickname group in a blocking key: the group's first (full)
 * name, Margaret for Peggie, Peggy and Margaret alike; undefined for a name in no group. A name
 * in several groups ("al": Albert, Alfred, Alan) keys on the first of them; it still meets the
 * others through the rules on spelling and sound.
 */
export function nicknameKey(name: string): string | undefined {
  const g = groupsByName.get(name)?.[0];
  return g === undefined ? undefined : canonicalOf[g];
}

const canonicalOf: readonly string[] = GROUPS.map((group) => group.slice(0, group.indexOf(' ')));

/**
 * Whether `initial` (one letter) is the initial of a name equivalent to `name`: "B" fits Robert
 * through Bob, "P" fits Margaret through Peggy. An initial is often all a form kept of the name
 * a person goes by.
 */
export function isNicknameInitial(initial: string, name: string): boolean {
  const groups = groupsByName.get(name);
  if (groups === undefined) return false;
  for (const g of groups) if (initialsOf[g]!.includes(initial)) return true;
  return false;
}

const initialsOf: readonly string[] = GROUPS.map((group) => [...new Set(group.split(' ').map((n) => n[0]!))].join(''));
