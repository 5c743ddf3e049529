/**
 * What the CIAM stand-in's parts share: its settings (the options with their defaults), its keys
 * and in-memory store, the test hooks' queues and records, and the oidc-provider now serving.
 */
import { randomBytes } from 'node:crypto';
import type Provider from 'oidc-provider';
import type {
  IdTokenTamper,
  OidcAccount,
  OidcFailure,
  OidcRoute,
  OidcStandIn,
  OidcStandInOptions,
  StandInClient,
} from '../oidc.js';
import type { SigningKey } from './keys.js';

/** OidcStandInOptions once the defaults are filled in (startOidcStandIn's `settingsOf`). */
export interface OidcSettings extends Pick<
  OidcStandInOptions,
  'rpInitiatedLogout' | 'backchannelLogoutUri' | 'issuer'
> {
  host: string;
  clients: StandInClient[];
  redirectUris: string[];
  postLogoutRedirectUris: string[];
  account: OidcAccount;
  accessTtlSec: number;
  refreshTtlSec: number;
  hangMs: number;
}

export type UserinfoTamper = Parameters<OidcStandIn['tamperNextUserinfo']>[0];

export class OidcState {
  readonly cookieKeys = [randomBytes(32).toString('base64url')];
  // The stand-in's "database": oidc-provider's own in-memory adapter over one Map, so that a
  // provider rebuilt by rotateKeys() still knows every grant, session and token.
  readonly store = new Map<string, unknown>();
  readonly calls: OidcStandIn['calls'] = {
    discovery: 0,
    jwks: 0,
    token: 0,
    revocation: 0,
    userinfo: 0,
    end_session: 0,
    authorization_code: 0,
    refresh_token: 0,
    logout: 0,
  };
  /** What the tests asked for: failures, ID-token and userinfo changes, each used up in order. */
  readonly failures: { route: OidcRoute; kind: OidcFailure }[] = [];
  readonly tampers: IdTokenTamper[] = [];
  readonly userinfoTampers: UserinfoTamper[] = [];
  /** What happened: logout tokens sent, codes and tokens issued, refresh tokens issued and presented. */
  readonly backchannel: OidcStandIn['backchannel'] = [];
  readonly issued: string[] = [];
  readonly refreshTokensIssued: string[] = [];
  readonly refreshTokensPresented: string[] = [];
  /** Timers of `timeout` failures still hanging (close() clears them). */
  readonly hanging = new Set<NodeJS.Timeout>();
  /** The provider now serving and its request handler: set by serve(), replaced after rotateKeys(). */
  provider!: Provider;
  handler!: ReturnType<Provider['callback']>;

  /** `keys`: the signing keys, the current one first (rotateKeys() puts a new one in front). */
  constructor(
    readonly settings: OidcSettings,
    readonly keys: SigningKey[],
  ) {}

  /** Makes `p` the provider that answers from now on. */
  serve(p: Provider): void {
    this.provider = p;
    this.handler = p.callback();
  }

  /** Resolves after `ms`, unless close() clears the timer first. */
  sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        this.hanging.delete(t);
        resolve();
      }, ms);
      this.hanging.add(t);
    });
  }
}
