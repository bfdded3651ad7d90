import type { ChangeSet } from './ports.ts';

/** A ChangeSet with only the given parts; everything else empty. */
export function changeSet(parts: Partial<ChangeSet>): ChangeSet {
  return {
    messages: [],
    profileRepoints: [],
    componentRepoints: [],
    identifiers: [],
    deletedIdentifiers: [],
    profiles: [],
    deletedProfiles: [],
    components: [],
    deletedComponents: [],
    primaries: [],
    retractions: [],
    history: [],
    redirects: [],
    rejected: [],
    ...parts,
  };
}
