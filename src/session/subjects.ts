/**
 * The institution's user ids ("subjects"), as the store sees them: an HMAC of the id under a key
 * derived from SESSION_SECRET, so a look at the store (or a session record) never reveals who is
 * who. The raw id is kept only inside the sealed connection record, for the service API's answers
 * and the webhooks. Changing SESSION_SECRET therefore unlinks every subject (it also signs
 * everybody out), as it should.
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
  private readonly key: Buffer;

  constructor(sessionSecret: string) {
    this.key = Buffer.from(hkdfSync('sha256', sessionSecret, 'xt-connect', 'subject-key-v1', 32));
  }

  /** The opaque owner id under which a subject's connections are stored. */
  ownerOf(subject: string): string {
    return `sub.${createHmac('sha256', this.key).update(subject, 'utf8').digest('base64url')}`;
  }
}
