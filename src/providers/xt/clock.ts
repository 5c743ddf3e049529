/**
 * XT.COM's clock, as seen from here. XT.COM refuses a signed request whose timestamp is more
 * than 1 s ahead of its clock or older than the recv window (AUTH_105), so a host clock a few
 * seconds off would break every call. We keep an offset to XT.COM's clock, read from the unsigned
 * `GET {XT_API_URL}/v4/public/time`: at start, every 10 minutes, and at once after an AUTH_105.
 * Best effort: when the time cannot be read, the last offset (at first 0) stays.
 */
import type { Logger } from 'pino';
import { z } from 'zod';
import type { ProviderHttp } from './http.js';
import { readXtEnvelope } from './envelope.js';

export const CLOCK_RESYNC_MS = 10 * 60_000;
/** An offset beyond this is not believed (a broken answer, not a broken clock). */
const MAX_OFFSET_MS = 24 * 3_600_000;

const timeSchema = z.object({ serverTime: z.number().int().positive() });

export interface XtClockOptions {
  apiUrl: string;
  http: ProviderHttp;
  logger: Logger;
  /** The host clock (tests shift it). */
  now?: () => number;
  resyncMs?: number;
}

export class XtClock {
  private offsetMs = 0;
  /** Counts the readings taken; a request signed under an older one may ask for a new one. */
  private readings = 0;
  private inflight: Promise<boolean> | undefined;
  private first: Promise<boolean> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly hostNow: () => number;

  constructor(private readonly opts: XtClockOptions) {
    this.hostNow = opts.now ?? Date.now;
  }

  /** XT.COM's time, as well as we know it. */
  now(): number {
    return Math.round(this.hostNow() + this.offsetMs);
  }

  offset(): number {
    return this.offsetMs;
  }

  /** Which reading now() is based on (0: none yet). */
  generation(): number {
    return this.readings;
  }

  /** The first fetch and the periodic ones. The timer never keeps the process alive. */
  start(): void {
    if (this.timer) return;
    this.first = this.sync();
    this.timer = setInterval(() => void this.sync(), this.opts.resyncMs ?? CLOCK_RESYNC_MS);
    this.timer.unref();
  }

  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Waits for the fetch made at start, if it is still running (bounded by the provider timeout). */
  async ready(): Promise<void> {
    await this.first;
  }

  /**
   * After an AUTH_105 for a request signed under reading `generation`: a new reading, unless one
   * was taken since. Several refused requests at once share one fetch.
   */
  async syncAfter(generation: number): Promise<boolean> {
    if (this.readings > generation) return true;
    return this.sync();
  }

  /** Fetches XT.COM's time now (or joins the fetch in flight). */
  sync(): Promise<boolean> {
    if (this.inflight) return this.inflight;
    this.inflight = this.fetchOffset().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async fetchOffset(): Promise<boolean> {
    const sentAt = this.hostNow();
    try {
      const res = await this.opts.http.request({ method: 'GET', url: `${this.opts.apiUrl}/v4/public/time` });
      const receivedAt = this.hostNow();
      const env = readXtEnvelope(res, 'xt', { reason: 'server time' });
      const time = timeSchema.safeParse(env.result);
      if (res.status !== 200 || env.rc !== 0 || !time.success)
        throw new Error(`unusable server time (HTTP ${res.status}, mc ${env.mc})`);
      // The server read its clock about half-way through the round trip.
      const offset = time.data.serverTime - (sentAt + receivedAt) / 2;
      if (Math.abs(offset) > MAX_OFFSET_MS) throw new Error('implausible server time');
      this.offsetMs = offset;
      this.readings++;
      this.opts.logger.debug(
        { provider: 'xt', offsetMs: Math.round(offset), rttMs: receivedAt - sentAt },
        "XT.COM's clock read",
      );
      return true;
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      this.opts.logger.warn(
        {
          provider: 'xt',
          code: typeof code === 'string' ? code : undefined,
          reason: err instanceof Error ? err.message : 'unknown',
        },
        "XT.COM's clock could not be read; keeping the last offset",
      );
      return false;
    }
  }
}
