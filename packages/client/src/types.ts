/**
 * Names for the contract's types (schema.ts, generated from api/openapi.yaml), and the typing of
 * XT.COM calls: a path the contract documents gets its operation's answer, any other `unknown`.
 */
import type { components, operations, paths, webhooks } from './schema.js';

type Schemas = components['schemas'];

/** Every code of the error table (`ErrorCode` in the contract). */
export type ErrorCode = Schemas['ErrorCode'];
/**
 * The codes an XtConnectError can carry: the table's, and the client's own:
 * - `network`: no HTTP answer (refused, reset, DNS, aborted);
 * - `xt_refused`: XT.COM's own business refusal (`rc`/`returnCode` 1) passed on with a 4xx (`XtRefusal`);
 *   its body is on the error's `body`;
 * - `unexpected_response`: an error status without the contract's JSON error (e.g. a proxy's HTML page),
 *   or a success whose body is not the JSON the contract promises.
 */
export type ClientErrorCode = ErrorCode | 'network' | 'xt_refused' | 'unexpected_response';
export type ServiceScope = Schemas['ServiceScope'];
export type ServiceError = Schemas['ServiceError'];
export type SubjectConnections = Schemas['SubjectConnections'];
export type ProviderConnection = Schemas['ProviderConnection'];
export type ConnectionList = Schemas['ConnectionList'];
export type ConnectionListItem = Schemas['ConnectionListItem'];
export type ConnectionState = Schemas['ConnectionState'];
export type LinkClaims = Schemas['LinkClaims'];
export type XtAnswer = Schemas['XtAnswer'];
export type XtRefusal = Schemas['XtRefusal'];
/** XT.COM's answer to POST /user/account/api-key, its secret sealed (open it with openApiKeySecret). */
export type XtApiKeyAnswer = Schemas['XtApiKeyAnswer'];
export type SealedApiKeySecret = Schemas['SealedApiKeySecret'];
/** The query of `GET /v1/connections`: state, provider, cursor, limit. */
export type ListConnectionsQuery = NonNullable<operations['listConnections']['parameters']['query']>;
export type DeliveryList = Schemas['DeliveryList'];
export type DeliveryAttempt = Schemas['DeliveryAttempt'];
/** The query of `GET /v1/webhooks/deliveries`: status, cursor, limit. */
export type ListDeliveriesQuery = NonNullable<operations['listWebhookDeliveries']['parameters']['query']>;
export type ReplayResult = Schemas['ReplayResult'];
/** What `webhooks.replay` puts back: `since` and `until` as Dates or RFC 3339 strings with an offset. */
export type ReplayOptions = Omit<Schemas['ReplayRequest'], 'since' | 'until'> & {
  since: Date | string;
  until?: Date | string;
};

type JsonOf<T> = T extends { content: { 'application/json': infer J } } ? J : unknown;

/** A webhook's body, by event type: generated from the contract's `webhooks` section. */
type EventBody<K extends keyof webhooks> = JsonOf<NonNullable<webhooks[K]['post']>['requestBody']>;
/** Every webhook event the contract describes (`connection.created`, `connection.reconnected`, `connection.ended`), by `type`. */
export type WebhookEvent = { [K in keyof webhooks]: EventBody<K> }[keyof webhooks];
export type WebhookEventType = WebhookEvent['type'];

/** The methods of the XT.COM gateway. */
export type XtMethod = 'get' | 'post' | 'delete';

type XtPrefix = '/v1/subjects/{sub}/xt';
/** `/spot/v4/order/{orderId}` as the pattern `/spot/v4/order/${string}`. */
type Pattern<S extends string> = S extends `${infer A}{${string}}${infer B}` ? `${A}${string}${Pattern<B>}` : S;
/** The paths of `Paths` under the gateway, but its catch-all `{path}`, which documents no particular endpoint. */
type XtKey<Paths> = Exclude<Extract<keyof Paths, `${XtPrefix}/${string}`>, `${XtPrefix}/{path}`>;
/** The paths under the gateway that the XT.COM path `P` falls under. */
type XtKeyOf<Paths, P extends string> = {
  [K in XtKey<Paths>]: K extends `${XtPrefix}${infer Rest}` ? (P extends Pattern<Rest> ? K : never) : never;
}[XtKey<Paths>];
/** The JSON of an operation's success: its 200 (else 201, else 2XX) `application/json` schema. */
type SuccessOf<Op> = Op extends { responses: infer R }
  ? 200 extends keyof R
    ? JsonOf<R[200]>
    : 201 extends keyof R
      ? JsonOf<R[201]>
      : '2XX' extends keyof R
        ? JsonOf<R['2XX']>
        : unknown
  : unknown;
type AnswerOf<Paths, K, M extends XtMethod> = K extends keyof Paths
  ? M extends keyof Paths[K]
    ? SuccessOf<Paths[K][M]>
    : unknown
  : never;

/** XtResult over any `paths` type (exported for the type tests). */
export type XtResultIn<Paths, M extends XtMethod, P extends string> = [XtKeyOf<Paths, P>] extends [never]
  ? unknown
  : AnswerOf<Paths, XtKeyOf<Paths, P>, M>;

/**
 * What `xt.get/post/delete(sub, P)` resolves to: the success JSON of the contract's operation for
 * `/v1/subjects/{sub}/xt${P}` (path parameters such as `{orderId}` match any segment text), else `unknown`.
 */
export type XtResult<M extends XtMethod, P extends string> = XtResultIn<paths, M, P>;
