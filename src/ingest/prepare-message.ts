import type { ValidMessage } from '../spec/segment-message.ts';
import type { PreparedMessage } from '../identity/resolve-batch.ts';
import { extractIdentifiers, type IgnoredIdentifier } from '../identity/extract-identifiers.ts';
import type { IdentityRules } from '../identity/rules.ts';
import { consentOfContext } from '../profile/consent.ts';

/**
 * Turns a validated message into what the resolver consumes: identifiers extracted and normalised
 * under the workspace's rules, identify traits picked out, and the body serialised once.
 */
export function prepareMessage(message: ValidMessage, source: string, rules: IdentityRules): { prepared: PreparedMessage; ignored: readonly IgnoredIdentifier[] } {
  const { keys, ignored } = extractIdentifiers(message, rules);
  return {
    prepared: {
      messageId: message.messageId,
      type: message.type,
      event: message.type === 'track' ? (message.event ?? null) : message.type === 'page' || message.type === 'screen' ? (message.name ?? null) : null,
      t: message.timestamp,
      receivedAt: message.receivedAt,
      source,
      keys,
      traits: message.type === 'identify' ? (message.traits ?? null) : null,
      consent: consentOfContext(message.context),
      body: JSON.stringify(message),
    },
    ignored,
  };
}
