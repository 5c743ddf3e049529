/**
 * The institution's user ids ("subjects"), as the store sees them: an HMAC of the id under a key
 * derived from SUBJECT_KEYS (or, unset, from the oldest SESSION_SECRET: adding a session secret at
 * the front moves nothing), so a look at the store (or a session record) never reveals who is who.
 * The raw id is kept only inside the sealed connection record, for the service API's answers and
 * the webhooks. The keys rotate: the newest names new records, and every key finds old ones
 * (ownersOf), which move to the newest on first use (session/subjectMoves.ts).
 */
import { createHmac, hkdfSync } from 'node:crypto';

/**
 * What a subject may be: 1 to 128 characters of letters, digits and `._:@-`, but not `.` or `..`
 * alone: those are path segments every URL parser resolves, so no request could address them.
 */
export const SUBJECT_PATTERN = /^(?!\.{1,2}$)[A-Za-z0-9._:@-]{1,128}$/;

export const isSubject = (s: unknown): s is string => typeof s === 'string' && SUBJECT_PATTERN.test(s);

/** True for a subject's owner key (see Subjects.ownerOf), false for a session's private owner id. */
export const isSubjectKey = (owner: string): boolean => owner.startsWith('sub.');

/**
 * Subject keys start with `sub.`; a session's random owner id (base64url) never holds a dot, so
 * the two can never name the same records.
 */
export class Subjects {
  private readonly keys: Buffer[];

  /** `secrets`: SUBJECT_KEYS, newest first (config.session.subjectKeys). */
  constructor(secrets: readonly string[]) {
    if (secrets.length === 0) throw new Error('Subjects needs at least one key');
    this.keys = secrets.map((s) => Buffer.from(hkdfSync('sha256', s, 'xt-connect', 'subject-key-v1', 32)));
  }

  /** The opaque owner id under which a subject's connections are stored (the newest key's). */
  ownerOf(subject: string): string {
    return ownerUnder(this.keys[0]!, subject);
  }

  /** Every owner id the subject may be stored under, newest key first (a rotation in progress). */
  ownersOf(subject: string): string[] {
    return this.keys.map((k) => ownerUnder(k, subject));
  }
}

const ownerUnder = (key: Buffer, subject: string): string =>
  `sub.${createHmac('sha256', key).update(subject, 'utf8').digest('base64url')}`;
